"""Processing kernels: event frames, RVT stacked histograms, voxel grids, time surfaces and
streaming denoising filters, run by the C++ core (docs/processing.md gives each operation's
reference, edge rules and deviations).

Every function takes events as any of: an :class:`evlib.Batch`, a Polars DataFrame (native
columns ``t``, ``x``, ``y``, ``p``, or evlib 0.13's ``x``, ``y``, ``t`` Duration, ``polarity``),
a NumPy structured array with fields ``t``, ``x``, ``y``, ``p`` (tonic's ``events_struct``),
a mapping of column name to array, or a ``(t, x, y, p)`` tuple. Columns whose dtype is
already int64 / uint16 / uint16 / uint8 and contiguous are passed to the kernels without a
copy. Events outside the sensor are never counted and are dropped by the filters.

``sensor_size`` is ``(width, height)`` (a third item, tonic's polarity count, is accepted and
ignored where a ``polarities`` argument exists).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Union

import numpy as np
from numpy.typing import NDArray

from . import _args
from ._core import ops as _ops

__all__ = [
    "BackgroundActivity",
    "HotPixels",
    "LastTimestampMap",
    "Pipeline",
    "Refractory",
    "Stcf",
    "TimeSurface",
    "event_frame",
    "rvt_count_window",
    "rvt_time_window",
    "slice_events",
    "stacked_histogram",
    "time_surface",
    "to_torch",
    "voxel_grid",
]

Events = Any  # Batch | polars.DataFrame | structured ndarray | Mapping[str, array] | (t, x, y, p)
SensorSize = Union[tuple[int, int], tuple[int, int, int]]
Columns = tuple[NDArray[np.int64], NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8]]


def _column(values: Any, dtype: type) -> NDArray[Any]:
    array = np.asarray(values)
    if array.dtype == np.bool_ and dtype is np.uint8:
        return array.view(np.uint8) if array.flags.c_contiguous else np.ascontiguousarray(array, np.uint8)
    return np.ascontiguousarray(array, dtype=dtype)


def _polars_columns(frame: Any) -> tuple[Any, Any, Any, Any]:
    import polars as pl

    polarity = "p" if "p" in frame.columns else "polarity"
    for name in ("t", "x", "y", polarity):
        nulls = frame[name].null_count()
        if nulls:  # to_numpy would make them NaN floats, refused as "times in seconds?"
            raise ValueError(f"the {name} column holds {nulls} null(s): events need every column")
    t = frame["t"]
    if t.dtype == pl.Duration:
        t = t.dt.total_microseconds() if t.dtype.time_unit != "us" else t.cast(pl.Int64)
    p = frame["p"] if polarity == "p" else (frame["polarity"] > 0)
    return t.to_numpy(), frame["x"].to_numpy(), frame["y"].to_numpy(), p.to_numpy()


def columns(events: Events) -> Columns:
    """The events as the kernels' columns ``(t int64, x uint16, y uint16, p uint8)``.

    No copy is made for a column that already has its dtype and is contiguous (an evlib
    Batch, a native Polars frame, contiguous NumPy arrays); a structured array's fields are
    strided, so they are copied once. ``p``: 1 (or a boolean ``True``) is ON, 0 and any negative
    value (tonic's ``-1``) OFF; values above 1 are neither (tensors with a polarity axis leave them
    out), those above 255 kept so as 255. ``x``/``y`` outside 0..65535 are left out as off the
    sensor. Columns must hold integers (``t`` in µs, or durations): floats are refused rather than
    truncated.
    """
    if hasattr(events, "to_numpy") and hasattr(events, "layout") and hasattr(events, "bytes_done"):
        cols: Any = events.to_numpy()  # evlib.Batch: native columns, shared memory
        raw = (cols["t"], cols["x"], cols["y"], cols["p"])
    elif type(events).__module__.startswith("polars"):
        raw = _polars_columns(events)
    elif isinstance(events, np.ndarray) and events.dtype.names is not None:
        raw = (events["t"], events["x"], events["y"], events["p"])
    elif isinstance(events, Mapping):
        raw = (events["t"], events["x"], events["y"], events["p"])
    elif isinstance(events, Sequence) and len(events) == 4:
        raw = (events[0], events[1], events[2], events[3])
    else:
        raise TypeError(f"cannot read events from {type(events).__name__}: expected a Batch, a Polars "
                        "DataFrame, a structured array, a mapping of columns or (t, x, y, p)")
    out = (_times(raw[0]), _coordinates(raw[1], "x"), _coordinates(raw[2], "y"), _polarities(raw[3]))
    if not len(out[0]) == len(out[1]) == len(out[2]) == len(out[3]):
        raise ValueError("the t, x, y and p columns differ in length: "
                         f"{len(out[0])}, {len(out[1])}, {len(out[2])}, {len(out[3])}")
    return out


def _integers(values: Any, name: str) -> NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional column, not an array of shape {array.shape}")
    if array.dtype != np.bool_ and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, not {array.dtype}"
                        + (" (times in seconds? give integer microseconds)" if name == "t" else ""))
    return array


def _times(values: Any) -> NDArray[np.int64]:
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.timedelta64):
        array = array.astype("timedelta64[us]").view(np.int64)
    array = _integers(array, "t")
    if array.dtype == np.uint64 and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError("t holds times past the int64 range")
    return _column(array, np.int64)


def _coordinates(values: Any, name: str) -> NDArray[np.uint16]:
    """uint16 pixel coordinates; values below 0 or above 65535 become 65535, off every sensor
    narrower than 65536 (the widest a sensor can be), so that such an event is left out instead of
    wrapping onto a pixel it does not belong to."""
    array = _integers(values, name)
    if array.dtype != np.uint16 and array.size:
        low, high = array.min(), array.max()
        if low < 0 or high > 0xFFFF:
            array = np.where((array < 0) | (array > 0xFFFF), 0xFFFF, array)
    return _column(array, np.uint16)


def _polarities(values: Any) -> NDArray[np.uint8]:
    """uint8 polarities: negative values (tonic's -1) are OFF (0); values past 255 become 255
    (like 2..255, a polarity tensors with a polarity axis leave out) instead of wrapping to 0."""
    array = _integers(values, "p")
    if array.dtype not in (np.uint8, np.bool_) and array.size:
        low, high = array.min(), array.max()
        if low < 0 or high > 0xFF:
            array = np.clip(array, 0, 0xFF)
    return _column(array, np.uint8)


def _sensor(sensor_size: SensorSize) -> tuple[int, int]:
    if not hasattr(sensor_size, "__len__") or len(sensor_size) not in (2, 3):
        raise ValueError(f"sensor_size must be (width, height), got {sensor_size!r}")
    # A fraction (640.5) is refused rather than truncated; _args.whole's own range message is
    # replaced by this one, which names both sides.
    width, height = _args.whole(sensor_size[0], "sensor_size width"), _args.whole(sensor_size[1], "sensor_size height")
    if not (0 < width <= 65536 and 0 < height <= 65536):
        raise ValueError(f"sensor_size must be 1..65536 pixels each way, got {sensor_size!r}")
    return width, height


def _select(events: Events, cols: Columns, keep: NDArray[np.uint8]) -> Events:
    """The kept events, in the input's own kind where it has one (structured array, Polars
    frame), else as a dict of NumPy columns."""
    mask = keep.view(np.bool_)
    if isinstance(events, np.ndarray) and events.dtype.names is not None:
        return events[mask]
    if type(events).__module__.startswith("polars"):
        import polars as pl

        return events.filter(pl.Series(mask))
    return {"t": cols[0][mask], "x": cols[1][mask], "y": cols[2][mask], "p": cols[3][mask]}


# ---------------------------------------------------------------------------------------------
# Slicing


SliceKind = Literal["time", "count", "time_bins", "event_bins"]


def slice_events(
    events: Events | NDArray[np.int64],
    *,
    time_window: int | None = None,
    event_count: int | None = None,
    n_time_bins: int | None = None,
    n_event_bins: int | None = None,
    overlap: float = 0,
    include_incomplete: bool = False,
    start_time: int | None = None,
    end_time: int | None = None,
    convention: Literal["tonic", "clean"] = "tonic",
) -> NDArray[np.int64]:
    """Windows over the events as an ``(n, 2)`` int64 array of ``[begin, end)`` event indices.

    Exactly one of ``time_window`` (µs), ``event_count``, ``n_time_bins``, ``n_event_bins``
    (tonic's ``ToFrame`` parameter names). ``overlap`` is in µs or events for the first two,
    a fraction of a bin for the others. ``convention="tonic"`` reproduces ``tonic.slicers``
    bit for bit, including the events it leaves out; ``"clean"`` puts every event in a window
    (docs/processing.md "Slicing"). ``start_time`` / ``end_time`` apply to time windows.
    Time-based slicings need non-decreasing ``t``.
    """
    choices = {"time": time_window, "count": event_count, "time_bins": n_time_bins, "event_bins": n_event_bins}
    given = [(kind, value) for kind, value in choices.items() if value is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of time_window, event_count, n_time_bins, n_event_bins")
    kind, value = given[0]
    name = {"time": "time_window", "count": "event_count", "time_bins": "n_time_bins", "event_bins": "n_event_bins"}[kind]
    # tonic's float windows are not bit for bit: a fraction (NaN, a bool) is refused, not truncated.
    value = _args.whole(value, name, -(2**200), 2**200)
    if not 0 < value < 2**63:
        raise ValueError(f"{name} must be positive and below 2^63, not {value!r}")
    if kind in ("time", "count") and (_args.is_bool(overlap) or not _is_whole_below(overlap, 2**53)):
        raise ValueError(f"overlap must be a whole number of {'µs' if kind == 'time' else 'events'} below 2^53 "
                         f"(it travels as a float64), not {overlap!r}")
    t = _times(events) if isinstance(events, np.ndarray) and events.dtype.names is None else columns(events)[0]
    start = None if start_time is None else _args.whole(start_time, "start_time")
    end = None if end_time is None else _args.whole(end_time, "end_time")
    return _ops.slice_windows(t, kind, int(value), float(overlap), _args.flag(include_incomplete, "include_incomplete"),
                              start, end, _args.choice(convention, "convention", ("tonic", "clean")))


def _is_whole_below(value: Any, limit: int) -> bool:
    """A finite number without fraction, of magnitude below limit (a string is no number)."""
    if isinstance(value, (str, bytes)):
        return False
    try:
        real = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(real) and real == int(real) and abs(real) < limit


def rvt_time_window(t: NDArray[np.int64], t_end: int, duration: int) -> slice:
    """RVT's window ending at ``t_end``: the events with ``t`` in ``[t_end - duration, t_end]``,
    both ends included, as a slice (``t`` non-decreasing)."""
    begin, end = _ops.rvt_time_window(_times(t), _args.whole(t_end, "t_end"), _args.whole(duration, "duration"))
    return slice(begin, end)


def rvt_count_window(t: NDArray[np.int64], t_end: int, count: int) -> slice:
    """RVT's count window: the last ``count`` events with ``t <= t_end``, as a slice."""
    begin, end = _ops.rvt_count_window(_times(t), _args.whole(t_end, "t_end"),
                                       _args.whole(count, "count", 0, _args.UINT64_MAX))
    return slice(begin, end)


# ---------------------------------------------------------------------------------------------
# Representations


def _output(out: NDArray[Any] | None, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
    if out is None:
        return np.empty(shape, dtype=dtype)
    _args.array(out, "out")
    if out.shape != shape or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"out must be a writable C-contiguous array of shape {shape}, got {out.shape}")
    if out.dtype != np.dtype(dtype):  # the counts' saturation and the sums' rounding follow the dtype
        raise TypeError(f"out is {out.dtype}, not the {np.dtype(dtype)} asked for (dtype=)")
    return out


def _dtype(dtype: Any, out: NDArray[Any] | None, default: Any) -> Any:
    """The dtype asked for; else out's, when given; else the default. A number type in the
    machine's byte order (the kernels write native numbers; the binding's own refusal of another
    is a dump of its signatures)."""
    chosen = np.dtype(dtype if dtype is not None else _args.array(out, "out").dtype if out is not None else default)
    if not chosen.isnative or chosen.kind not in "biuf" or chosen.itemsize > 8:  # (long double too)
        raise TypeError(f"dtype must be a number type of at most 8 bytes in the machine's byte order, not {chosen}")
    return chosen


def event_frame(
    events: Events,
    sensor_size: SensorSize,
    *,
    polarities: int = 2,
    time_window: int | None = None,
    event_count: int | None = None,
    n_time_bins: int | None = None,
    n_event_bins: int | None = None,
    overlap: float = 0,
    include_incomplete: bool = False,
    convention: Literal["tonic", "clean"] = "tonic",
    dtype: Any = None,
    overflow: Literal["saturate", "wrap"] = "saturate",
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Event counts per (window, polarity, y, x), as tonic's ``ToFrame``.

    With no slicing argument, all events make one frame (shape ``(polarities, H, W)``);
    otherwise the windows of :func:`slice_events` give ``(n_windows, polarities, H, W)``.
    ``polarities=1`` counts both polarities in one channel. ``overflow="wrap"`` wraps counts
    modulo the dtype as numpy does in tonic (its int16 frames); ``"saturate"`` stops at the
    dtype's maximum. ``dtype`` defaults to int16 (tonic's), or ``out``'s dtype; ``out`` receives
    the frames when given (zeroed first), and must have the dtype asked for.
    """
    dtype = _dtype(dtype, out, np.int16)
    width, height = _sensor(sensor_size)
    polarities = _args.whole(polarities, "polarities", 1, 2)
    wrap = _args.choice(overflow, "overflow", ("saturate", "wrap")) == "wrap"
    cols = columns(events)
    sliced = any(v is not None for v in (time_window, event_count, n_time_bins, n_event_bins))
    if sliced:
        windows = slice_events(cols, time_window=time_window, event_count=event_count, n_time_bins=n_time_bins,
                               n_event_bins=n_event_bins, overlap=overlap, include_incomplete=include_incomplete,
                               convention=convention)
        shape: tuple[int, ...] = (len(windows), polarities, height, width)
    else:
        windows = np.array([[0, len(cols[0])]], dtype=np.int64)
        shape = (polarities, height, width)
    # A fresh np.zeros array holds pages the kernel zeroed: the counts go straight into it.
    frames = np.zeros(shape, dtype) if out is None else _output(out, shape, dtype)
    _ops.event_frames_into(*cols, windows, width, height, polarities, wrap, frames, out is None)
    return frames


def stacked_histogram(
    events: Events,
    sensor_size: SensorSize,
    *,
    bins: int = 10,
    count_cutoff: int = 255,
    fastmode: bool = True,
    downsample_by_2: bool = False,
    out: NDArray[np.uint8] | None = None,
) -> NDArray[np.uint8]:
    """RVT's stacked histogram of one window, ``(2 * bins, H, W)`` uint8, channel ``p * bins + bin``.

    Time bins are computed in float32 relative to the window's first and last events, exactly
    as RVT's torch code does. ``fastmode`` (RVT's default) counts in uint8, which wraps at 256
    before the ``count_cutoff`` clamp; otherwise counts are clamped. ``downsample_by_2`` keeps
    RVT's rows and columns ``2i + 1`` (``(H // 2, W // 2)``). Use :func:`rvt_time_window` or
    :func:`rvt_count_window` to cut windows as RVT does.
    """
    width, height = _sensor(sensor_size)
    count_cutoff = _args.whole(count_cutoff, "count_cutoff")
    if not 0 <= count_cutoff <= 255:
        raise ValueError(f"count_cutoff must be 0..255 (the histogram is uint8), got {count_cutoff!r}")
    bins = _args.whole(bins, "bins", 1, 2**32 - 1)
    fastmode, downsample_by_2 = _args.flag(fastmode, "fastmode"), _args.flag(downsample_by_2, "downsample_by_2")
    h, w = (height // 2, width // 2) if downsample_by_2 else (height, width)
    if out is None:
        # A new array in the memory of the last one dropped of its size (no first-touch page
        # faults); in fast mode the kernel zeroes each bin's planes just before counting into them.
        return _ops.stacked_histogram(*columns(events), width, height, bins, count_cutoff, fastmode, downsample_by_2)
    hist = _output(out, (2 * bins, h, w), np.uint8)
    _ops.stacked_histogram_into(*columns(events), width, height, bins, count_cutoff, fastmode, downsample_by_2, hist,
                                False)
    return hist


def voxel_grid(
    events: Events,
    sensor_size: SensorSize,
    n_time_bins: int,
    *,
    convention: Literal["e2vid", "tonic"] = "e2vid",
    polarity: Literal["signed", "all_on"] = "signed",
    normalize: bool = False,
    dtype: Any = None,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """The voxel grid of one window, ``(n_time_bins, H, W)``.

    ``convention="e2vid"``: rpg_e2vid's ``events_to_voxel_grid`` (float32 by default; the last
    event sits on the last bin; ``normalize`` applies E2VID's normalisation over the non-zero
    voxels). ``convention="tonic"``: tonic's ``ToVoxelGrid`` (float64 by default; events at the
    last time fall off the grid; tonic's array has an extra axis, ``(n_time_bins, 1, H, W)``:
    ``grid[:, None]`` gives that shape). ``polarity="all_on"`` counts every event +1, which is what
    tonic computes on its boolean-polarity arrays (docs/processing.md "Voxel grids").
    """
    width, height = _sensor(sensor_size)
    convention = _args.choice(convention, "convention", ("e2vid", "tonic"))
    dtype = _dtype(dtype, out, np.float32 if convention == "e2vid" else np.float64)
    all_on = _args.choice(polarity, "polarity", ("signed", "all_on")) == "all_on"
    n_time_bins = _args.whole(n_time_bins, "n_time_bins", 1, 2**32 - 1)
    normalize = _args.flag(normalize, "normalize")
    if out is None and np.dtype(dtype) in (np.float32, np.float64):
        # A new array over memory the extension keeps from the last grid of this size that is
        # gone: no first-touch page faults on a fresh 12 MB block (docs/processing.md).
        return _ops.voxel_grid(*columns(events), width, height, n_time_bins, convention, all_on, normalize,
                               np.dtype(dtype) == np.float64)
    # A fresh np.zeros array holds pages the kernel zeroed: the kernel adds into it directly.
    shape = (n_time_bins, height, width)
    grid = np.zeros(shape, dtype) if out is None else _output(out, shape, dtype)
    _ops.voxel_grid_into(*columns(events), width, height, n_time_bins, convention, all_on, normalize, grid, out is None)
    return grid


class TimeSurface:
    """tonic's ``ToTimesurface`` (HOTS) over a stream: consecutive windows of ``dt`` µs from the
    first event; after each window ``exp(-(window end - last time) / tau)`` per (polarity, y, x),
    0 where no event came yet. :meth:`add` returns the surfaces its events complete, and
    :meth:`finish` the rest; any split of the stream gives the same surfaces.
    """

    def __init__(self, sensor_size: SensorSize, dt: int, tau: float, *, polarities: int = 2,
                 include_incomplete: bool = False) -> None:
        self._width, self._height = _sensor(sensor_size)
        self._polarities = _args.whole(polarities, "polarities", 1, 2)
        self._kernel = _ops.HotsTimeSurfaces(self._width, self._height, _args.whole(dt, "dt"), _args.real(tau, "tau"),
                                             self._polarities, _args.flag(include_incomplete, "include_incomplete"))

    def add(self, events: Events) -> NDArray[np.float64]:
        """Feeds events (non-decreasing ``t``); returns ``(n, polarities, H, W)`` float64."""
        return self._kernel.add(*columns(events), self._width, self._height, self._polarities)

    def finish(self) -> NDArray[np.float64]:
        """The surfaces tonic still produces at the end of the input; the object then starts over."""
        return self._kernel.finish(self._width, self._height, self._polarities)


def time_surface(events: Events, sensor_size: SensorSize, dt: int, tau: float, *, polarities: int = 2,
                 include_incomplete: bool = False) -> NDArray[np.float64]:
    """All of tonic's ``ToTimesurface`` surfaces of one input, ``(n, polarities, H, W)`` float64."""
    surfaces = TimeSurface(sensor_size, dt, tau, polarities=polarities, include_incomplete=include_incomplete)
    return surfaces._kernel.add(*columns(events), surfaces._width, surfaces._height, surfaces._polarities, True)


