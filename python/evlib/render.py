"""Frames of event recordings as pictures (docs/rendering.md): the C++ frame generator of
``evlib render``, from Python.

:func:`frames` yields ``(t_us, frame)`` pairs, ``frame`` an ``H x W x 3`` ``uint8`` RGB array,
one per frame period of event time; :func:`to_video` writes them to ``.mp4``, ``.mkv``, ``.avi``
or ``.gif`` through FFmpeg's libraries; :func:`to_png` writes one; :func:`preview_png` and
:func:`preview_html` are the cheap picture and short clip a notebook shows for
``evlib.open(path)`` (the start of the file only, never a full decode).

Modes: ``"last"`` (last event wins, OpenEB / dv-processing EventVisualizer), ``"counts"``,
``"exp-decay"`` and ``"linear-decay"`` (dv-processing's Accumulator), ``"time-surface"``,
``"time-decay"`` (OpenEB's TimeDecayFrameGenerationAlgorithm: CIE Lab colours fading with an
exponential of the time since each pixel's last event).
Palettes: ``"prophesee-dark"`` (default), ``"prophesee-light"``, ``"dv"``, ``"cool-warm"``,
``"gray"``, or ``colors="bg,on,off"`` in hex.
"""

from __future__ import annotations

import math
import os
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Union

import numpy as np

from . import _args, _core
from .ops import _coordinates, _times  # the processing layer's checks: no float times, no wrapped pixels
from ._paths import native_path
from ._times import TimeLike, optional_microseconds, to_microseconds

PathLike = Union[str, "os.PathLike[str]"]
Source = Union[PathLike, Any, Iterable[Any]]

PALETTES: tuple[str, ...] = tuple(_core.render_palettes())
MODES: tuple[str, ...] = ("last", "counts", "exp-decay", "linear-decay", "time-surface", "time-decay")


def _column_names(item: Any) -> Any:
    if isinstance(item, np.ndarray) and item.dtype.names:
        return item.dtype.names
    if isinstance(item, dict):
        return item.keys()
    return list(getattr(item, "columns", ()))


def _columns(item: Any) -> Any:
    """A batch as the C++ generator takes it: an evlib Batch as is (one in the compat layout has
    its polarity mapped back to 0/1 by the binding), anything with t, x, y and p (or evlib 0.13's
    ``polarity``) columns (a Polars or pandas frame, a structured array, a dict) as four NumPy
    arrays."""
    if isinstance(item, _core.Batch):
        return item
    if isinstance(item, tuple) and len(item) == 4:
        t, x, y, p = item
    else:
        polarity = "p" if "p" in _column_names(item) else "polarity"
        try:
            t, x, y, p = (np.asarray(item[name]) for name in ("t", "x", "y", polarity))
        except KeyError as missing:  # a KeyError of the column's name alone said little
            raise ValueError(f"a batch has no {missing} column (render needs t, x, y and p or polarity)") from None
    p = np.asarray(p)
    if p.dtype != np.uint8:
        p = (p > 0).astype(np.uint8)  # bool, or evlib 0.13's -1/1 polarity: ON is p > 0
    times = _times(t)
    # Batches given by hand may be out of order (the generator sees only each batch's ends).
    if len(times) > 1 and bool(np.any(times[1:] < times[:-1])):
        at = int(np.argmax(times[1:] < times[:-1])) + 1
        raise ValueError(f"the events' time decreases at event {at} of a batch ({int(times[at])} us after "
                         f"{int(times[at - 1])} us): rendering needs events in time order (sort them first)")
    return (times, _coordinates(x, "x"), _coordinates(y, "y"), np.ascontiguousarray(p))


def _events_end_bound(file: Any) -> Optional[int]:
    """The latest time of the file's time index when one is at hand without decoding (no event
    lies after it), else None."""
    segments = file._open_scan().time_index()
    ends = [t_max for _t_min, t_max, events in segments or () if events]
    return max(ends) if ends else None


