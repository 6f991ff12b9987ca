"""evlib 0.13's ``evlib.filtering``: row filters over its event frames (columns ``x``, ``y``,
``t`` Duration, ``polarity``, as :func:`evlib.load_events` returns them).

Every function takes a Polars LazyFrame or DataFrame and returns a LazyFrame, as evlib 0.13.2's
do, with its argument names, defaults and edges: time bounds in seconds, both inclusive; ROI
bounds inclusive; hot pixels by a percentile of the per-pixel counts; noise by a refractory
period measured from the pixel's previous event. Where evlib 0.13.2 is wrong this module is
right (docs/compatibility.md lists each case): time bounds are exact in microseconds (0.13.2
multiplies float seconds by 10^6 and loses events on the rounding), and ``filter_noise`` sorts
stably, so that of two events with the same time at a pixel the first one in the input is kept.

The ``engine`` argument is accepted and, as in evlib 0.13.2, does not change the result: every
function stays lazy and the engine is chosen by whoever collects the frame.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Callable, Literal, Optional, Union

import polars as pl

__all__ = [
    "filter_by_polarity",
    "filter_by_roi",
    "filter_by_time",
    "filter_hot_pixels",
    "filter_multiple_rois",
    "filter_noise",
    "preprocess_events",
]

EngineType = Union[Literal["auto", "in-memory", "streaming", "gpu"], pl.GPUEngine]
EventsInput = Union[pl.LazyFrame, pl.DataFrame]
Roi = tuple[int, int, int, int]

DEFAULT_HOT_PIXEL_PERCENTILE = 99.9
DEFAULT_REFRACTORY_PERIOD_US = 1000.0


def _lazy(events: EventsInput) -> pl.LazyFrame:
    return events.lazy() if isinstance(events, pl.DataFrame) else events


def _bound_us(seconds: float, rounding: Callable[[Decimal], int]) -> Union[int, float]:
    """``seconds`` in µs, exactly as written (the shortest decimal of the float: 0.000249 s is
    249 µs, not the 248.99999999999997 a float product gives), rounded inwards to a whole µs.
    A bound beyond the Int64 µs range (or infinite, or NaN) stays a float, as in evlib 0.13.2."""
    value = float(seconds)
    if not math.isfinite(value) or abs(value) >= 9.2e12:  # 2**63 µs is about 9.22e12 s
        return value * 1_000_000
    return rounding(Decimal(repr(value)) * 1_000_000)


def _t_us() -> pl.Expr:
    return pl.col("t").dt.total_microseconds()


def filter_by_time(
    events: EventsInput,
    t_start: Optional[float] = None,
    t_end: Optional[float] = None,
    engine: EngineType = "auto",
) -> pl.LazyFrame:
    """The events with ``t_start <= t <= t_end`` (seconds, both inclusive; None: unbounded)."""
    frame = _lazy(events)
    condition: Optional[pl.Expr] = None
    if t_start is not None:
        condition = _t_us() >= _bound_us(t_start, math.ceil)
    if t_end is not None:
        upper = _t_us() <= _bound_us(t_end, math.floor)
        condition = upper if condition is None else condition & upper
    return frame if condition is None else frame.filter(condition)


def _check_roi(x_min: int, x_max: int, y_min: int, y_max: int) -> None:
    if x_min > x_max:
        raise ValueError(f"invalid ROI: x_min ({x_min}) > x_max ({x_max})")
    if y_min > y_max:
        raise ValueError(f"invalid ROI: y_min ({y_min}) > y_max ({y_max})")


def _inside(x_min: int, x_max: int, y_min: int, y_max: int) -> pl.Expr:
    return pl.col("x").is_between(x_min, x_max) & pl.col("y").is_between(y_min, y_max)


def filter_by_roi(
    events: EventsInput,
    x_min: int,
    x_max: int,
    y_min: int,
    y_max: int,
    engine: EngineType = "auto",
) -> pl.LazyFrame:
    """The events with ``x_min <= x <= x_max`` and ``y_min <= y <= y_max`` (all inclusive).

    Raises ValueError when a minimum exceeds its maximum.
    """
    _check_roi(x_min, x_max, y_min, y_max)
    return _lazy(events).filter(_inside(x_min, x_max, y_min, y_max))


def filter_multiple_rois(events: EventsInput, rois: list[Roi], engine: EngineType = "auto") -> pl.LazyFrame:
    """The events inside any of ``rois``, each ``(x_min, x_max, y_min, y_max)`` inclusive (no
    ROI: every event). As in evlib 0.13.2 an inverted ROI is not an error here: it holds nothing."""
    frame = _lazy(events)
    if not rois:
        return frame
    conditions = [_inside(*roi) for roi in rois]
    return frame.filter(pl.any_horizontal(conditions))


def filter_by_polarity(
    events: EventsInput, polarity: Union[int, list[int]], engine: EngineType = "auto"
) -> pl.LazyFrame:
    """The events whose ``polarity`` is one of the given values (0/1 or -1/1, as the frame holds
    them; floats are truncated to integers)."""
    values = [int(polarity)] if isinstance(polarity, (int, float)) else [int(p) for p in polarity]
    return _lazy(events).filter(pl.col("polarity").is_in(values))


def filter_hot_pixels(
    events: EventsInput,
    threshold_percentile: Optional[float] = None,
    engine: EngineType = "auto",
) -> pl.LazyFrame:
    """Drops every event of the pixels whose event count exceeds the ``threshold_percentile``
    (default 99.9) of the counts of the pixels that have events. The percentile is Polars'
    ``quantile`` with its default (nearest-rank) interpolation, as in evlib 0.13.2; polarity
    does not split a pixel. The input order of the kept events is preserved."""
    if threshold_percentile is None:
        threshold_percentile = DEFAULT_HOT_PIXEL_PERCENTILE
    frame = _lazy(events)
    counts = pl.len().over("x", "y")
    pixel_counts = frame.group_by("x", "y").agg(pl.len().alias("count"))
    threshold = pixel_counts.select(pl.col("count").quantile(threshold_percentile / 100.0).alias("threshold"))
    return (
        frame.join(threshold, how="cross")
        .filter(~(counts > pl.col("threshold")).fill_null(False))
        .drop("threshold")
    )


def filter_noise(
    events: EventsInput,
    method: Optional[str] = None,
    refractory_period_us: Optional[float] = None,
    engine: EngineType = "auto",
) -> pl.LazyFrame:
    """Refractory filter (``method="refractory"``, the only one): sorts the events by time
    (stably) and keeps an event when it is its pixel's first or when more than
    ``refractory_period_us`` (default 1000) µs passed since the pixel's previous event, kept or
    not, of either polarity. Raises ValueError for another method."""
    if method is None:
        method = "refractory"
    if refractory_period_us is None:
        refractory_period_us = DEFAULT_REFRACTORY_PERIOD_US
    if method != "refractory":
        raise ValueError(f"Unknown noise filtering method: {method!r}. Only 'refractory' is implemented.")
    t = _t_us()
    since_previous = t - t.shift(1).over("x", "y")
    return (
        _lazy(events)
        .sort("t", maintain_order=True)
        .filter(since_previous.is_null() | (since_previous > refractory_period_us))
    )


def preprocess_events(
    events: EventsInput,
    t_start: Optional[float] = None,
    t_end: Optional[float] = None,
    roi: Optional[Roi] = None,
    polarity: Optional[Union[int, list[int]]] = None,
    remove_hot_pixels: bool = True,
    hot_pixel_threshold: float = DEFAULT_HOT_PIXEL_PERCENTILE,
    denoise: bool = True,
    refractory_period_us: float = DEFAULT_REFRACTORY_PERIOD_US,
    engine: EngineType = "auto",
) -> pl.LazyFrame:
    """The filters in evlib 0.13.2's order: time, ROI ``(x_min, x_max, y_min, y_max)``,
    polarity, hot pixels (on what is left), refractory noise filter. Returns a LazyFrame (a
    DataFrame given with every step off is made lazy)."""
    processed = _lazy(events)
    if t_start is not None or t_end is not None:
        processed = filter_by_time(processed, t_start=t_start, t_end=t_end, engine=engine)
    if roi is not None:
        x_min, x_max, y_min, y_max = roi
        processed = filter_by_roi(processed, x_min=x_min, x_max=x_max, y_min=y_min, y_max=y_max, engine=engine)
    if polarity is not None:
        processed = filter_by_polarity(processed, polarity=polarity, engine=engine)
    if remove_hot_pixels:
        processed = filter_hot_pixels(processed, threshold_percentile=hot_pixel_threshold, engine=engine)
    if denoise:
        processed = filter_noise(
            processed, method="refractory", refractory_period_us=refractory_period_us, engine=engine
        )
    return processed