class LastTimestampMap:
    """The time of each pixel's last event (dv-processing's ``TimeSurface``), updated by
    :meth:`add` batch after batch."""

    def __init__(self, sensor_size: SensorSize, *, split_polarity: bool = False) -> None:
        self._width, self._height = _sensor(sensor_size)
        split_polarity = _args.flag(split_polarity, "split_polarity")
        self._shape = ((2,) if split_polarity else ()) + (self._height, self._width)
        self._kernel = _ops.LastTimestampMap(self._width, self._height, split_polarity)

    def add(self, events: Events) -> None:
        self._kernel.add(*columns(events))

    def timestamps(self) -> NDArray[np.int64]:
        """The map, ``([2,] H, W)`` int64, 0 where no event came (a copy)."""
        out = np.empty(self._shape, dtype=np.int64)
        self._kernel.map_into(out)
        return out

    def frame(self) -> NDArray[np.uint8]:
        """dv-processing's ``generateFrame()``: ``(t - min) * (255 / (max - min))`` truncated,
        min and max over every entry (never-fired ones count as 0)."""
        out = np.empty(self._shape, dtype=np.uint8)
        self._kernel.to_u8_scaled_into(out)
        return out

    def reset(self) -> None:
        self._kernel.reset()


# ---------------------------------------------------------------------------------------------
# Filters