def _open_source(
    source: Source, width: Optional[int], height: Optional[int], t_start: Optional[int], t_end: Optional[int]
) -> tuple[Iterable[Any], int, int, Optional[int]]:
    """The batches, the sensor size, and for a file a time no event lies after (or None)."""
    from ._api import EventFile

    if isinstance(source, (str, bytes, os.PathLike)):
        source = EventFile(source)
    if isinstance(source, EventFile):
        if not (width or source.width) or not (height or source.height):
            # A format without a sensor size (DAT, text, NumPy): the events' extent, from one
            # pass over x and y, as evlib.convert and `evlib render` infer it.
            from ._api import _scan_extent

            extent = _scan_extent(source)
            width, height = width or extent[0], height or extent[1]
        width = width or source.width
        height = height or source.height
        bound = _events_end_bound(source) if t_end is not None else None
        return source.iter_batches(t_start=t_start, t_end=t_end), width, height, bound
    if not width or not height:
        raise ValueError("frames of batches need width= and height= (the sensor size)")
    if not (0 < width <= 65536 and 0 < height <= 65536):
        raise ValueError(f"width and height must be 1..65536, got {width} x {height}")
    if type(source).__name__ == "LazyFrame" and hasattr(source, "collect_batches"):  # a Polars scan, streamed
        source = source.collect_batches()
    elif hasattr(source, "columns") and not isinstance(source, _core.Batch):  # one frame of events
        source = [source]
    elif isinstance(source, (np.ndarray, dict)):
        source = [source]
    return (_columns(item) for item in source), width, height, None


