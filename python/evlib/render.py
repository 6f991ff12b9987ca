"""Frames of event recordings as pictures (docs/rendering.md): the C++ frame generator of
``evlib render``, from Python.

:func:`frames` yields ``(t_us, frame)`` pairs, ``frame`` an ``H x W x 3`` ``uint8`` RGB array,
one per frame period of event time; :func:`to_video` writes them to ``.mp4``, ``.mkv``, ``.avi``
or ``.gif`` through FFmpeg's libraries; :func:`to_png` writes one; :func:`preview_png` is the
cheap picture a notebook shows for ``evlib.open(path)`` (one window from the start of the file,
never a full decode).

Modes: ``"last"`` (last event wins, OpenEB / dv-processing EventVisualizer), ``"counts"``,
``"exp-decay"`` and ``"linear-decay"`` (dv-processing's Accumulator), ``"time-surface"``.
Palettes: ``"prophesee-dark"`` (default), ``"prophesee-light"``, ``"dv"``, ``"cool-warm"``,
``"gray"``, or ``colors="bg,on,off"`` in hex.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Optional, Union

import numpy as np

from . import _core
from ._times import TimeLike, optional_microseconds, to_microseconds

PathLike = Union[str, "os.PathLike[str]"]
Source = Union[PathLike, Any, Iterable[Any]]

PALETTES: tuple[str, ...] = tuple(_core.render_palettes())
MODES: tuple[str, ...] = ("last", "counts", "exp-decay", "linear-decay", "time-surface")


def _columns(item: Any) -> Any:
    """A batch as the C++ generator takes it: an evlib Batch as is, anything with t, x, y, p
    columns (a Polars or pandas frame, a structured array, a dict) as four NumPy arrays."""
    if isinstance(item, _core.Batch):
        return item
    if isinstance(item, tuple) and len(item) == 4:
        t, x, y, p = item
    else:
        t, x, y, p = (np.asarray(item[name]) for name in ("t", "x", "y", "p"))
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.timedelta64):
        t = t.astype("timedelta64[us]").view(np.int64)
    p = np.asarray(p)
    if p.dtype != np.uint8:
        p = (p > 0).astype(np.uint8)  # bool, or evlib 0.13's -1/1 polarity
    return (
        np.ascontiguousarray(t, dtype=np.int64),
        np.ascontiguousarray(x, dtype=np.uint16),
        np.ascontiguousarray(y, dtype=np.uint16),
        np.ascontiguousarray(p),
    )


def _open_source(
    source: Source, width: Optional[int], height: Optional[int], t_start: Optional[int], t_end: Optional[int]
) -> tuple[Iterable[Any], int, int]:
    from ._api import EventFile

    if isinstance(source, (str, os.PathLike)):
        source = EventFile(source)
    if isinstance(source, EventFile):
        width = width or source.width
        height = height or source.height
        if not width or not height:
            raise ValueError(f"{source.path} states no sensor size: give width= and height=")
        return source.iter_batches(t_start=t_start, t_end=t_end), width, height
    if not width or not height:
        raise ValueError("frames of batches need width= and height= (the sensor size)")
    if hasattr(source, "columns") and not isinstance(source, _core.Batch):  # one frame of events
        source = [source]
    elif isinstance(source, (np.ndarray, dict)):
        source = [source]
    return (_columns(item) for item in source), width, height


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
            Polars / pandas frames, structured arrays or dicts with t, x, y, p), time-ordered.
        accumulate_us: the window each frame shows (µs or ``"10ms"``).
        fps, speed: frames per second of output and event time per output time; a frame covers
            ``1e6 * speed / fps`` µs of events.
        palette, colors: a palette name (:data:`PALETTES`) or ``"bg,on,off"`` hex colours.
        mode: one of :data:`MODES`.
        t_start, t_end: the time range rendered (``t_start`` is also the first frame's start).
        width, height: the sensor size (read from a file's header when not given).
        count_saturation: ``"counts"``: ``|ON - OFF|`` shown at full colour.
        decay: the decay modes' parameter (exponential: time constant in µs; linear: potential
            per µs); default: from ``accumulate_us``.
        synchronous_decay, contribution, max_potential, neutral_potential, min_potential,
            ignore_polarity: dv-processing Accumulator's parameters.
        overlay: write the frame time and the window's event rate in the top-left corner.

    Frames are generated in bounded memory: only the batches overlapping the current window are
    held. Each yielded array is a new array.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
    accumulate = to_microseconds(accumulate_us, "accumulate_us")
    start = optional_microseconds(t_start, "t_start")
    end = optional_microseconds(t_end, "t_end")
    if decay is None:
        decay = (max_potential - min_potential) / accumulate if mode == "linear-decay" else float(accumulate)
    batches, w, h = _open_source(source, width, height, start, end)
    generator = _core.FrameGenerator(
        batches, w, h, mode, palette, colors or "", accumulate, float(fps), float(speed), start, end,
        count_saturation, float(decay), synchronous_decay, contribution, max_potential, neutral_potential,
        min_potential, ignore_polarity, overlay,
    )
    while (item := generator.next()) is not None:
        t_us, _window_start, _events, frame = item
        yield t_us, frame


def to_png(frame: np.ndarray) -> bytes:
    """PNG bytes of an ``H x W x 3`` uint8 frame (libpng)."""
    return bytes(_core.encode_png(np.ascontiguousarray(frame, dtype=np.uint8)))


def to_video(
    source: Source, path: PathLike, *, fps: float = 30.0, codec: Optional[str] = None, overwrite: bool = True,
    **options: Any,
) -> int:
    """Writes the :func:`frames` of ``source`` (same keyword arguments) to a video and returns
    the number of frames. The container comes from the extension (``.mp4``, ``.mkv``, ``.avi``,
    ``.gif``); the codec by default is H.264 (libx264, else MPEG-4 part 2) for mp4/mkv, MJPEG for
    avi, GIF for gif. Encoding runs on a thread of its own; the file appears only when complete."""
    if not _core.video_available():
        raise RuntimeError("this evlib was built without video output (FFmpeg's libraries); write PNG frames instead")
    writer = None
    count = 0
    for _t, frame in frames(source, fps=fps, **options):
        if writer is None:
            writer = _core.VideoWriter(os.fspath(path), frame.shape[1], frame.shape[0], float(fps), codec or "", overwrite)
        writer.write(frame)
        count += 1
    if writer is None:
        raise ValueError(f"no events to render into {os.fspath(path)}")
    writer.finish()
    return count


PREVIEW_WINDOW_US = 10_000
"""The window :func:`preview_png` shows: 10 ms from the first event, as OpenEB's viewer."""


