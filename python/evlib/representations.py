"""evlib 0.13's ``evlib.representations``: long-format (one row per non-empty cell) Polars
frames over its event frames (columns ``x``, ``y``, ``t`` Duration, ``polarity``), with its
names, defaults, binning rules and output schemas. Each function collects and returns a
DataFrame, as evlib 0.13.2's do; ``engine`` is passed to ``collect``.

Available: :func:`create_stacked_histogram` (with its aliases :func:`preprocess_for_detection`
and :func:`benchmark_vs_rvt`), :func:`create_event_frame` and :func:`densify_event_frame`,
:func:`event_histogram`, :func:`create_mixed_density_stack`. The float representations (voxel
grids, time surfaces) raise :class:`NotImplementedError` for now; :mod:`evlib.ops` computes the
same tensors densely.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, NoReturn, Union

import numpy as np
import polars as pl
from numpy.typing import NDArray

EngineType = Union[Literal["auto", "in-memory", "streaming", "gpu"], pl.GPUEngine]
EventsInput = Union[pl.LazyFrame, pl.DataFrame]


def pending(module: str, name: str) -> Callable[..., NoReturn]:
    """A stand-in for evlib 0.13's ``module.name`` that raises NotImplementedError when called."""

    def not_implemented(*args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            f"evlib.{module}.{name} comes with evlib's processing layer (C++ kernels), which this "
            "version does not have yet"
        )

    not_implemented.__name__ = not_implemented.__qualname__ = name
    not_implemented.__doc__ = f"evlib 0.13's ``{name}``: not available yet (raises NotImplementedError)."
    return not_implemented


def _lazy(events: EventsInput) -> pl.LazyFrame:
    return events.lazy() if isinstance(events, pl.DataFrame) else events


def _t_us() -> pl.Expr:
    return pl.col("t").cast(pl.Int64)


def _on_sensor(width: int, height: int) -> pl.Expr:
    return pl.col("x").is_between(0, width - 1) & pl.col("y").is_between(0, height - 1)


def _counts(frame: pl.LazyFrame, keys: list[str], engine: EngineType) -> pl.DataFrame:
    """Events per ``keys`` cell (UInt32 ``count``), rows sorted by ``keys``."""
    return frame.group_by(keys).agg(pl.len().alias("count")).sort(keys).collect(engine=engine)