class _Filter:
    """A stateful filter: :meth:`filter` returns the kept events of a batch, and the state
    (per-pixel times) carries to the next batch, so any split of a stream gives the same result.
    The kernel runs without the GIL: use one filter object from one thread at a time."""

    _kernel: Any

    def keep_mask(self, events: Events) -> NDArray[np.bool_]:
        """One boolean per event, True where it is kept (updates the state)."""
        return self._keep(columns(events)).view(np.bool_)

    def filter(self, events: Events) -> Events:
        """The kept events: a structured array or Polars frame for such input, else a dict of
        NumPy columns ``t``, ``x``, ``y``, ``p``."""
        cols = columns(events)
        return _select(events, cols, self._keep(cols))

    def reset(self) -> None:
        """Back to the state before the first event."""
        self._kernel.reset()

    def _keep(self, cols: Columns) -> NDArray[np.uint8]:
        keep = np.empty(len(cols[0]), dtype=np.uint8)
        self._kernel.apply(*cols, keep)
        return keep


class Refractory(_Filter):
    """Drops an event that follows its pixel's previous event (either polarity, kept or not)
    by too little. ``convention``: ``"tonic"`` (``RefractoryPeriod``: keep when
    ``t - last > period``, state starting at ``-period``), ``"dv"`` (dv-processing's
    ``RefractoryPeriodFilter``: ``>=``, state 0), ``"evlib"`` (evlib 0.13's ``filter_noise``:
    a pixel's first event is kept, then ``>``)."""

    def __init__(self, sensor_size: SensorSize, period: int, *,
                 convention: Literal["tonic", "dv", "evlib"] = "tonic") -> None:
        self._kernel = _ops.RefractoryFilter(*_sensor(sensor_size), _args.whole(period, "period"),
                                             _args.choice(convention, "convention", ("tonic", "dv", "evlib")))


