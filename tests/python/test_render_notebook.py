"""evlib.render in a notebook: `evlib.open(p)._repr_html_()` is a short clip of the start of the
file (decoding only that start, bounded in time, events and bytes), the picture when no clip can
be made; rendering releases the GIL; evlib 0.13's polarity (OFF = -1) renders as OFF."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import pytest

import evlib
from evlib import render

video = pytest.mark.skipif(not evlib._core.video_available(), reason="built without FFmpeg's libraries")


@pytest.fixture(scope="module")
def long_recording(generate: Callable[..., Path]) -> Path:
    # 3 M events at 2 M events/s: 1.5 s, 640 x 480; the clip shows its first 0.5 s.
    return generate("evt3", 3_000_000, 7, "--rate", "2e6", "--width", "640", "--height", "480")


class DecodeCounter:
    """Counts the events and the file bytes EventFile.iter_batches hands out."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events = 0
        self.bytes_done = 0
        original = evlib.EventFile.iter_batches

        def counting(file: evlib.EventFile, **kwargs: Any) -> Any:
            for batch in original(file, **kwargs):
                self.events += len(batch)
                self.bytes_done = max(self.bytes_done, batch.bytes_done)
                yield batch

        monkeypatch.setattr(evlib.EventFile, "iter_batches", counting)


def data_uri(html: str, mime: str) -> bytes:
    match = re.search(rf'src="data:{re.escape(mime)};base64,([A-Za-z0-9+/=]+)"', html)
    assert match is not None, html[:200]
    return base64.b64decode(match.group(1))


def mp4_sample_count(data: bytes) -> int:
    """The sample count of an MP4's first video track (its `stsz` box): the number of frames."""
    at = data.index(b"stsz")
    # size(4) type(4) version+flags(4) sample_size(4) sample_count(4)
    return int.from_bytes(data[at + 12 : at + 16], "big")