def preview_frame(source: Any, *, window_us: int = PREVIEW_WINDOW_US, palette: str = "prophesee-dark") -> Optional[np.ndarray]:
    """The frame of the first ``window_us`` of a file (an :class:`evlib.EventFile` or a path):
    decodes its first batch, then only up to the end of the window; None without events."""
    from ._api import EventFile

    f = source if isinstance(source, EventFile) else EventFile(source)
    if not f.width or not f.height:
        return None
    batches = f.iter_batches()
    first = None
    for batch in batches:
        if len(batch):
            first = batch
            break
    if first is None:
        return None
    t0 = int(first.to_numpy()["t"][0]) if hasattr(first, "to_numpy") else 0

    def window() -> Iterator[Any]:
        yield first
        for batch in batches:  # the stream stops being read once a batch passes the window
            yield batch
            if len(batch) and int(batch.to_numpy()["t"][-1]) >= t0 + window_us:
                return

    for _t, frame in frames(window(), width=f.width, height=f.height, palette=palette, accumulate_us=window_us,
                            t_start=t0, t_end=t0 + window_us, fps=1e6 / window_us):
        return frame
    return None


def preview_png(source: Any, **options: Any) -> Optional[bytes]:
    """PNG bytes of :func:`preview_frame` (what ``EventFile._repr_png_`` shows), or None."""
    frame = preview_frame(source, **options)
    return None if frame is None else to_png(frame)


__all__ = ["MODES", "PALETTES", "frames", "preview_frame", "preview_png", "to_png", "to_video"]
