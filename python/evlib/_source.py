"""The Polars IO source: a lazy frame over a file whose projection, row limit and the time,
region and polarity bounds found in its predicate are pushed into the C++ scan.

``scan_frame`` is the machinery behind :func:`evlib.scan_events` (native layout) and the
compatibility layer's ``load_events`` (evlib 0.13's layout)."""

from __future__ import annotations

import math

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Optional

import polars as pl
from polars.io.plugins import register_io_source

from . import _core
from ._config import LoadConfig, ReadSettings, split_options
from ._progress import Progress
from ._pushdown import Bounds, Interval, bounds_of
from ._times import RegionLike, check_region

Layout = Literal["native", "compat"]

NATIVE_SCHEMA: dict[str, pl.DataType] = {"t": pl.Int64(), "x": pl.UInt16(), "y": pl.UInt16(), "p": pl.UInt8()}
"""The C++ table's schema: t µs in the file's clock, p 1 = ON, 0 = OFF."""
COMPAT_SCHEMA: dict[str, pl.DataType] = {"x": pl.Int16(), "y": pl.Int16(), "t": pl.Duration("us"), "polarity": pl.Int8()}
"""evlib 0.13's schema (polarity mapped by ``polarity_values``)."""

_COORD_END = 0x10000
# Typical payload bytes per event, to estimate a file's events from its size without decoding
# (the streaming threshold): dense EVT 3.0 is ~2.3, EVT 2.0 4, DAT 8, NumPy records 13.
_BYTES_PER_EVENT = {"evt3": 2, "evt2": 4, "evt21": 2, "dat": 8, "hdf5": 4, "aedat4": 2, "text": 16, "npy": 13, "npz": 4}
_INT16_MAX = 0x7FFF


def schema_of(layout: Layout) -> dict[str, pl.DataType]:
    return dict(NATIVE_SCHEMA if layout == "native" else COMPAT_SCHEMA)


@dataclass(frozen=True)
class Selection:
    """The events a scan keeps, in the C++ domain: t in [t0, t1), [x0, x1) x [y0, y1), p in
    polarities. Exact in C++ (the decoder's filter), so it may also carry user arguments."""

    t0: Optional[int] = None
    t1: Optional[int] = None
    x0: int = 0
    y0: int = 0
    x1: int = _COORD_END
    y1: int = _COORD_END
    polarities: frozenset[int] = frozenset((0, 1))

    def intersect(self, other: "Selection") -> "Selection":
        def tighter(a: Optional[int], b: Optional[int], pick: Any) -> Optional[int]:
            return b if a is None else a if b is None else pick(a, b)

        return Selection(
            tighter(self.t0, other.t0, max),
            tighter(self.t1, other.t1, min),
            max(self.x0, other.x0),
            max(self.y0, other.y0),
            min(self.x1, other.x1),
            min(self.y1, other.y1),
            self.polarities & other.polarities,
        )

    def empty(self) -> bool:
        return (
            (self.t0 is not None and self.t1 is not None and self.t0 >= self.t1)
            or self.x0 >= self.x1
            or self.y0 >= self.y1
            or not self.polarities
        )

    def restricts(self) -> bool:
        return self != Selection()

    def apply(self, scan: _core.Scan) -> _core.Scan:
        if self.t0 is not None or self.t1 is not None:
            scan = scan.time(_int64_bound(self.t0, math.floor, -(2**63)), _int64_bound(self.t1, math.ceil, 2**63 - 1))
        if (self.x0, self.y0, self.x1, self.y1) != (0, 0, _COORD_END, _COORD_END):
            scan = scan.roi(self.x0, self.y0, self.x1, self.y1)
        if len(self.polarities) == 1:
            scan = scan.polarity(next(iter(self.polarities)))
        return scan


def _int64_bound(value: Optional[float], to_int: Any, default: int) -> int:
    """A pushed-down time bound as the scan's int64: rounded outwards (the full predicate is
    applied to the batches after), clamped to int64 (a valid `pl.col("t") < 1e19` failed), no
    bound for none or NaN."""
    if value is None or value != value:
        return default
    if math.isinf(value):
        return -(2**63) if value < 0 else 2**63 - 1
    return max(-(2**63), min(2**63 - 1, int(to_int(value))))