class BackgroundActivity(_Filter):
    """Keeps an event when a neighbouring pixel fired within ``duration`` µs. ``convention``:
    ``"dv"`` (dv-processing's ``BackgroundActivityNoiseFilter``: 8 neighbours, ``<``), ``"jaer"``
    (jAER's ``BackgroundActivityFilter``), ``"tonic"`` (tonic's ``Denoise(filter_time)``: 4
    neighbours)."""

    def __init__(self, sensor_size: SensorSize, duration: int, *,
                 convention: Literal["dv", "jaer", "tonic"] = "dv") -> None:
        self._kernel = _ops.BackgroundActivityFilter(*_sensor(sensor_size), _args.whole(duration, "duration"),
                                                     _args.choice(convention, "convention", ("dv", "jaer", "tonic")))


class Stcf(_Filter):
    """Spatio-temporal correlation filter (jAER's ``SpatioTemporalCorrelationFilter``): keeps an
    event when at least ``min_correlated`` pixels of its 3x3 neighbourhood fired within
    ``correlation_time`` µs; a pixel's first event passes when ``let_first_through``.
    ``polarities_must_match``: a neighbour counts only when its last event had this event's
    polarity (jAER's ``polaritiesMustMatch``, on in its current version). ``jaer_border``: jAER's
    neighbourhood, which ends at its column ``width - 2`` and row ``height - 2``: the last column
    and, jAER's ``y`` counting from the bottom, the first row (``y == 0``) are nobody's neighbours
    (the default clips the 3x3 neighbourhood to the sensor). Both on: jAER's current filter.
    ``shot_noise_time`` (µs; None, the default: off): jAER's alternating-polarity shot-noise test
    (``filterAlternativePolarityShotNoiseEnabled``, its ``shotNoiseCorrelationTimeS`` 1 ms by
    default): an event that passed is still dropped when its pixel's last event had the other
    polarity and came at most ``shot_noise_time`` µs before."""

    def __init__(self, sensor_size: SensorSize, correlation_time: int = 30000, min_correlated: int = 5, *,
                 include_self: bool = False, let_first_through: bool = True, jaer_border: bool = False,
                 polarities_must_match: bool = False, shot_noise_time: int | None = None) -> None:
        self._kernel = _ops.StcfFilter(*_sensor(sensor_size), _args.whole(correlation_time, "correlation_time"),
                                       _args.whole(min_correlated, "min_correlated", -(2**31), 2**31 - 1),
                                       _args.flag(include_self, "include_self"),
                                       _args.flag(let_first_through, "let_first_through"),
                                       _args.flag(jaer_border, "jaer_border"),
                                       _args.flag(polarities_must_match, "polarities_must_match"),
                                       None if shot_noise_time is None
                                       else _args.whole(shot_noise_time, "shot_noise_time", 0))