def create_stacked_histogram(
    events: EventsInput,
    height: int,
    width: int,
    bins: int = 10,
    window_duration_ms: float = 50.0,
    engine: EngineType = "auto",
) -> pl.DataFrame:
    """Event counts per ``(time_bin, polarity, y, x)`` in windows of ``window_duration_ms``
    from the first event's time (of all events, on the sensor or not): ``time_bin`` =
    floor((t - t_min) / window) as Int32, kept for ``0 <= time_bin < bins``; events outside
    ``width`` x ``height`` dropped; ``polarity`` as the frame holds it. Columns ``time_bin``
    Int32, ``polarity``, ``y``, ``x``, ``count`` UInt32, sorted by the first four. (evlib
    0.13.2's own window rule, not RVT's.)"""
    window_us = window_duration_ms * 1000
    time_bin = ((_t_us() - _t_us().min()) // window_us).cast(pl.Int32).alias("time_bin")
    binned = _lazy(events).with_columns(time_bin).filter(
        _on_sensor(width, height) & pl.col("time_bin").is_between(0, bins - 1)
    )
    return _counts(binned, ["time_bin", "polarity", "y", "x"], engine)


def preprocess_for_detection(
    events: EventsInput, height: int, width: int, bins: int = 5, engine: EngineType = "auto"
) -> pl.DataFrame:
    """:func:`create_stacked_histogram` with ``bins`` (default 5) windows of 50 ms."""
    return create_stacked_histogram(events, height, width, bins, engine=engine)


def benchmark_vs_rvt(events: EventsInput, height: int, width: int, engine: EngineType = "auto") -> pl.DataFrame:
    """:func:`create_stacked_histogram` with 20 windows of 50 ms (the name is evlib 0.13.2's)."""
    return create_stacked_histogram(events, height, width, bins=20, engine=engine)


def create_event_frame(
    events: EventsInput,
    height: int,
    width: int,
    n_time_bins: int = 10,
    engine: EngineType = "auto",
) -> pl.DataFrame:
    """Event counts per ``(time_bin, polarity, y, x)`` over ``n_time_bins`` bins of the whole
    input, tonic's ``ToFrame(n_time_bins=...)`` slicing: bin width ``(t_max - t_min) //
    n_time_bins`` µs, ``time_bin`` = floor((t - t_min) / width) (Float64), events at or past
    the last bin's end dropped (the last event among them, unless the span divides evenly); all
    events in bin 0 when the width is 0. ``polarity`` is the channel: 1 for a value above 0,
    else 0 (Int8). Columns ``time_bin`` Int32, ``polarity`` Int8, ``y``, ``x``, ``count``
    UInt32, sorted by the first four."""
    t_us = _t_us().cast(pl.Float64)
    bin_width = (t_us.max() - t_us.min()).floordiv(n_time_bins)
    time_bin = (
        pl.when(bin_width > 0).then(((t_us - t_us.min()) / bin_width).floor()).otherwise(0.0).cast(pl.Int32)
    )
    channel = (pl.col("polarity") > 0).cast(pl.Int8)
    binned = (
        _lazy(events)
        .with_columns(time_bin.alias("time_bin"), channel.alias("channel"))
        .filter(_on_sensor(width, height) & pl.col("time_bin").is_between(0, n_time_bins - 1))
        .drop("polarity")
        .rename({"channel": "polarity"})
    )
    return _counts(binned, ["time_bin", "polarity", "y", "x"], engine)


def densify_event_frame(
    df: pl.DataFrame, n_time_bins: int, n_polarities: int, height: int, width: int
) -> NDArray[np.int64]:
    """The ``(n_time_bins, n_polarities, height, width)`` int64 tensor of a
    :func:`create_event_frame` frame (counts of repeated cells add up)."""
    dense = np.zeros((n_time_bins, n_polarities, height, width), dtype=np.int64)
    if df.height:
        index = tuple(df[name].to_numpy().astype(np.int64) for name in ("time_bin", "polarity", "y", "x"))
        np.add.at(dense, index, df["count"].to_numpy().astype(np.int64))
    return dense


def event_histogram(events: EventsInput, height: int, width: int, engine: EngineType = "auto") -> pl.DataFrame:
    """Per ``(x, y, polarity)`` on the sensor: ``count`` (UInt32) and ``t_us_sum`` (Int64, the sum
    of the event times in µs). Rows are sorted by ``(x, y, polarity)``; evlib 0.13.2 leaves
    them in no defined order."""
    on_sensor = _lazy(events).filter(_on_sensor(width, height))
    keys = ["x", "y", "polarity"]
    return (
        on_sensor.group_by(keys)
        .agg(pl.len().alias("count"), _t_us().sum().alias("t_us_sum"))
        .sort(keys)
        .collect(engine=engine)
    )


def create_mixed_density_stack(
    events: EventsInput, height: int, width: int, engine: EngineType = "auto"
) -> pl.DataFrame:
    """Per pixel ``(x, y)`` on the sensor: ``polarity_sum`` (the sum of the polarity values, in
    the polarity column's type as Polars sums it) and ``count`` (UInt32). Rows are sorted by
    ``(x, y)``; evlib 0.13.2 leaves them in no defined order."""
    on_sensor = _lazy(events).filter(_on_sensor(width, height))
    return (
        on_sensor.group_by("x", "y")
        .agg(pl.col("polarity").sum().alias("polarity_sum"), pl.len().alias("count"))
        .sort("x", "y")
        .collect(engine=engine)
    )


create_voxel_grid = pending("representations", "create_voxel_grid")
voxel_grid = pending("representations", "voxel_grid")
densify_voxel_grid = pending("representations", "densify_voxel_grid")
create_time_surface = pending("representations", "create_time_surface")
densify_time_surface = pending("representations", "densify_time_surface")
time_surface = pending("representations", "time_surface")

__all__ = [
    "benchmark_vs_rvt",
    "create_event_frame",
    "create_mixed_density_stack",
    "create_stacked_histogram",
    "create_time_surface",
    "create_voxel_grid",
    "densify_event_frame",
    "densify_time_surface",
    "densify_voxel_grid",
    "event_histogram",
    "preprocess_for_detection",
    "time_surface",
    "voxel_grid",
]