def selection_of(
    t_start_us: Optional[int] = None,
    t_end_us: Optional[int] = None,
    roi: Optional[RegionLike] = None,
    polarity: Optional[int] = None,
    polarity_values: tuple[int, int] = (0, 1),
) -> Selection:
    """A selection from arguments: [t_start_us, t_end_us), a half-open region, and a polarity
    given as one of polarity_values (native: 0 OFF, 1 ON)."""
    sel = Selection(t0=t_start_us, t1=t_end_us)
    region = check_region(roi)
    if region is not None:
        x0, y0, x1, y1 = region
        sel = replace(sel, x0=x0, y0=y0, x1=min(x1, _COORD_END), y1=min(y1, _COORD_END))
    if polarity is not None:
        sel = replace(sel, polarities=frozenset(k for k in (0, 1) if polarity_values[k] == polarity))
    return sel


def _coordinate_range(iv: Interval, compat: bool) -> tuple[int, int]:
    """[lo, hi + 1) in the native uint16 domain of a bound on x or y."""
    lo = 0 if iv.lo is None else iv.lo
    hi = _COORD_END - 1 if iv.hi is None else iv.hi
    if compat:
        # Int16 views of uint16 coordinates: values past 32767 read negative, so only a bound
        # that excludes negatives says anything about the native value.
        if lo < 0:
            return 0, _COORD_END
        hi = min(hi, _INT16_MAX)
    lo, hi = max(lo, 0), min(hi, _COORD_END - 1)
    return (lo, hi + 1) if lo <= hi else (0, 0)


def selection_from_bounds(bounds: Bounds, layout: Layout, polarity_values: tuple[int, int]) -> Selection:
    """The C++ selection implied by bounds found in a predicate over layout's columns."""
    compat = layout == "compat"
    sel = Selection()
    if bounds.impossible:
        return replace(sel, polarities=frozenset())
    t = bounds.columns.get("t")
    if t is not None:
        sel = replace(sel, t0=t.lo, t1=None if t.hi is None else t.hi + 1)
        if t.hi is not None and t.hi == 2**63 - 1:
            sel = replace(sel, t1=None)
    for axis in ("x", "y"):
        iv = bounds.columns.get(axis)
        if iv is not None:
            lo, end = _coordinate_range(iv, compat)
            sel = replace(sel, x0=lo, x1=end) if axis == "x" else replace(sel, y0=lo, y1=end)
    p = bounds.columns.get("polarity" if compat else "p")
    if p is not None:
        values = polarity_values if compat else (0, 1)
        keep = frozenset(
            k for k in (0, 1) if (p.lo is None or values[k] >= p.lo) and (p.hi is None or values[k] <= p.hi)
        )
        sel = replace(sel, polarities=keep)
    return sel


def estimated_events(scan: _core.Scan) -> float:
    """Events the file probably holds, from its payload size (no decoding)."""
    metadata = scan.metadata()
    payload = max(int(metadata["file_size"]) - int(metadata["data_offset"]), 0)
    return payload / _BYTES_PER_EVENT.get(str(metadata["format"]), 2)


class OnePiece:
    """A file below the streaming threshold decoded in one batch (in parallel when indexed),
    with the interface of a stream."""

    def __init__(self, scan: _core.Scan, options: dict[str, Any], check_sorted: bool) -> None:
        self._scan, self._options, self._check_sorted = scan, options, check_sorted
        self._stats: dict[str, int] = {}
        self.events = self.bytes_done = 0
        self.t_sorted = True

    def __iter__(self) -> Iterator[_core.Batch]:
        batch, self._stats = _core.collect(self._scan, **self._options)
        self.events, self.bytes_done = len(batch), batch.bytes_done
        if self._check_sorted:
            self.t_sorted = batch.t_non_decreasing()
        yield batch

    def stats(self) -> dict[str, int]:
        return self._stats

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class ScanRecord:
    """What one stream of an IO source did: the selection pushed into C++ and its counters
    (``stats["words"]``: words or records the decoder examined; ``bytes_done``: file offset
    reached). Kept for inspection: :func:`recent_scans`."""

    path: str
    selection: Selection
    columns: tuple[str, ...]
    events: int
    bytes_done: int
    t_sorted: bool
    stats: dict[str, int] = field(default_factory=dict)