class HotPixels(_Filter):
    """Drops the events of hot pixels given by a ``(H, W)`` mask (non-zero = hot).

    The mask comes from the caller or from a first pass over the events: :meth:`by_rate`
    (tonic's ``DropPixel(hot_pixel_frequency)`` rule) or :meth:`by_percentile` (evlib 0.13's
    ``filter_hot_pixels`` rule). Both take one input or an iterable of batches.
    """

    def __init__(self, sensor_size: SensorSize, mask: NDArray[Any]) -> None:
        width, height = _sensor(sensor_size)
        if np.shape(mask) != (height, width):
            raise ValueError(f"mask must have the sensor's shape (height, width) = {(height, width)}, not {np.shape(mask)}")
        self.mask = np.ascontiguousarray(np.asarray(mask) != 0, dtype=np.uint8)
        self._kernel = _ops.PixelMaskFilter(width, height, self.mask)

    @staticmethod
    def _count(sensor_size: SensorSize, events: Events) -> Any:
        counter = _ops.PixelCounter(*_sensor(sensor_size))
        batches = [events] if _is_single(events) else events
        for batch in batches:
            counter.add(*columns(batch))
        return counter

    @classmethod
    def by_rate(cls, sensor_size: SensorSize, events: Events, rate_hz: float) -> HotPixels:
        """Hot when a pixel's count exceeds ``rate_hz`` times the stream's duration (tonic)."""
        return cls(sensor_size, cls._count(sensor_size, events).mask_by_rate(float(rate_hz)))

    @classmethod
    def by_percentile(cls, sensor_size: SensorSize, events: Events, percentile: float = 99.9) -> HotPixels:
        """Hot when a pixel's count exceeds the ``percentile`` of the non-zero counts (evlib 0.13)."""
        return cls(sensor_size, cls._count(sensor_size, events).mask_by_percentile(float(percentile)))

    def reset(self) -> None:
        """Nothing to reset: the mask filter keeps no state."""


