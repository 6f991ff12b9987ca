"""Seeded event augmentations with tonic's parameter names, re-exported by :mod:`evlib.ops`
(docs/processing.md "Augmentations" gives each formula and where it differs from tonic).

Every random number comes from a counter-based generator keyed on ``(seed, use, index)``, so a
result depends only on the seed and, for the per-event draws (``drop_event``,
``spatial_jitter``, ``time_jitter``), on each event's position in the stream: feeding a stream in
batches with ``index_offset`` set to each batch's first position gives what one call over the
whole stream gives. ``seed=None`` draws a fresh seed. Per-input parameters (a crop origin, a flip
decision, a drop window) are drawn once per call from the seed.

Results are in the input's kind: a structured array of the input's dtype (values cast as NumPy
casts them into the fields, as in tonic), a Polars frame, else a dict of NumPy columns.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from . import _args
from ._core import ops_extra as _kernels
from .ops import Events, SensorSize, _sensor, _select, columns

__all__ = [
    "crop",
    "drop_box",
    "drop_by_area",
    "drop_by_time",
    "drop_event",
    "drop_time_window",
    "flip_lr",
    "flip_polarity",
    "flip_ud",
    "random_crop",
    "spatial_jitter",
    "time_jitter",
    "time_reversal",
    "time_skew",
    "uniform_noise",
]

Range = float | tuple[float, float]

# Slots of the per-input parameter draws, one per use, so that no two parameters share a draw.
_SLOT = {"drop_p": 0, "time_ratio": 10, "time_start": 11, "area_ratio": 20, "area_x": 21, "area_y": 22,
         "crop_x": 30, "crop_y": 31, "flip_lr": 40, "flip_ud": 41, "flip_p": 42, "skew_c": 50, "skew_o": 51,
         "reverse": 60, "noise_n": 70, "noise_index": 71}


def _seed(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    # Any whole number (a fraction refused, not truncated into another seed's results), modulo 2^64.
    return _args.whole(seed, "seed", -(2**200), 2**200) & 0xFFFF_FFFF_FFFF_FFFF


def _probability(p: Any, name: str = "p") -> float:
    """A probability in [0, 1] (NaN refused: every comparison with it is false)."""
    value = _args.real(p, name)
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {p!r}")
    return value


def _index_offset(index_offset: int) -> int:
    return _args.whole(index_offset, "index_offset", 0, _args.UINT64_MAX)


def _draw(seed: int, slot: str) -> float:
    """The uniform [0, 1) parameter draw of this seed for one use."""
    return float(_kernels.counter_uniform(seed, "parameters", _SLOT[slot]))


def _in_range(value: Range, seed: int, slot: str, name: str) -> float:
    """A value, or a uniform draw in [low, high) for a (low, high) tuple (both ends used)."""
    if isinstance(value, tuple):
        low, high = (_args.real(end, name) for end in value)
        return low + (high - low) * _draw(seed, slot)
    return _args.real(value, name)


def _rebuild(events: Events, t: NDArray[Any], x: NDArray[Any], y: NDArray[Any], p: NDArray[Any],
             rows: NDArray[np.intp] | None = None) -> Events:
    """New columns in the input's kind. ``rows``: the input row each output row comes from (-1: an
    added event), None when they are the input's rows in order; a structured array's other fields
    (a label, ...) follow their rows, zero for added events."""
    if isinstance(events, np.ndarray) and events.dtype.names is not None:
        out = np.zeros(len(t), dtype=events.dtype)
        others = [name for name in events.dtype.names if name not in ("t", "x", "y", "p")]
        if others:
            source = np.arange(len(t)) if rows is None else rows
            taken = source >= 0
            for name in others:
                out[name][taken] = events[name][source[taken]]
        for name, values in (("t", t), ("x", x), ("y", y), ("p", p)):
            out[name] = values
        return out
    if type(events).__module__.startswith("polars"):
        import polars as pl

        return pl.DataFrame({"t": t, "x": x, "y": y, "p": p})
    return {"t": t, "x": x, "y": y, "p": p}


def _mask_of(events: Events, cols: Any, drop: NDArray[np.bool_]) -> Events:
    return _select(events, cols, np.ascontiguousarray(~drop).view(np.uint8))


# ---------------------------------------------------------------------------------------------
# Drops


def drop_event(events: Events, p: Range, *, seed: int | None = None, index_offset: int = 0) -> Events:
    """Drops each event independently with probability ``p`` (a tuple: drawn in [p0, p1)).

    tonic's ``DropEvent`` drops exactly ``int(p * n + 0.5)`` events chosen over the whole input;
    here each event is an independent draw, so batches of a stream give the same result as the
    whole stream (``index_offset``: the position of the batch's first event)."""
    s = _seed(seed)
    probability = _in_range(p, s, "drop_p", "p")
    cols = columns(events)
    keep = np.empty(len(cols[0]), dtype=np.uint8)
    _kernels.drop_events(probability, s, _index_offset(index_offset), keep)
    return _select(events, cols, keep)


def drop_time_window(events: Events, start: float, duration: float) -> Events:
    """Drops the events with ``start <= t <= start + duration`` (tonic's comparison)."""
    t = columns(events)[0]
    return _mask_of(events, columns(events), (t >= start) & (t <= start + duration))


def drop_by_time(events: Events, duration_ratio: Range = 0.2, *, seed: int | None = None,
                 origin: Literal["first", "zero"] = "first") -> Events:
    """Drops a time window of ``duration_ratio`` times the input's duration at a uniform place.

    The duration runs from the first event's time to the last (``origin="first"``); tonic's
    ``DropEventByTime`` measures it from time 0 (``origin="zero"``), which with large absolute
    timestamps puts the window mostly before the data. A tuple ratio is drawn in [r0, r1)."""
    t = columns(events)[0]
    if len(t) == 0:
        return events
    s = _seed(seed)
    ratio = _in_range(duration_ratio, s, "time_ratio", "duration_ratio")
    if not 0 <= ratio < 1:
        raise ValueError(f"drop_by_time: duration_ratio must be in [0, 1), got {ratio}")
    if _args.choice(origin, "origin", ("first", "zero")) == "zero":
        t_end = float(t.max())  # tonic's arithmetic, in float64 on absolute times
        duration = t_end * ratio
        return drop_time_window(events, (t_end - duration) * _draw(s, "time_start"), duration)
    # From the first event: times as exact offsets from it (unsigned: any int64 span fits), so
    # that large absolute times (ns since 1970: 1.7e18) are not rounded to float64's 256 ns steps.
    first = t.min()
    offset = t.view(np.uint64) - np.uint64(first.view(np.uint64))
    span = float(offset.max())
    duration = span * ratio
    start = (span - duration) * _draw(s, "time_start")
    return _mask_of(events, columns(events), (offset >= start) & (offset <= start + duration))


def drop_box(events: Events, x0: int, y0: int, width: int, height: int) -> Events:
    """Drops the events with ``x0 <= x < x0 + width`` and ``y0 <= y < y0 + height``."""
    cols = columns(events)
    x, y = cols[1].astype(np.int64), cols[2].astype(np.int64)
    return _mask_of(events, cols, (x >= x0) & (x < x0 + width) & (y >= y0) & (y < y0 + height))


def drop_by_area(events: Events, sensor_size: SensorSize, area_ratio: Range = 0.2, *,
                 seed: int | None = None) -> Events:
    """Drops the events in a box of ``int(W * r)`` by ``int(H * r)`` pixels at a uniform place
    (``x0`` uniform in ``0 .. W - int(W * r) - 1``, as tonic's ``randint``).

    A tuple ratio is drawn in [r0, r1); tonic 1.7's ``DropEventByArea`` draws it in [r1, 1)
    instead (its ``uniform(r0 and r1)`` bug)."""
    width, height = _sensor(sensor_size)
    s = _seed(seed)
    ratio = _in_range(area_ratio, s, "area_ratio", "area_ratio")
    if not 0 <= ratio < 1:
        raise ValueError(f"drop_by_area: area_ratio must be in [0, 1), got {ratio}")
    box_w, box_h = int(width * ratio), int(height * ratio)
    x0 = int(_draw(s, "area_x") * (width - box_w))
    y0 = int(_draw(s, "area_y") * (height - box_h))
    return drop_box(events, x0, y0, box_w, box_h)


# ---------------------------------------------------------------------------------------------
# Geometry and polarity


def crop(events: Events, x0: int, y0: int, width: int, height: int) -> Events:
    """Keeps ``[x0, x0 + width) × [y0, y0 + height)`` and shifts it to the origin."""
    cols = columns(events)
    x, y = cols[1].astype(np.int64), cols[2].astype(np.int64)
    inside = (x >= x0) & (x < x0 + width) & (y >= y0) & (y < y0 + height)
    return _rebuild(events, cols[0][inside], (x[inside] - x0).astype(np.uint16), (y[inside] - y0).astype(np.uint16),
                    cols[3][inside], np.flatnonzero(inside))


def random_crop(events: Events, sensor_size: SensorSize, target_size: tuple[int, int], *,
                seed: int | None = None) -> Events:
    """tonic's ``RandomCrop``: origin ``int(u * (W - target_w))``, likewise in y, then :func:`crop`."""
    width, height = _sensor(sensor_size)
    target_w, target_h = int(target_size[0]), int(target_size[1])
    if not (0 < target_w <= width and 0 < target_h <= height):
        raise ValueError(f"random_crop: target_size {target_size} does not fit in the sensor {width}x{height}")
    s = _seed(seed)
    x0 = int(_draw(s, "crop_x") * (width - target_w))
    y0 = int(_draw(s, "crop_y") * (height - target_h))
    return crop(events, x0, y0, target_w, target_h)


def _flip(events: Events, sensor_size: SensorSize, p: float, seed: int | None, axis: int) -> Events:
    if _draw(_seed(seed), "flip_lr" if axis == 1 else "flip_ud") > _probability(p):  # tonic flips when rand() <= p
        return events
    cols = list(columns(events))
    width, height = _sensor(sensor_size)
    inside = (cols[1] < width) & (cols[2] < height)  # an event off the sensor has no mirror image
    rows = None
    if not inside.all():
        cols, rows = [column[inside] for column in cols], np.flatnonzero(inside)
    cols[axis] = ((width, height)[axis - 1] - 1 - cols[axis].astype(np.int64)).astype(np.uint16)
    return _rebuild(events, *cols, rows)


def flip_lr(events: Events, sensor_size: SensorSize, p: float = 0.5, *, seed: int | None = None) -> Events:
    """tonic's ``RandomFlipLR``: with probability ``p``, ``x' = W - 1 - x`` (events off the
    sensor are dropped when it flips)."""
    return _flip(events, sensor_size, p, seed, 1)


def flip_ud(events: Events, sensor_size: SensorSize, p: float = 0.5, *, seed: int | None = None) -> Events:
    """tonic's ``RandomFlipUD``: with probability ``p``, ``y' = H - 1 - y`` (events off the
    sensor are dropped when it flips)."""
    return _flip(events, sensor_size, p, seed, 2)


def flip_polarity(events: Events, p: float = 0.5, *, seed: int | None = None) -> Events:
    """tonic's ``RandomFlipPolarity``: with probability ``p``, every event's polarity is inverted
    (all of them together, as tonic's code does, whatever its docstring says)."""
    if _draw(_seed(seed), "flip_p") > _probability(p):
        return events
    t, x, y, pol = columns(events)
    return _rebuild(events, t, x, y, (pol == 0).astype(np.uint8))


# ---------------------------------------------------------------------------------------------
# Time


def time_skew(events: Events, coefficient: Range, offset: Range = 0, *, seed: int | None = None) -> Events:
    """tonic's ``TimeSkew``: ``t' = trunc(t * coefficient + offset)`` in float64 (tuples drawn in
    [low, high))."""
    s = _seed(seed)
    c, o = _in_range(coefficient, s, "skew_c", "coefficient"), _in_range(offset, s, "skew_o", "offset")
    t, x, y, p = columns(events)
    skewed = t * c + o
    if not np.all((skewed >= -(2.0**63)) & (skewed < 2.0**63)):  # NaN included: the cast would make garbage
        raise ValueError(f"time_skew: t * {c} + {o} leaves the int64 range of times")
    return _rebuild(events, skewed.astype(np.int64), x, y, p)


def time_reversal(events: Events, p: float = 0.5, flip_polarities: bool = True, *,
                  seed: int | None = None) -> Events:
    """tonic's ``RandomTimeReversal``: with probability ``p`` (``u < p``), ``t' = max(t) - t``,
    the order reversed, and the polarities inverted when ``flip_polarities``."""
    t, x, y, pol = columns(events)
    if len(t) == 0 or _draw(_seed(seed), "reverse") >= _probability(p):
        return events
    new_p = (pol == 0).astype(np.uint8) if _args.flag(flip_polarities, "flip_polarities") else pol
    if int(t.max()) - int(t.min()) > _args.INT64_MAX:  # max(t) - t would wrap in int64
        raise ValueError("time_reversal: the times span more than 2^63 - 1 µs, so max(t) - t does not fit in int64")
    return _rebuild(events, (t.max() - t)[::-1], x[::-1], y[::-1], new_p[::-1], np.arange(len(t))[::-1])


def time_jitter(events: Events, std: float = 1, clip_negative: bool = True, sort_timestamps: bool = False, *,
                seed: int | None = None, index_offset: int = 0) -> Events:
    """tonic's ``TimeJitter``: ``t' = trunc(t + N(0, std))``; ``clip_negative`` drops ``t' < 0``;
    ``sort_timestamps`` sorts by the new times (stably; tonic's quicksort is not stable)."""
    t, x, y, p = columns(events)
    jittered = np.empty_like(t)
    _kernels.time_jitter(t, _args.real(std, "std"), _seed(seed), _index_offset(index_offset), jittered)
    keep = jittered >= 0 if _args.flag(clip_negative, "clip_negative") else np.ones(len(t), bool)
    t, x, y, p, rows = jittered[keep], x[keep], y[keep], p[keep], np.flatnonzero(keep)
    if _args.flag(sort_timestamps, "sort_timestamps"):
        order = np.argsort(t, kind="stable")
        t, x, y, p, rows = t[order], x[order], y[order], p[order], rows[order]
    return _rebuild(events, t, x, y, p, rows)


def spatial_jitter(events: Events, sensor_size: SensorSize, var_x: float = 1, var_y: float = 1,
                   sigma_xy: float = 0, clip_outliers: bool = False, *, seed: int | None = None,
                   index_offset: int = 0) -> Events:
    """tonic's ``SpatialJitter``: ``(dx, dy) ~ N(0, [[var_x, sigma_xy], [sigma_xy, var_y]])``,
    ``x' = trunc(x + dx)`` (truncation toward zero, as tonic's cast: a -0.5 pixel bias);
    ``clip_outliers`` drops events that leave the sensor. Without it, a dict result has int32
    coordinates (they may be negative); a structured array casts them into its own fields."""
    width, height = _sensor(sensor_size)
    t, x, y, p = columns(events)
    new_x, new_y = np.empty(len(t), np.int32), np.empty(len(t), np.int32)
    _kernels.spatial_jitter(x, y, _args.real(var_x, "var_x"), _args.real(var_y, "var_y"),
                            _args.real(sigma_xy, "sigma_xy"), _seed(seed), _index_offset(index_offset), new_x, new_y)
    rows = None
    if _args.flag(clip_outliers, "clip_outliers"):
        inside = (new_x >= 0) & (new_x < width) & (new_y >= 0) & (new_y < height)
        t, p, rows = t[inside], p[inside], np.flatnonzero(inside)
        new_x, new_y = new_x[inside].astype(np.uint16), new_y[inside].astype(np.uint16)
    return _rebuild(events, t, new_x, new_y, p, rows)


def uniform_noise(events: Events, sensor_size: SensorSize, n: int | tuple[int, int], *,
                  seed: int | None = None) -> Events:
    """tonic's ``UniformNoise``: adds ``n`` events (a tuple: ``int`` of a draw in [n0, n1)) with
    x, y uniform on the sensor, t uniform in ``[min t, max t)``, and polarity uniform on {0, 1}
    (tonic's draws a float in [0, 2) and casts it to bool, so nearly all its noise is ON), then
    sorts by time (stably: input events before noise at equal times). Empty input is returned as is."""
    width, height = _sensor(sensor_size)
    t, x, y, p = columns(events)
    if len(t) == 0:
        return events
    s = _seed(seed)
    count = int(_in_range(n, s, "noise_n", "n")) if isinstance(n, tuple) else _args.whole(n, "n", 0)
    if count < 0:
        raise ValueError(f"uniform_noise: n must not be negative, got {count} from {n!r}")
    noise = (np.empty(count, np.int64), np.empty(count, np.uint16), np.empty(count, np.uint16),
             np.empty(count, np.uint8))
    _kernels.uniform_noise_into(width, height, int(t.min()), int(t.max()), s, 0, *noise)
    merged = [np.concatenate((a, b)) for a, b in zip((t, x, y, p), noise)]
    order = np.argsort(merged[0], kind="stable")
    rows = np.concatenate((np.arange(len(t)), np.full(count, -1)))[order]  # noise rows: -1
    return _rebuild(events, *(column[order] for column in merged), rows)