_recent: deque[ScanRecord] = deque(maxlen=32)


def recent_scans() -> list[ScanRecord]:
    """The last streams the IO sources of this process ran, oldest first."""
    return list(_recent)


@dataclass(frozen=True)
class EventSource:
    """The callable Polars calls with ``(with_columns, predicate, n_rows, batch_size)``; each
    call opens its own C++ stream. Picklable (a lazy frame can travel to other processes)."""

    read: ReadSettings
    config: LoadConfig
    layout: Layout = "native"
    polarity_values: tuple[int, int] = (0, 1)
    selection: Selection = Selection()
    sort: bool = False

    def plan(self, predicate: pl.Expr | None) -> Selection:
        """The selection pushed into C++ for predicate (a superset of what it keeps)."""
        found = selection_from_bounds(bounds_of(predicate, set(schema_of(self.layout))), self.layout, self.polarity_values)
        return self.selection.intersect(found)

    def __call__(
        self, with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        return self._frames(with_columns, predicate, n_rows)

    def _frames(self, with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None) -> Iterator[pl.DataFrame]:
        schema = schema_of(self.layout)
        selection = self.plan(predicate)
        if selection.empty() or n_rows == 0:
            return
        needed = set(schema) if with_columns is None else set(with_columns)
        if predicate is not None:
            needed |= set(predicate.meta.root_names())
        if self.sort:
            needed.add("t")
        if not needed:  # a row count: the narrowest column carries it
            needed = {"polarity" if self.layout == "compat" else "p"}
        columns = [name for name in schema if name in needed]
        progress = Progress(self.config.progress)
        scan = selection.apply(self.read.scan(self.config))
        options: dict[str, Any] = {
            "layout": self.layout,
            "polarity_off": self.polarity_values[0],
            "polarity_on": self.polarity_values[1],
            "columns": columns,
            "progress": progress if progress.active else None,
        }
        if n_rows is None and (self._holds_everything(predicate) or estimated_events(scan) <= self.config.streaming_threshold):
            stream: Any = OnePiece(scan, options, self.sort)
        else:
            stream = scan.stream(check_sorted=self.sort, **options)

        def finish(frame: pl.DataFrame) -> pl.DataFrame:
            return frame if with_columns is None else frame.select(with_columns)

        try:
            frames = self._filtered(stream, predicate, None if self.sort else n_rows)
            if not self.sort:
                for frame in frames:
                    yield finish(frame)
                return
            # Sorted output: the batches are checked as they are decoded; only when t went
            # back somewhere are they sorted (stably). Nothing is yielded before the end, as no
            # row's place is known before then.
            held = list(frames)
            if not stream.t_sorted and held:
                held = [pl.concat(held, rechunk=False).sort("t", maintain_order=True)]
            remaining = n_rows
            for frame in held:
                if remaining is not None:
                    frame = frame.head(remaining)
                    remaining -= frame.height
                yield finish(frame)
                if remaining is not None and remaining <= 0:
                    break
        finally:
            stream.close()
            progress.close()
            _recent.append(
                ScanRecord(
                    self.read.path, selection, tuple(columns), stream.events, stream.bytes_done, stream.t_sorted,
                    dict(stream.stats()),
                )
            )

    def _holds_everything(self, predicate: pl.Expr | None) -> bool:
        """A sorted frame keeps every batch until the scan ends (no row's place is known before),
        so streaming would bound nothing: one piece writes the events straight into their place
        (in parallel with a time index) instead of into chunks of their own, about twice as fast
        for ``load_events(path).collect()``. Not with a predicate: it is applied batch by batch,
        so streaming holds only the rows it keeps, where one piece would hold every event. An
        explicit ``memory_limit`` keeps the chunks (one piece refuses a file over the limit before
        decoding), and ``streaming_threshold=0`` streams every file."""
        return (
            self.sort
            and predicate is None
            and self.config.memory_limit is None
            and self.config.streaming_threshold > 0
        )

    @staticmethod
    def _filtered(stream: Any, predicate: pl.Expr | None, n_rows: int | None) -> Iterator[pl.DataFrame]:
        """Frames of the stream's batches (zero-copy) with the full predicate applied, up to n_rows."""
        remaining = n_rows
        for batch in stream:
            frame = pl.DataFrame(batch)
            if predicate is not None:
                frame = frame.filter(predicate)
            if remaining is not None:
                frame = frame.head(remaining)
                remaining -= frame.height
            yield frame
            if remaining is not None and remaining <= 0:
                return


def scan_frame(
    path: str,
    *,
    layout: Layout = "native",
    polarity_values: tuple[int, int] = (0, 1),
    t_start_us: Optional[int] = None,
    t_end_us: Optional[int] = None,
    roi: Optional[RegionLike] = None,
    polarity: Optional[int] = None,
    sort: bool = False,
    config: LoadConfig | None = None,
    **options: Any,
) -> pl.LazyFrame:
    """A lazy frame over path whose filters reach the C++ scan.

    Args:
        path: the file.
        layout: ``"native"`` (t Int64 µs, x UInt16, y UInt16, p UInt8) or ``"compat"`` (evlib
            0.13: x Int16, y Int16, t Duration("us"), polarity Int8 with OFF -> polarity_values[0],
            ON -> polarity_values[1]).
        polarity_values: the (OFF, ON) values of the compat polarity column.
        t_start_us, t_end_us: keep t in [t_start_us, t_end_us) (µs, file clock).
        roi: keep [x0, x1) x [y0, y1).
        polarity: keep only this polarity, given in the layout's values (native: 0 or 1; compat:
            one of polarity_values).
        sort: make the frame sorted by t: marked sorted when the scan finds t non-decreasing,
            else sorted stably.
        config: streaming options (:class:`evlib.LoadConfig`); keyword arguments of the same
            names override it. Read options (``format``, ``strict``, ``width``, ...) are keywords too.

    Predicates written on the frame's columns (``t`` as integers or durations,
    ``dt.total_microseconds()``, ``is_between``, comparisons of x, y and polarity) are pushed into
    the scan as well, and the full predicate is always applied to each batch.
    """
    if layout not in ("native", "compat"):
        raise ValueError(f"layout must be 'native' or 'compat', not {layout!r}")
    read, cfg = split_options(str(path), config, options)
    values = (int(polarity_values[0]), int(polarity_values[1]))
    if layout == "native":
        values = (0, 1)
    selection = selection_of(t_start_us, t_end_us, roi, polarity, values)
    source = EventSource(read, cfg, layout, values, selection, sort)
    # The source is positional: Polars 1.x named the parameter `callable`, 2.x `io_source`.
    frame = register_io_source(source, schema=schema_of(layout), validate_schema=False, is_pure=True)
    # With sort, the source delivers t in order (sorting only when the decoded t went back).
    return frame.set_sorted("t") if sort else frame


def stream_batches(
    read: ReadSettings,
    config: LoadConfig,
    selection: Selection,
    *,
    by_count: int = 0,
    by_time: int = 0,
    columns: Sequence[str] = (),
    layout: Layout = "native",
    polarity_values: tuple[int, int] = (0, 1),
    description: str = "evlib",
) -> Iterator[_core.Batch]:
    """Batches of a selection, with the config's progress reporting."""
    progress = Progress(config.progress, description)
    if selection.empty():
        return
    stream = selection.apply(read.scan(config)).stream(
        by_count=by_count,
        by_time=by_time,
        layout=layout,
        polarity_off=polarity_values[0],
        polarity_on=polarity_values[1],
        columns=list(columns),
        progress=progress if progress.active else None,
    )
    try:
        yield from stream
    finally:
        stream.close()
        progress.close()


__all__ = [
    "COMPAT_SCHEMA",
    "NATIVE_SCHEMA",
    "EventSource",
    "LoadConfig",
    "ScanRecord",
    "Selection",
    "recent_scans",
    "scan_frame",
    "split_options",
]