def _is_one_batch(source: Any) -> bool:
    """A batch of events itself rather than an iterable of batches."""
    return ((isinstance(source, np.ndarray) and source.dtype.names is not None) or isinstance(source, Mapping)
            or type(source).__module__.startswith("polars") or hasattr(source, "bytes_done"))


def _is_single(events: Events) -> bool:
    return not (isinstance(events, list) or (hasattr(events, "__next__") and not isinstance(events, np.ndarray)))


# ---------------------------------------------------------------------------------------------
# Torch and pipelines


def to_torch(array: NDArray[Any]) -> Any:
    """The array as a torch tensor sharing its memory (``torch.from_dlpack``: no copy), except
    for a NumPy array with a negative stride (a flipped view: torch has none, and its DLPack
    import aborted the process) or a read-only one (evlib's own columns: writing to the tensor
    changed them), which are copied first.

    Raises ImportError naming the package when torch is not installed (``pip install
    'evlib[torch]'``), TypeError for an object without ``__dlpack__``.
    """
    try:
        import torch
    except ImportError as e:
        raise ImportError("evlib.ops.to_torch needs torch: pip install 'evlib[torch]'") from e
    if isinstance(array, np.ndarray):
        if any(stride < 0 for stride in array.strides) or not array.flags.writeable:
            array = array.copy()
    elif not hasattr(array, "__dlpack__"):
        raise TypeError(f"to_torch takes an array (NumPy or another DLPack producer), not {type(array).__name__}")
    return torch.from_dlpack(array)


