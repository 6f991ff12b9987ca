"""evlib 0.13's ``evlib.representations``: long-format (one row per non-empty cell) Polars
frames over its event frames (columns ``x``, ``y``, ``t`` Duration, ``polarity``), with its
names, defaults, binning rules and output schemas. Each ``create_*`` function (and its aliases)
collects and returns a DataFrame, as evlib 0.13.2's do (``engine`` is passed to ``collect``);
the ``densify_*`` functions turn such a frame into a dense NumPy tensor.

Where evlib 0.13.2 leaves the row order of a result undefined (a Polars ``group_by``), rows
here are sorted by the result's keys; :func:`time_surface`, which raises in 0.13.2 on every
frame it loads, computes what it documents (docs/compatibility.md). :mod:`evlib.ops` computes
the dense tensors of the processing layer (E2VID and tonic voxel grids, RVT histograms).
"""

from __future__ import annotations

from typing import Literal, Union

import numpy as np
import polars as pl
from numpy.typing import NDArray

EngineType = Union[Literal["auto", "in-memory", "streaming", "gpu"], pl.GPUEngine]
EventsInput = Union[pl.LazyFrame, pl.DataFrame]


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


def create_voxel_grid(
    events: EventsInput,
    height: int,
    width: int,
    n_time_bins: int = 5,
    engine: EngineType = "auto",
) -> pl.DataFrame:
    """evlib 0.13.2's voxel grid, long format: each event (sorted by time) at normalised time
    ``t_norm`` = (t - t_min) / (t_max - t_min) * n_time_bins (0 for a zero span) adds ±1 (+1 for
    a polarity above 0) split linearly between bins floor(t_norm) and the next one, each kept
    only below ``n_time_bins`` (so events at t_max add nothing: 0.13.2's rule, not E2VID's,
    which :func:`evlib.ops.voxel_grid` has). Columns ``x``, ``y``, ``time_bin`` Int32,
    ``contribution`` Float64 per cell, including zero contributions; rows sorted by
    ``(x, y, time_bin)`` (evlib 0.13.2 leaves them in no defined order)."""
    t_us = pl.col("t").cast(pl.Int64).cast(pl.Float64)
    span = t_us.max() - t_us.min()
    t_norm = pl.when(span > 0).then((t_us - t_us.min()) / span * n_time_bins).otherwise(0.0)
    sign = pl.when(pl.col("polarity") > 0).then(1.0).otherwise(-1.0)
    split = (
        _lazy(events)
        .sort("t", maintain_order=True)
        .with_columns(t_norm.alias("t_norm"), sign.alias("sign"))
        .with_columns(pl.col("t_norm").floor().alias("floor"))
        .with_columns(pl.col("floor").cast(pl.Int32).alias("time_bin"), (pl.col("t_norm") - pl.col("floor")).alias("frac"))
        .filter(_on_sensor(width, height))
    )
    lower = split.filter(pl.col("time_bin") < n_time_bins).select(
        "x", "y", "time_bin", (pl.col("sign") * (1.0 - pl.col("frac"))).alias("contribution")
    )
    upper = split.filter(pl.col("time_bin") + 1 < n_time_bins).select(
        "x", "y", (pl.col("time_bin") + 1).alias("time_bin"), (pl.col("sign") * pl.col("frac")).alias("contribution")
    )
    keys = ["x", "y", "time_bin"]
    return (
        pl.concat([lower, upper])
        .group_by(keys)
        .agg(pl.col("contribution").sum().cast(pl.Float64))
        .sort(keys)
        .collect(engine=engine)
    )


def voxel_grid(
    events: EventsInput, height: int, width: int, n_time_bins: int = 5, engine: EngineType = "auto"
) -> pl.DataFrame:
    """:func:`create_voxel_grid` (evlib 0.13.2's other name for it)."""
    return create_voxel_grid(events, height, width, n_time_bins, engine)


def densify_voxel_grid(df: pl.DataFrame, n_time_bins: int, height: int, width: int) -> NDArray[np.float64]:
    """The ``(n_time_bins, 1, height, width)`` float64 tensor of a :func:`create_voxel_grid`
    frame (contributions of repeated cells add up, in row order)."""
    dense = np.zeros((n_time_bins, 1, height, width), dtype=np.float64)
    if df.height:
        index = tuple(df[name].to_numpy().astype(np.int64) for name in ("time_bin", "y", "x"))
        np.add.at(dense[:, 0], index, df["contribution"].to_numpy().astype(np.float64))
    return dense


