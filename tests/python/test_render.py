"""evlib.render: the same frames as `evlib render` (byte-identical PNG files), from a path, an
EventFile or batches of any layout; videos written whole or not at all; the notebook preview
decodes one window from the start of a file, never the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import evlib
from conftest import run_cli
from evlib import render

CASES = [
    ("last", "prophesee-dark", []),
    ("counts", "cool-warm", ["--count-saturation", "3"]),
    ("exp-decay", "gray", []),
    ("linear-decay", "prophesee-light", []),
    ("time-surface", "dv", []),
]


@pytest.fixture(scope="module")
def recording(generate: Callable[..., Path]) -> Path:
    # 200 000 events at 2 M events/s: 100 ms, 640 x 480.
    return generate("evt3", 200_000, 3, "--rate", "2e6", "--width", "640", "--height", "480")


@pytest.mark.parametrize("mode, palette, flags", CASES)
def test_frames_are_the_cli_frames(cli: Path, recording: Path, tmp_path: Path, mode: str, palette: str,
                                   flags: list[str]) -> None:
    run_cli(cli, "render", "-q", str(recording), str(tmp_path / "f_%04d.png"), "--mode", mode, "--palette", palette,
            "--fps", "60", "--accumulate", "20ms", *flags)
    files = sorted(tmp_path.glob("f_*.png"))
    extra: dict[str, Any] = {"count_saturation": 3} if flags else {}
    frames = list(render.frames(recording, mode=mode, palette=palette, fps=60, accumulate_us="20ms", **extra))
    assert len(files) == len(frames) >= 6
    for path, (_t, frame) in zip(files, frames):
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        assert path.read_bytes() == render.to_png(frame), path.name


def test_frame_times_follow_the_period(recording: Path) -> None:
    t = evlib.open(recording).scan().collect().get_column("t").to_numpy()
    period = 1e6 / 60 * 0.5  # speed 0.5: half the event time per frame
    origin = int(t[0] // round(period) * round(period))
    times = [t_us for t_us, _ in render.frames(recording, fps=60, speed=0.5)]
    assert times == [origin + round((k + 1) * period) for k in range(len(times))]
    assert times[-1] > t[-1] >= times[-1] - period


def test_at_renders_the_window_before_it(cli: Path, recording: Path, tmp_path: Path) -> None:
    run_cli(cli, "render", "-q", str(recording), str(tmp_path / "at.png"), "--at", "50ms", "--accumulate", "5ms")
    ((t_us, frame),) = render.frames(recording, t_start=45_000, t_end=50_000, accumulate_us=5_000, fps=200)
    assert t_us == 50_000
    assert (tmp_path / "at.png").read_bytes() == render.to_png(frame)


def test_batches_of_any_layout_give_the_same_frames(recording: Path) -> None:
    f = evlib.open(recording)
    expected = list(render.frames(f, mode="counts"))
    df = f.scan().collect()
    structured = np.zeros(len(df), dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    for name in ("t", "x", "y", "p"):
        structured[name] = df.get_column(name).to_numpy()
    for source in (df, structured, [df.slice(0, 1000), df.slice(1000, 50_000), df.slice(51_000)], f.iter_batches(),
                   f.scan()):
        got = list(render.frames(source, mode="counts", width=640, height=480))
        assert [t for t, _ in got] == [t for t, _ in expected]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(got, expected))


def test_wrong_arguments_say_what_is_wrong(recording: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        next(render.frames(recording, mode="rainbow"))
    with pytest.raises(evlib.Error, match="palette"):
        next(render.frames(recording, palette="rainbow"))
    with pytest.raises(evlib.Error, match="hex colour"):
        next(render.frames(recording, colors="000000,ffffff,zzzzzz"))
    with pytest.raises(ValueError, match="width"):
        next(render.frames([(np.zeros(1, np.int64),) * 4]))


def test_inputs_that_would_be_cast_into_wrong_pictures_are_refused_or_skipped() -> None:
    one = {"x": np.array([1, 2, 3]), "y": np.array([1, 1, 1]), "p": np.array([1, 0, 1])}
    with pytest.raises(TypeError, match="integer microseconds"):  # seconds: every event in one frame
        next(render.frames({**one, "t": np.array([0.1, 0.2, 0.9])}, width=10, height=10))
    with pytest.raises(TypeError, match="x must hold integers"):
        next(render.frames({**one, "t": np.arange(3), "x": np.array([1.5, 2.0, 3.0])}, width=10, height=10))
    # Coordinates past 65535 or below 0 are off the sensor: skipped, not wrapped onto x = 5 or x = 7.
    far = {"t": np.array([0, 1, 2]), "x": np.array([65_541, 2, -3]), "y": np.array([1, 1, 1]), "p": np.array([1, 1, 1])}
    _, frame = next(render.frames(far, width=10, height=10, accumulate_us=100, fps=1e4))
    lit = np.argwhere((frame != frame[0, 0]).any(axis=2))
    assert lit.tolist() == [[1, 2]]
    with pytest.raises(TypeError, match="uint8"):
        render.to_png(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="H x W x 3"):
        render.to_png(np.zeros((4, 4), np.uint8))


def test_a_closed_file_shows_no_preview(recording: Path) -> None:
    with evlib.open(recording) as f:
        assert f._repr_png_() is not None
    assert f._repr_png_() is None and f._repr_html_() is None


def test_overlay_marks_only_the_corner(recording: Path) -> None:
    plain = [f for _, f in render.frames(recording)]
    marked = [f for _, f in render.frames(recording, overlay=True)]
    assert len(plain) == len(marked)
    for a, b in zip(plain, marked):
        differs = (a != b).any(axis=2)
        rows, cols = np.nonzero(differs)
        assert len(rows) > 0 and rows.max() < 2 * 9 and cols.max() < 2 * 200


def test_custom_colours(recording: Path) -> None:
    _, frame = next(render.frames(recording, colors="102030,ffffff,000000"))
    colours = {tuple(c) for c in frame.reshape(-1, 3).tolist()}
    assert colours == {(0x10, 0x20, 0x30), (255, 255, 255), (0, 0, 0)}


@pytest.mark.skipif(not evlib._core.video_available(), reason="built without FFmpeg's libraries")
@pytest.mark.parametrize("extension", [".mp4", ".avi", ".gif"])
def test_to_video_writes_the_file_whole(recording: Path, tmp_path: Path, extension: str) -> None:
    out = tmp_path / f"clip{extension}"
    count = render.to_video(recording, out, fps=60)
    assert count == len(list(render.frames(recording, fps=60)))
    assert out.stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_mappings_that_are_not_dicts_are_batches_with_evlib_013s_polarity_too(tmp_path: Path) -> None:
    # An .npz (t, x, y, polarity) rendered before the missing-column check, which read no names
    # from it; it must still.
    path = tmp_path / "pol.npz"
    np.savez(path, t=np.array([0, 10, 20]), x=np.array([0, 1, 2]), y=np.array([0, 0, 1]), polarity=np.array([1, -1, 1]))
    with np.load(path) as npz:
        frames = list(render.frames([npz], width=4, height=2, fps=1e5))
    assert len(frames) == 3 and all(f.shape == (2, 4, 3) for _, f in frames)


def test_events_out_of_time_order_are_refused_not_drawn_in_part() -> None:
    # [500000, 5, 100000] gave no frame; [5, 500000, 100000] four frames without the event at 500000.
    for t in ([500_000, 5, 100_000], [5, 500_000, 100_000]):
        batch = {"t": np.array(t), "x": np.array([1, 2, 3]), "y": np.array([2, 2, 2]), "p": np.array([1, 1, 1])}
        with pytest.raises(ValueError, match="time decreases"):
            list(render.frames([batch], width=4, height=4))


@pytest.mark.skipif(not evlib._core.video_available(), reason="built without FFmpeg's libraries")
def test_to_video_interrupted_leaves_no_file_even_while_its_traceback_is_kept(recording: Path, tmp_path: Path) -> None:
    # Jupyter keeps the last traceback, and with it the writer: its temporary file and encoder
    # threads stayed until the writer was collected.
    def failing_source():  # type: ignore[no-untyped-def]
        for i, batch in enumerate(evlib.iter_batches(recording, by_count=20_000)):
            if i == 5:
                raise KeyboardInterrupt
            yield batch

    out = tmp_path / "clip.mp4"
    try:
        render.to_video(failing_source(), out, fps=600, width=640, height=480)
    except KeyboardInterrupt as kept:
        assert kept.__traceback__ is not None
        assert list(tmp_path.iterdir()) == []
    else:
        pytest.fail("the interruption was swallowed")


@pytest.mark.skipif(not evlib._core.video_available(), reason="built without FFmpeg's libraries")
def test_to_video_passes_preset_crf_and_x264_settings_to_the_encoder(recording: Path, tmp_path: Path) -> None:
    def size(name: str, **options: Any) -> int:
        out = tmp_path / name
        render.to_video(recording, out, fps=60, **options)
        return out.stat().st_size

    fine = size("fine.mp4", crf=5, preset="ultrafast", encoder_threads=1)
    coarse = size("coarse.mp4", crf=45, preset="ultrafast", encoder_threads=1)
    by_settings = size("settings.mp4", preset="ultrafast", x264_params="crf=45", encoder_threads=1)
    assert coarse * 2 < fine
    assert abs(by_settings - coarse) <= 0.2 * coarse
    for bad in (52, -1, 18.5, True):
        with pytest.raises(ValueError, match="crf"):
            size("bad.mp4", crf=bad)
    with pytest.raises(evlib.Error, match="libx264"):
        size("bad.mp4", preset="no-such-preset")
    with pytest.raises(evlib.Error, match="'no-such-key = 1'"):  # FFmpeg alone only warns and goes on
        size("bad.mp4", preset="ultrafast", x264_params="keyint=30:no-such-key=1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coarse.mp4", "fine.mp4", "settings.mp4"]


def test_an_end_far_past_a_file_is_refused_from_its_time_index_before_a_frame(generate: Callable[..., Path]) -> None:
    path = generate("evt3", 2_000)
    f = evlib.open(path)
    assert f.n_events == 2_000  # one pass: the time index is cached
    frames = render.frames(f, t_end=10**15)
    with pytest.raises(evlib.InvalidArgumentError, match="by its time index"):
        next(frames)
    with pytest.raises(evlib.InvalidArgumentError, match="after the last event"):  # batches: no index
        list(render.frames(f.iter_batches(), t_end=10**15, width=f.width, height=f.height))


def test_preview_decodes_one_window_from_the_start(generate: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    big = generate("evt3", 3_000_000, 5, "--rate", "2e7")  # 150 ms at 20 M events/s
    f = evlib.open(big, config=evlib.LoadConfig(chunk_events=65_536))
    decoded = 0
    original = evlib.EventFile.iter_batches

    def counting(self: evlib.EventFile, **kwargs: Any) -> Any:
        nonlocal decoded
        for batch in original(self, **kwargs):
            decoded += len(batch)
            yield batch

    monkeypatch.setattr(evlib.EventFile, "iter_batches", counting)
    png = f._repr_png_()
    assert png is not None and png.startswith(b"\x89PNG")
    assert decoded < 600_000  # the 200 000 events of 10 ms and a few chunks, not 3 M
    monkeypatch.setattr(evlib.EventFile, "iter_batches", original)
    t0 = int(f.scan().head(1).collect().get_column("t")[0])
    ((_, frame),) = render.frames(f, t_start=t0, t_end=t0 + 10_000, fps=100)
    assert png == render.to_png(frame)


def test_a_file_without_a_sensor_size_is_drawn_at_the_extent_of_its_events(tmp_path: Path) -> None:
    # .npy states no sensor size: frames take the extent of the whole file (as `evlib info`),
    # the notebook previews that of the batches they decode (here the file's one batch).
    events = np.zeros(4, [("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    events["t"], events["x"], events["y"], events["p"] = [0, 1_000, 2_000, 30_000], [0, 6, 2, 9], [0, 4, 1, 7], 1
    path = tmp_path / "sizeless.npy"
    np.save(path, events)
    f = evlib.open(path)
    assert not f.width and not f.height
    (t_first, first), *_ = render.frames(path, fps=100)
    assert first.shape == (8, 10, 3)
    preview = render.preview_frame(f)
    assert preview is not None and preview.shape == (8, 10, 3)
    assert f._repr_png_() is not None


# By the last event after the events' frames, or at once by the file's time index when it is cached.
FAR_END = "frames (without events after the last event|after the recording's end)"


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda p: list(render.frames(p, mode="linear-decay", accumulate_us=0)), ValueError, "accumulate_us"),
    (lambda p: list(render.frames(p, mode="counts", count_saturation=-1)), ValueError, "count_saturation"),
    (lambda p: list(render.frames(p, count_saturation=2**70)), ValueError, "count_saturation"),
    (lambda p: list(render.frames(p, mode="exp-decay", contribution=float("nan"))), ValueError, "contribution"),
    (lambda p: list(render.frames(p, mode="exp-decay", contribution=5)), ValueError, "contribution"),
    (lambda p: list(render.frames(p, mode="exp-decay", neutral_potential=float("inf"))), ValueError, "neutral_potential"),
    (lambda p: list(render.frames(p, mode="exp-decay", decay=1e-20)), ValueError, "decay"),
    (lambda p: list(render.frames(p, palette="dv", colors="000000,ffffff,0000ff")), ValueError, "palette or colors"),
    (lambda p: list(render.frames(p, colors="")), ValueError, "colors must name three"),
    (lambda p: list(render.frames(p, palette=None)), TypeError, "palette must be"),
    (lambda p: list(render.frames(p, accumulate_us=2**70)), ValueError, "accumulate_us must lie"),
    (lambda p: list(render.frames([{"t": [0], "x": [0], "y": [0]}], width=2, height=2)), ValueError, "no 'polarity' column"),
    (lambda p: list(render.frames(p, width=-1)), ValueError, "width"),
    (lambda p: list(render.frames(p, colors=5)), TypeError, "colors"),
    (lambda p: list(render.frames(p, fps="30")), TypeError, "fps"),
    (lambda p: list(render.frames(p, fps=0)), ValueError, "^fps must be a positive"),
    (lambda p: list(render.frames(p, speed=float("nan"))), ValueError, "^speed must be a positive"),
    (lambda p: list(render.frames(p, fps=30, speed=1e12)), ValueError, "1e6 \\* speed / fps"),
    (lambda p: list(render.frames(p, t_start=10, t_end=5)), ValueError, "^t_end .* after t_start"),
    (lambda p: list(render.frames(p, t_end=10**15)), evlib.InvalidArgumentError, FAR_END),
    (lambda p: list(render.frames(p, t_end=2**63 - 1)), evlib.InvalidArgumentError, FAR_END),
    (lambda p: render.preview_png(p, window_us=0), ValueError, "window_us"),
    (lambda p: render.preview_png(p, window_us=2**63 - 1), ValueError, "window_us"),
    (lambda p: render.preview_clip(p, max_width=0), ValueError, "max_width"),
])
def test_render_arguments_that_do_not_fit_get_an_error_naming_them(generate, call: Any, error: type,
                                                                    words: str) -> None:
    # ZeroDivisionErrors and nanobind signature dumps before.
    path = generate("evt3", 2_000)
    with pytest.raises(error, match=words) as raised:
        call(path)
    assert "incompatible function arguments" not in str(raised.value)
    assert "--" not in str(raised.value)  # the CLI's flags are not Python's arguments