@video
def test_html_is_a_clip_of_the_first_half_second(long_recording: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = evlib.open(long_recording, config=evlib.LoadConfig(chunk_events=65_536))
    counter = DecodeCounter(monkeypatch)
    html = f._repr_html_()
    assert html is not None and long_recording.name in html
    # 0.5 s of 2 M events/s and a chunk or two past it: a third of the file, not all of it.
    assert 1_000_000 <= counter.events < 1_200_000
    assert counter.bytes_done < 0.45 * long_recording.stat().st_size
    clip = render.preview_clip(f)
    assert clip is not None and clip.frames == 10 and clip.span_us == 500_000
    assert len(clip.data) <= render.PREVIEW_MAX_BYTES
    if clip.mime == "video/mp4":
        assert "<video" in html and data_uri(html, "video/mp4") == clip.data
        assert clip.data[4:8] == b"ftyp" and mp4_sample_count(clip.data) == 10
    else:  # no libx264 in this FFmpeg: a GIF
        assert data_uri(html, "image/gif") == clip.data and clip.data.startswith(b"GIF89a")


@video
def test_gif_clip_frames_are_the_rendered_frames(long_recording: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libx264 the clip is a GIF; decoded back, its frames are frames() at 20 fps, pixel
    for pixel (a frame of at most 256 colours keeps them exactly in a GIF's palette)."""
    image_module = pytest.importorskip("PIL.Image")
    original = evlib._core.VideoWriter

    def no_libx264(path: str, width: int, height: int, fps: float, codec: str, *args: Any) -> Any:
        if codec == "libx264":
            raise evlib._core.Error(f"{path}: FFmpeg has no encoder 'libx264'")
        return original(path, width, height, fps, codec, *args)

    monkeypatch.setattr(evlib._core, "VideoWriter", no_libx264)
    f = evlib.open(long_recording)
    clip = render.preview_clip(f)
    assert clip is not None and clip.mime == "image/gif" and clip.data.startswith(b"GIF89a")
    t0 = int(f.scan().head(1).collect().get_column("t")[0])
    expected = [frame for _, frame in render.frames(f, fps=20, t_start=t0, t_end=t0 + 500_000, overlay=True)]
    image = image_module.open(io.BytesIO(clip.data))
    assert image.size == (640, 480) and image.n_frames == clip.frames == len(expected) == 10
    for k, frame in enumerate(expected):
        image.seek(k)
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), frame, err_msg=f"frame {k}")


def test_clip_stops_at_max_events(long_recording: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not evlib._core.video_available():
        assert render.preview_clip(long_recording) is None
        return
    f = evlib.open(long_recording, config=evlib.LoadConfig(chunk_events=65_536))
    counter = DecodeCounter(monkeypatch)
    clip = render.preview_clip(f, max_events=200_000)
    assert clip is not None
    assert 200_000 <= counter.events < 200_000 + 65_536 * 2
    # 200 000 events at 2 M events/s: 100 ms, so two 50 ms frames (and one for the rest)
    assert 2 <= clip.frames <= 3 and clip.span_us <= 150_000


@video
def test_reduced_to_max_width(generate: Callable[..., Path]) -> None:
    wide = generate("evt3", 200_000, 3, "--rate", "2e6", "--width", "1280", "--height", "720")
    clip = render.preview_clip(wide, duration_us=100_000)
    assert clip is not None and clip.frames == 2
    if clip.mime == "image/gif":
        image_module = pytest.importorskip("PIL.Image")
        assert image_module.open(io.BytesIO(clip.data)).size == (640, 360)
    frame = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    reduced = render._reduced(frame, 2)
    assert reduced.shape == (2, 3, 3)
    assert reduced[1, 2].tolist() == np.floor(frame[2:4, 4:6].reshape(-1, 3).mean(axis=0) + 0.5).tolist()
    big = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    for factor in (3, 20):  # 20: sums past 16 bits
        h, w = 40 // factor, 60 // factor
        mean = big[: h * factor, : w * factor].reshape(h, factor, w, factor, 3).mean(axis=(1, 3))
        assert (render._reduced(big, factor) == np.floor(mean + 0.5)).all()


def test_html_falls_back_to_the_picture(long_recording: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = evlib.open(long_recording)
    png = render.preview_png(f)
    assert png is not None
    # A clip larger than the byte budget: the picture.
    html = render.preview_html(f, max_bytes=100)
    assert html is not None and "<video" not in html and data_uri(html, "image/png") == png
    # No video in this build: the picture.
    monkeypatch.setattr(evlib._core, "video_available", lambda: False)
    assert render.preview_clip(f) is None
    html = f._repr_html_()
    assert html is not None and data_uri(html, "image/png") == png and "first 10 ms" in html


def test_html_of_a_file_without_events(tmp_path: Path) -> None:
    empty = tmp_path / "empty.npz"
    columns = {"t": np.zeros(0, np.int64), "x": np.zeros(0, np.uint16), "y": np.zeros(0, np.uint16),
               "p": np.zeros(0, np.uint8)}
    evlib.save(columns, empty, width=64, height=48)
    assert evlib.open(empty)._repr_html_() is None


def test_a_preview_evlib_cannot_draw_says_why_and_leaks_nothing(tmp_path: Path) -> None:
    # One stray event at x = y = 65535: a 65536x65536 frame, refused before anything is
    # allocated. The notebook shows the reason, not a traceback; the refused generator used to
    # keep its source (nanobind's leak report at exit).
    stray = tmp_path / "stray.txt"
    stray.write_text("0 1 1 1\n100 65535 65535 0\n")
    script = f"""
import evlib
f = evlib.open({str(stray)!r})
assert f._repr_png_() is None
html = f._repr_html_()
assert "no preview" in html and "65536x65536 frame" in html and "<code>&lt;evlib.EventFile" in html, html
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr, done.stderr


# ---- the GIL ---------------------------------------------------------------------------------


def test_render_lets_other_threads_run() -> None:
    """While one next() renders (one heavy frame: 4 M events in exp-decay mode), another thread
    makes progress. With a switch interval far longer than the render, the renderer is never
    made to give the GIL up: the counter moves during next() only if the C++ call released it
    (it did not move at all when it held the GIL)."""
    n = 4_000_000
    rng = np.random.default_rng(5)
    t = np.sort(rng.integers(0, 10_000, n)).astype(np.int64)
    columns = (t, rng.integers(0, 640, n).astype(np.uint16), rng.integers(0, 480, n).astype(np.uint16),
               rng.integers(0, 2, n).astype(np.uint8))
    generator = evlib._core.FrameGenerator(
        iter([columns]), 640, 480, "exp-decay", "gray", "", 10_000, 100.0, 1.0, 0, 10_000, 4, 10_000.0, True, 0.15,
        1.0, 0.0, 0.0, False, False,
    )
    ticks = 0
    stop = False

    def count() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0.0001)  # gives the GIL back: the renderer takes it when it needs it

    interval = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    counter = threading.Thread(target=count)
    try:
        counter.start()
        while ticks == 0:
            time.sleep(0.001)
        before = ticks
        item = generator.next()
        during = ticks - before
    finally:
        stop = True
        counter.join()
        sys.setswitchinterval(interval)
    assert item is not None and item[2] == n
    assert during > 0


def test_errors_of_the_source_reach_the_caller() -> None:
    """The source is pulled with the GIL taken back inside the released render: its exception
    comes out of frames() as it was raised."""
    n = 1000
    columns = (np.arange(n, dtype=np.int64) * 100, np.zeros(n, np.uint16), np.zeros(n, np.uint16), np.ones(n, np.uint8))

    def batches() -> Any:
        yield columns
        raise KeyError("the source broke")

    with pytest.raises(KeyError, match="the source broke"):
        list(render.frames(batches(), width=8, height=8, fps=1000))
    with pytest.raises(ValueError, match="differ in length"):
        list(render.frames([(columns[0], columns[1][:10], columns[2], columns[3])], width=8, height=8))


def test_next_refuses_a_second_thread() -> None:
    """The generator is not re-entered while a render runs without the GIL."""
    entered = threading.Event()
    release = threading.Event()
    n = 1000
    columns = (np.arange(n, dtype=np.int64), np.zeros(n, np.uint16), np.zeros(n, np.uint16), np.ones(n, np.uint8))
    errors: list[BaseException] = []

    def batches() -> Any:
        entered.set()
        release.wait(10)
        yield columns

    generator = evlib._core.FrameGenerator(
        batches(), 8, 8, "last", "gray", "", 1000, 1000.0, 1.0, None, None, 4, 1000.0, True, 0.15, 1.0, 0.0, 0.0,
        False, False,
    )
    first = threading.Thread(target=lambda: generator.next())
    first.start()
    entered.wait(10)
    try:
        generator.next()
    except RuntimeError as error:
        errors.append(error)
    release.set()
    first.join()
    assert len(errors) == 1 and "already running" in str(errors[0])


# ---- evlib 0.13's polarity --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["last", "counts", "exp-decay", "time-surface"])
def test_compat_polarity_renders_as_native(long_recording: Path, mode: str) -> None:
    """Compat-layout batches (OFF = -1 written over p), evlib 0.13's frames (a `polarity` Int8
    column, Duration t) and native batches give the same frames."""
    f = evlib.open(long_recording)
    window = {"t_start": 0, "t_end": 200_000}
    native = list(render.frames(f.iter_batches(**window), mode=mode, width=640, height=480))
    # The stream writes -1 over p in its own chunks (Batch::map_polarity_in_place).
    compat_batches = list(f._scan.stream(layout="compat", polarity_off=-1, polarity_on=1))
    assert all(b.layout == "compat" for b in compat_batches)
    assert pl.DataFrame(compat_batches[0]).get_column("polarity").min() == -1
    got = list(render.frames(compat_batches, mode=mode, width=640, height=480, t_end=200_000))
    legacy = evlib.load_events(long_recording, t_end=0.2).collect()
    assert legacy.get_column("polarity").min() == -1
    from_frame = list(render.frames(legacy, mode=mode, width=640, height=480, t_end=200_000))
    for other in (got, from_frame):
        assert [t for t, _ in other] == [t for t, _ in native]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(other, native))
    # and OFF is drawn: the frame has OFF pixels
    off_colour = np.array([64, 126, 200], np.uint8)
    if mode == "last":
        assert (native[0][1] == off_colour).all(axis=2).any()