def frames(
    source: Source,
    *,
    accumulate_us: TimeLike = 10_000,
    fps: float = 30.0,
    speed: float = 1.0,
    palette: str = "prophesee-dark",
    colors: Optional[str] = None,
    mode: str = "last",
    t_start: Optional[TimeLike] = None,
    t_end: Optional[TimeLike] = None,
    width: Optional[int] = None,
    height: Optional[int] = None,
    count_saturation: int = 4,
    decay: Optional[float] = None,
    synchronous_decay: bool = True,
    contribution: float = 0.15,
    max_potential: float = 1.0,
    neutral_potential: float = 0.0,
    min_potential: float = 0.0,
    ignore_polarity: bool = False,
    overlay: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yields ``(t_us, frame)``: ``frame`` (``H x W x 3`` uint8, RGB) shows the events of
    ``[t_us - accumulate_us, t_us)`` (the decay modes: everything up to ``t_us``).

    Args:
        source: a path, an :class:`evlib.EventFile`, or an iterable of batches (evlib Batches,
            Polars / pandas frames, structured arrays or dicts with t, x, y, p), time-ordered;
            evlib 0.13's layout too (a ``polarity`` column, OFF = -1: ON is ``p > 0``).
        accumulate_us: the window each frame shows (µs or ``"10ms"``).
        fps, speed: frames per second of output and event time per output time; a frame covers
            ``1e6 * speed / fps`` µs of events.
        palette, colors: a palette name (:data:`PALETTES`) or ``"bg,on,off"`` hex colours.
        mode: one of :data:`MODES`.
        t_start, t_end: the time range rendered (``t_start`` is also the first frame's start).
        width, height: the sensor size (read from a file's header when not given).
        count_saturation: ``"counts"``: ``|ON - OFF|`` shown at full colour.
        decay: the decay modes' parameter (exponential and time-decay: time constant in µs;
            linear: potential per µs); default: from ``accumulate_us``.
        synchronous_decay, contribution, max_potential, neutral_potential, min_potential,
            ignore_polarity: dv-processing Accumulator's parameters.
        overlay: write the frame time and the window's event rate in the top-left corner.

    Frames are generated in bounded memory: only the batches overlapping the current window are
    held. Each yielded array is a new array.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
    accumulate = to_microseconds(accumulate_us, "accumulate_us")
    if accumulate <= 0:  # (the linear decay's default divides by it)
        raise ValueError(f"accumulate_us must be positive, not {accumulate_us!r}")
    start = optional_microseconds(t_start, "t_start")
    end = optional_microseconds(t_end, "t_end")
    for name, value in (("accumulate_us", accumulate), ("t_start", start), ("t_end", end)):
        if value is not None and not -(2**63) <= value < 2**63:  # the binding's int64
            raise ValueError(f"{name} must lie in the int64 range of µs, not {value}")
    # The binding's types, checked here so that an error names the argument.
    width = None if width is None else _args.whole(width, "width", 1, 65536)
    height = None if height is None else _args.whole(height, "height", 1, 65536)
    if colors is not None and not isinstance(colors, str):
        raise TypeError(f"colors must be a str such as '#000000,#ffffff,#0000ff', not {colors!r}")
    if colors == "":
        raise ValueError("colors must name three colours 'bg,on,off' (or give None for the palette's)")
    if not isinstance(palette, str):
        raise TypeError(f"palette must be a palette's name ({', '.join(PALETTES)}), not {palette!r}")
    if colors is not None and palette != "prophesee-dark":  # as the CLI's --palette with --colors
        raise ValueError("colors sets the palette's colours: give palette or colors, not both")
    reals = {name: _args.real(value, name) for name, value in (
        ("fps", fps), ("speed", speed), ("contribution", contribution), ("max_potential", max_potential),
        ("neutral_potential", neutral_potential), ("min_potential", min_potential))}
    # The native checks name the CLI's flags (--fps, --from): the same checks, named as here.
    for name in ("fps", "speed"):
        if not (math.isfinite(reals[name]) and reals[name] > 0):
            raise ValueError(f"{name} must be a positive finite number, not {reals[name]!r}")
    if not 1e-6 <= reals["contribution"] <= 1.0:  # the CLI's --contribution range (NaN drew nothing)
        raise ValueError(f"contribution must be from 1e-6 to 1, not {contribution!r}")
    for name in ("max_potential", "neutral_potential", "min_potential"):
        if not math.isfinite(reals[name]):
            raise ValueError(f"{name} must be a finite number, not {reals[name]!r}")
    if not 1.0 <= 1e6 * reals["speed"] / reals["fps"] <= 1e15:
        raise ValueError(f"a frame would cover {1e6 * reals['speed'] / reals['fps']:.6g} us of events: "
                         "1e6 * speed / fps must be between 1 us and 1e15 us")
    if start is not None and end is not None and start >= end:
        raise ValueError(f"t_end ({end} us) must come after t_start ({start} us)")
    if decay is None:
        decay = (reals["max_potential"] - reals["min_potential"]) / accumulate if mode == "linear-decay" else float(accumulate)
    elif not 1e-12 <= _args.real(decay, "decay") <= 1e15:  # the CLI's --decay range
        raise ValueError(f"decay must be from 1e-12 to 1e15, not {decay!r}")
    batches, w, h, bound = _open_source(source, width, height, start, end)
    generator = _core.FrameGenerator(
        batches, w, h, mode, palette, colors or "", accumulate, reals["fps"], reals["speed"], start, end,
        _args.whole(count_saturation, "count_saturation", 0, 2**32 - 1), _args.real(decay, "decay"),
        _args.flag(synchronous_decay, "synchronous_decay"), reals["contribution"], reals["max_potential"],
        reals["neutral_potential"], reals["min_potential"], _args.flag(ignore_polarity, "ignore_polarity"),
        _args.flag(overlay, "overlay"), bound,
    )
    while (item := generator.next()) is not None:
        t_us, _window_start, _events, frame = item
        yield t_us, frame


def to_png(frame: np.ndarray) -> bytes:
    """PNG bytes of an ``H x W x 3`` uint8 frame (libpng). Other dtypes are refused rather than
    cast (a float image in 0..1 would come out black)."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise TypeError(f"a frame must be uint8 RGB, not {frame.dtype} (scale and convert it first)")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"a frame must be H x W x 3 (RGB), not {frame.shape}")
    return bytes(_core.encode_png(np.ascontiguousarray(frame)))


def to_video(
    source: Source, path: PathLike, *, fps: float = 30.0, codec: Optional[str] = None, overwrite: bool = True,
    preset: Optional[str] = None, crf: Optional[int] = None, x264_params: str = "", encoder_threads: int = 0,
    **options: Any,
) -> int:
    """Writes the :func:`frames` of ``source`` (same keyword arguments) to a video and returns
    the number of frames. The container comes from the extension (``.mp4``, ``.mkv``, ``.avi``,
    ``.gif``); the codec by default is H.264 (libx264, else MPEG-4 part 2) for mp4/mkv, MJPEG for
    avi, GIF for gif. Encoding runs on a thread of its own; the file appears only when complete.

    ``preset`` (default ``"fast"``), ``crf`` (0-51, default 18) and ``x264_params``
    (``"key=value:key=value"`` over the preset) tune libx264, as ``evlib render``'s options of the
    same names; ``encoder_threads`` 0 gives the encoder one thread per hardware thread."""
    if crf is not None and (isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51):
        raise ValueError(f"crf must be a whole number from 0 to 51, not {crf!r} (x264_params='crf=18.5' takes fractions)")
    if encoder_threads < 0:
        raise ValueError(f"encoder_threads must be 0 (one per hardware thread) or more, not {encoder_threads}")
    if not _core.video_available():
        raise RuntimeError("this evlib was built without video output (FFmpeg's libraries); write PNG frames instead")
    writer = None
    count = 0
    try:
        for _t, frame in frames(source, fps=fps, **options):
            if writer is None:
                writer = _core.VideoWriter(native_path(path), frame.shape[1], frame.shape[0], float(fps), codec or "",
                                           overwrite, preset or "", -1 if crf is None else crf, x264_params,
                                           encoder_threads)
            writer.write(frame)
            count += 1
        if writer is None:
            raise ValueError(f"no events to render into {os.fspath(path)}")
        writer.finish()
    except BaseException:
        # An error or Ctrl-C leaves no unfinished file and no encoder running, at once: a
        # traceback kept (as Jupyter keeps the last one) would otherwise keep the writer alive.
        if writer is not None:
            writer.discard()
        raise
    return count


PREVIEW_WINDOW_US = 10_000
"""The window :func:`preview_png` shows: 10 ms from the first event, as OpenEB's viewer."""

PREVIEW_CLIP_US = 500_000
"""The event time :func:`preview_clip` covers: 0.5 s from the first event."""
PREVIEW_CLIP_FPS = 20.0
"""Frames per second of the clip (real time: 10 frames of 10 ms windows, one every 50 ms)."""
PREVIEW_MAX_EVENTS = 10_000_000
"""The most events a preview decodes, whatever the event rate (about 130 MB of columns)."""
PREVIEW_MAX_WIDTH = 640
"""Wider sensors are shown reduced by a whole factor (the mean of each block of pixels)."""
PREVIEW_MAX_BYTES = 2 << 20
"""A clip larger than this once encoded is replaced by the picture (2 MiB, before base64)."""


class _FileStart(NamedTuple):
    file: Any
    t0: int
    batches: Iterator[Any]
    width: int
    height: int


def _file_start(source: Any, span_us: int, max_events: int) -> Optional[_FileStart]:
    """The :class:`evlib.EventFile` of source (one or a path), its first event's time ``t0`` and
    its batches from there, read from the start of the file and stopped after the first batch
    that reaches ``t0 + span_us`` or after ``max_events`` events, so that only the start of the
    file is decoded (no time index needed: a first look at a file has none); and the sensor size:
    the file's, or for a format that states none (DAT, text, NumPy) the extent of those events.
    None when the file has no events."""
    from ._api import EventFile

    f = source if isinstance(source, EventFile) else EventFile(source)
    start = _file_start_stated(f, span_us, max_events)
    if start is None or (f.width and f.height):
        return start
    held = list(start.batches)  # at most about max_events, as the frames would hold them
    width = max((int(b.to_numpy()["x"].max()) + 1 for b in held if len(b)), default=0)
    height = max((int(b.to_numpy()["y"].max()) + 1 for b in held if len(b)), default=0)
    return start._replace(batches=iter(held), width=f.width or width, height=f.height or height)


def _file_start_stated(f: Any, span_us: int, max_events: int) -> Optional[_FileStart]:
    batches = f.iter_batches()

    def close() -> None:  # ends the stream (and its decoder threads) now, not when collected
        getattr(batches, "close", lambda: None)()

    first = None
    for batch in batches:
        if len(batch):
            first = batch
            break
    if first is None:
        close()
        return None
    t0 = int(first.to_numpy()["t"][0])

    def leading() -> Iterator[Any]:
        taken = 0
        batch = first
        try:
            while True:
                yield batch
                taken += len(batch)
                if taken >= max_events or (len(batch) and int(batch.to_numpy()["t"][-1]) >= t0 + span_us):
                    return
                batch = next(batches, None)
                if batch is None:
                    return
        finally:
            close()

    return _FileStart(f, t0, leading(), f.width, f.height)


def preview_frame(
    source: Any, *, window_us: int = PREVIEW_WINDOW_US, palette: str = "prophesee-dark",
    max_events: int = PREVIEW_MAX_EVENTS,
) -> Optional[np.ndarray]:
    """The frame of the first ``window_us`` of a file (an :class:`evlib.EventFile` or a path):
    decodes its first batch, then only up to the end of the window (at most about
    ``max_events``); None without events. A file that states no sensor size is shown at the
    extent of those events."""
    window_us = _args.whole(window_us, "window_us", 1, 10**15)  # (a frame covers at most 1e15 us)
    start = _file_start(source, window_us, _args.whole(max_events, "max_events", 1))
    if start is None:
        return None
    for _t, frame in frames(start.batches, width=start.width, height=start.height, palette=palette,
                            accumulate_us=window_us, t_start=start.t0, t_end=min(start.t0 + window_us, _args.INT64_MAX),
                            fps=1e6 / window_us):
        return frame
    return None


def preview_png(source: Any, **options: Any) -> Optional[bytes]:
    """PNG bytes of :func:`preview_frame` (what ``EventFile._repr_png_`` shows), or None."""
    frame = preview_frame(source, **options)
    return None if frame is None else to_png(frame)


def _reduced(frame: np.ndarray, factor: int) -> np.ndarray:
    """frame reduced by a whole factor: each factor x factor block becomes its mean colour,
    rounded half up (strided sums: five times faster than a mean over reshaped axes)."""
    if factor == 1:
        return frame
    h, w = frame.shape[0] // factor, frame.shape[1] // factor
    frame = frame[: h * factor, : w * factor]
    total = np.zeros((h, w, 3), np.uint16 if factor <= 16 else np.uint32)  # 255 * 16 * 16 < 2**16
    for dy in range(factor):
        for dx in range(factor):
            total += frame[dy::factor, dx::factor]
    total += factor * factor // 2
    total //= factor * factor
    return total.astype(np.uint8)


def _encode_clip(images: list[np.ndarray], fps: float) -> tuple[str, bytes]:
    """(MIME type, bytes) of images as H.264 MP4 (libx264, fast and small enough to embed), or
    as a GIF when FFmpeg has no libx264 (browsers play no other codec of an MP4 reliably)."""
    import tempfile

    height, width = images[0].shape[:2]
    with tempfile.TemporaryDirectory(prefix="evlib-clip-") as tmp:
        for name, mime, codec, preset, crf in (("clip.mp4", "video/mp4", "libx264", "veryfast", 28),
                                               ("clip.gif", "image/gif", "gif", "", -1)):
            path = os.path.join(tmp, name)
            try:
                writer = _core.VideoWriter(path, width, height, fps, codec, True, preset, crf)
            except _core.Error:
                if codec == "gif":
                    raise
                continue  # no libx264: a GIF
            for image in images:
                writer.write(image)
            writer.finish()
            with open(path, "rb") as out:
                return mime, out.read()
    raise AssertionError("unreachable")


class Clip(NamedTuple):
    """A short encoded clip (:func:`preview_clip`)."""

    mime: str  # "video/mp4" or "image/gif"
    data: bytes
    frames: int
    span_us: int  # the event time it shows, from the first event


def preview_clip(
    source: Any, *, duration_us: int = PREVIEW_CLIP_US, fps: float = PREVIEW_CLIP_FPS,
    window_us: int = PREVIEW_WINDOW_US, palette: str = "prophesee-dark", max_events: int = PREVIEW_MAX_EVENTS,
    max_width: int = PREVIEW_MAX_WIDTH, max_bytes: int = PREVIEW_MAX_BYTES,
) -> Optional[Clip]:
    """A short clip of the start of a file: the first ``duration_us`` from
    the first event at ``fps`` frames per second of event time, each frame the ``window_us``
    before it (with the time and event rate overlaid), reduced to at most ``max_width`` pixels
    wide; H.264 MP4, else GIF. Decodes from the start of the file up to the end of the clip
    (at most about ``max_events``: a denser file gives a shorter clip), never the whole file.
    None when this build writes no video, the file has no events, or the clip
    would exceed ``max_bytes``."""
    duration_us, window_us = _args.whole(duration_us, "duration_us", 1), _args.whole(window_us, "window_us", 1, 10**15)
    max_width, max_events = _args.whole(max_width, "max_width", 1), _args.whole(max_events, "max_events", 1)
    if not _args.real(fps, "fps") > 0:
        raise ValueError(f"fps must be positive, not {fps!r}")
    if not _core.video_available():
        return None
    start = _file_start(source, duration_us, max_events)
    if start is None:
        return None
    t0 = start.t0
    factor = -(-start.width // max_width)
    count = max(1, round(duration_us * fps / 1e6))
    images = []
    t_last = t0
    # No t_end: a clip cut short by max_events (or a file shorter than the clip) ends at its
    # last event instead of running on in empty frames.
    for t_us, frame in frames(start.batches, width=start.width, height=start.height, palette=palette,
                              accumulate_us=window_us, fps=fps, t_start=t0, overlay=True):
        images.append(_reduced(frame, factor))
        t_last = t_us
        if len(images) == count:
            break
    if not images:
        return None
    mime, data = _encode_clip(images, fps)
    return Clip(mime, data, len(images), t_last - t0) if len(data) <= max_bytes else None


def preview_html(source: Any, **options: Any) -> Optional[str]:
    """What ``EventFile._repr_html_`` shows: :func:`preview_clip` as an embedded (base64)
    looping video, or :func:`preview_png`'s picture when no clip can be made; None without
    events."""
    import base64
    import html

    from ._api import EventFile

    f = source if isinstance(source, EventFile) else EventFile(source)
    clip = preview_clip(f, **options)
    if clip is not None:
        mime, data = clip.mime, clip.data
        what = f"first {clip.span_us / 1e6:g} s, {clip.frames} frame{'s' if clip.frames != 1 else ''}"
    else:
        png = preview_png(f, palette=options.get("palette", "prophesee-dark"))
        if png is None:
            return None
        mime, data = "image/png", png
        what = f"first {options.get('window_us', PREVIEW_WINDOW_US) / 1e3:g} ms"
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    size = f"{f.width}x{f.height}" if f.width and f.height else "size from the events"
    caption = html.escape(f"{os.path.basename(f.path)}: {f.format}, {size}, {what}")
    if mime == "video/mp4":
        media = f'<video src="{uri}" autoplay loop muted playsinline controls style="max-width:100%"></video>'
    else:
        media = f'<img src="{uri}" alt="{caption}" style="max-width:100%">'
    return f"<figure style=\"margin:0\">{media}<figcaption>{caption}</figcaption></figure>"


__all__ = [
    "MODES", "PALETTES", "Clip", "frames", "preview_clip", "preview_frame", "preview_html", "preview_png", "to_png", "to_video",
]