def create_time_surface(
    events: EventsInput,
    height: int,
    width: int,
    dt: float,
    tau: float,
    engine: EngineType = "auto",
) -> pl.DataFrame:
    """The last event time (µs, Float64 ``last_t``) per ``(slice, polarity, y, x)``, the
    slice-local half of tonic's ``ToTimesurface`` as evlib 0.13.2 splits it: ``slice`` =
    floor((t - t_min) / dt) (Int64), kept below tonic's slice count max(floor((span - dt) / dt)
    + 1, 1) (the incomplete last window dropped); ``polarity`` the channel (Int8, 1 above 0).
    ``tau`` is unused here (:func:`densify_time_surface` applies the decay). Rows sorted by the
    first four columns."""
    del tau
    t_us = pl.col("t").cast(pl.Int64).cast(pl.Float64)
    sliced = (
        _lazy(events)
        .sort("t", maintain_order=True)
        .with_columns(
            t_us.alias("last_t"),
            (pl.col("polarity") > 0).cast(pl.Int8).alias("channel"),
            ((t_us - t_us.min()) / dt).floor().cast(pl.Int64).alias("slice"),
        )
    )
    span = t_us.max() - t_us.min()
    n_slices = sliced.select(pl.max_horizontal(((span - dt) / dt).floor().cast(pl.Int64) + 1, 1)).collect().item()
    kept = sliced.filter(_on_sensor(width, height) & pl.col("slice").is_between(0, n_slices - 1))
    keys = ["slice", "polarity", "y", "x"]
    return (
        kept.drop("polarity")
        .rename({"channel": "polarity"})
        .group_by(keys)
        .agg(pl.col("last_t").max())
        .sort(keys)
        .collect(engine=engine)
    )


def densify_time_surface(
    df: pl.DataFrame,
    n_slices: int,
    n_polarities: int,
    height: int,
    width: int,
    dt: float,
    tau: float,
    start_t: float,
) -> NDArray[np.float64]:
    """tonic's ``(n_slices, n_polarities, height, width)`` time surfaces from a
    :func:`create_time_surface` frame: a cell's memory at slice i is its latest ``last_t`` over
    slices 0..i, and the surface exp((memory - ((i + 1) * dt + start_t)) / tau) (0 where the
    cell has no event yet)."""
    memory = np.full((n_slices, n_polarities, height, width), -np.inf, dtype=np.float64)
    if df.height:
        index = tuple(df[name].to_numpy().astype(np.int64) for name in ("slice", "polarity", "y", "x"))
        memory[index] = df["last_t"].to_numpy().astype(np.float64)
    memory = np.maximum.accumulate(memory, axis=0)
    slice_end = (np.arange(n_slices, dtype=np.float64) + 1.0) * dt + start_t
    return np.exp(-(slice_end[:, None, None, None] - memory) / tau)


def time_surface(
    events: EventsInput, height: int, width: int, tau: float = 100000.0, engine: EngineType = "auto"
) -> pl.DataFrame:
    """Per ``(x, y, polarity)`` on the sensor: the last event time ``last_timestamp`` (the
    frame's ``t`` type), ``event_count`` (UInt32) and ``surface_value`` = exp(-(T - last) / tau)
    with T the latest event time of all pixels (the sensor's or not) and times in µs. evlib
    0.13.2 meant this and raises on every frame it loads (``exp`` of a Duration); rows sorted
    by ``(x, y, polarity)``."""
    keys = ["x", "y", "polarity"]
    last = pl.col("last_timestamp")
    age_us = (last.max() - last).cast(pl.Int64).cast(pl.Float64)
    return (
        _lazy(events)
        .sort("t", maintain_order=True)
        .group_by(keys)
        .agg(pl.col("t").last().alias("last_timestamp"), pl.len().alias("event_count"))
        .with_columns((-age_us / tau).exp().alias("surface_value"))
        .filter(_on_sensor(width, height))
        .sort(keys)
        .collect(engine=engine)
    )

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