Window = dict[str, NDArray[Any]]
Representation = Callable[[Window], NDArray[Any]]


class _WindowCutter:
    """Cuts a stream into the clean windows of docs/processing.md section 11 (as ``evlib
    frames``): ``[t0 + k*W, t0 + (k+1)*W)`` from the first event, empty windows included, or
    ``count`` events each; the last window is kept even when short. A window spread over several
    batches is gathered into one set of columns."""

    def __init__(self, time_window: int | None, event_count: int | None) -> None:
        if (time_window is None) == (event_count is None):
            raise ValueError("give one of time_window (µs) or event_count")
        # Whole numbers as slice_events takes them (a fraction, NaN or a bool refused).
        self._width = None if time_window is None else _args.whole(time_window, "time_window", 1)
        self._count = None if event_count is None else _args.whole(event_count, "event_count", 1)
        self.reset()

    def reset(self) -> None:
        self._pending: list[Columns] = []
        self._pending_n = 0
        self._begin: int | None = None
        self._last_t: int | None = None

    def add(self, cols: Columns) -> list[Window]:
        return list(self.windows_of(cols))

    def windows_of(self, cols: Columns) -> Iterator[Window]:
        """The windows cols completes, one at a time (a long gap completes many: they are made as
        they are asked for, not all first)."""
        if len(cols[0]) == 0:
            return iter(())
        return self._add_by_time(cols) if self._width is not None else self._add_by_count(cols)

    def finish(self) -> list[Window]:
        """The last window, if it holds events; the cutter then starts over."""
        out = [self._close(None)] if self._pending_n else []
        self.reset()
        return out

    def _add_by_time(self, cols: Columns) -> Iterator[Window]:
        assert self._width is not None
        t = cols[0]
        if (self._last_t is not None and t[0] < self._last_t) or bool(np.any(t[1:] < t[:-1])):
            raise ValueError("time windows need events in time order (use event_count)")
        return self._time_windows(cols)

    def _time_windows(self, cols: Columns) -> Iterator[Window]:
        assert self._width is not None
        t = cols[0]
        self._last_t = int(t[-1])
        if self._begin is None:
            self._begin = int(t[0])
        i = 0
        while True:
            end = self._begin + self._width
            # An end past int64 (windows near its top) lies above every time: searchsorted would
            # compare it as a float.
            j = len(t) if end > _args.INT64_MAX else i + int(np.searchsorted(t[i:], end, side="left"))
            if j == len(t):
                self._gather(cols, i, j)
                return
            window = self._close((cols, i, j))
            self._begin = end
            yield window
            while int(t[j]) >= self._begin + self._width:  # empty windows up to the next event
                window = self._close(None)
                self._begin += self._width
                yield window
            i = j

    def _add_by_count(self, cols: Columns) -> Iterator[Window]:
        assert self._count is not None
        i, n = 0, len(cols[0])
        while i < n:
            j = min(n, i + self._count - self._pending_n)
            if self._pending_n + (j - i) < self._count:
                self._gather(cols, i, j)
                break
            window = self._close((cols, i, j))
            i = j
            yield window

    def _gather(self, cols: Columns, i: int, j: int) -> None:
        if j > i:
            self._pending.append(tuple(c[i:j] for c in cols))  # type: ignore[arg-type]
            self._pending_n += j - i

    def _close(self, last: tuple[Columns, int, int] | None) -> Window:
        parts = self._pending
        if last is not None:
            cols, i, j = last
            parts = parts + [tuple(c[i:j] for c in cols)]  # type: ignore[list-item]
        self._pending, self._pending_n = [], 0
        if len(parts) == 1:
            merged = parts[0]
        elif parts:
            merged = tuple(np.concatenate([part[k] for part in parts]) for k in range(4))  # type: ignore[assignment]
        else:
            merged = (np.empty(0, np.int64), np.empty(0, np.uint16), np.empty(0, np.uint16), np.empty(0, np.uint8))
        return dict(zip("txyp", merged))


class Pipeline:
    """Filters, then a representation per window, over a stream of batches, with every filter's
    state and the open window carried from one batch to the next: any split of the stream gives
    the same frames as the whole stream at once.

    ``filters`` are :class:`Refractory`, :class:`BackgroundActivity`, :class:`Stcf` or
    :class:`HotPixels` objects, run in order. ``representation`` takes one window as a dict of
    columns ``t``, ``x``, ``y``, ``p`` and returns an array, e.g.
    ``lambda w: ops.voxel_grid(w, sensor, 5)`` or ``functools.partial(ops.stacked_histogram,
    sensor_size=sensor)``; without one the pipeline yields the windows' events. Windows are
    ``time_window`` µs from the first kept event or ``event_count`` events, as ``evlib frames``
    cuts them (docs/processing.md section 11). ``output="torch"`` yields tensors sharing the
    arrays' memory (:func:`to_torch`).

    >>> pipe = Pipeline([Refractory(sensor, 1000)], lambda w: event_frame(w, sensor), time_window=50_000)
    >>> frames = pipe("recording.raw")          # every frame, stacked: (n, 2, H, W)
    >>> for frame in pipe.run("recording.raw"): ...  # one at a time, in bounded memory
    """

    def __init__(
        self,
        filters: Sequence[_Filter] = (),
        representation: Representation | None = None,
        *,
        time_window: int | None = None,
        event_count: int | None = None,
        output: Literal["numpy", "torch"] = "numpy",
    ) -> None:
        if output not in ("numpy", "torch"):
            raise ValueError(f"output must be 'numpy' or 'torch', got {output!r}")
        self.filters = list(filters)
        self.representation = representation
        self.output = output
        self._windows = _WindowCutter(time_window, event_count)

    def reset(self) -> None:
        """Back to the start of a stream: filter states and the open window are dropped."""
        for f in self.filters:
            f.reset()
        self._windows.reset()

    def filter(self, events: Events) -> Window:
        """The events every filter keeps, as columns (the filters' states advance)."""
        return dict(zip("txyp", self._filtered(columns(events))))

    def feed(self, events: Events) -> list[Any]:
        """Feeds one batch; returns the frames of the windows it completes."""
        # The windows first (views, cheap): a representation that raises then loses only frames,
        # never the cutter's place in the stream.
        return [self._frame(w) for w in self._windows.add(self._filtered(columns(events)))]

    def _frames_of(self, events: Events) -> Iterator[Any]:
        # run(): one window's frame at a time, so that a batch that completes many windows (a big
        # batch, a long gap) never holds all their frames at once (an exception ends the run).
        for window in self._windows.windows_of(self._filtered(columns(events))):
            yield self._frame(window)

    def finish(self) -> list[Any]:
        """The frame of the last window (if it holds events); the pipeline then starts over."""
        out = [self._frame(w) for w in self._windows.finish()]
        for f in self.filters:
            f.reset()
        return out

    def run(self, source: Any, **batches: Any) -> Iterator[Any]:
        """Frames of a whole stream, one at a time. ``source``: a path (read with
        :func:`evlib.iter_batches`, which takes ``batches``' keywords, e.g. ``by_count``), an
        :class:`evlib.EventFile`, any iterable of event batches, or one batch in memory (a
        structured array, a mapping of columns, a Polars frame, an evlib Batch)."""
        self.reset()
        if isinstance(source, (str, bytes, os.PathLike)):
            from ._api import iter_batches

            stream: Iterable[Any] = iter_batches(source, **batches)
        elif hasattr(source, "iter_batches"):
            stream = source.iter_batches(**batches)
        else:
            if batches:
                raise TypeError("batch options apply to a path or an EventFile source")
            # One batch in memory (iterating it would go over its rows, keys or columns).
            stream = [source] if _is_one_batch(source) else source
        for batch in stream:
            yield from self._frames_of(batch)
        yield from self.finish()

    def __call__(self, source: Any, **batches: Any) -> Any:
        """Every frame of ``source`` stacked on a new first axis (see :meth:`run`); a list of
        windows when there is no representation."""
        frames = list(self.run(source, **batches))
        if self.representation is None:
            return frames
        if not frames:
            raise ValueError("the stream has no events, so no window and no frame shape")
        if self.output == "torch":
            import torch

            return torch.stack(frames)
        return np.stack(frames)

    def _filtered(self, cols: Columns) -> Columns:
        for f in self.filters:
            keep = f._keep(cols).view(np.bool_)
            cols = (cols[0][keep], cols[1][keep], cols[2][keep], cols[3][keep])
        return cols

    def _frame(self, window: Window) -> Any:
        if self.representation is None:
            return window
        frame = self.representation(window)
        return to_torch(frame) if self.output == "torch" else frame


from ._ops_extra import *  # noqa: E402,F403  (tier-2 operations: fast decay, decimation, augmentations)
