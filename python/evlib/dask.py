"""Event files as Dask dataframes, and per-window processing of many files on a Dask cluster.

``import evlib.dask`` needs ``dask[dataframe]`` and ``distributed`` (``pip install evlib[dask]``);
``import evlib`` alone never imports Dask.

:func:`read_events` plans one partition per (file, time range) from each file's C++ time index:
a planning task per file (run on the cluster, in parallel) reads the index the C++ scans cache
(``$XDG_CACHE_HOME/evlib``, else beside the file, or ``LoadConfig.index_dir``), so a file read
before is planned without decoding it; the first time, the task builds the index by one pass
over the file's ``t`` column. Each partition task then seeks straight to its range. Plans are
also remembered in the process for files whose size and modification time did not change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from . import _core
from ._config import LoadConfig, ReadSettings, split_options
from ._paths import FileColumn, PathsLike, expand_paths, file_column_kind
from ._source import ScanRecord, Selection, _recent, selection_of
from ._times import RegionLike, TimeLike, optional_microseconds, to_microseconds

__all__ = ["Part", "map_windows", "plan_partitions", "read_events", "write_windows"]

_DTYPES = {"x": np.uint16, "y": np.uint16, "p": np.uint8}
_T_END = 2**63 - 1


@dataclass(frozen=True)
class Part:
    """One partition: the events of ``path`` with t in ``[t0, t1)`` µs."""

    path: str
    t0: int
    t1: int


@dataclass(frozen=True)
class FilePlan:
    """A file's time range and the starts of its partitions (increasing). ``events``: those in
    the bounds (from the time index: of the segments that overlap them)."""

    path: str
    events: int
    t_min: int | None
    t_max: int | None
    starts: tuple[int, ...]


def _one_thread(config: LoadConfig) -> LoadConfig:
    """Each task decodes on one thread: the cluster's worker threads are the parallelism."""
    return config.updated(threads=1, progress=False)


def _plan_file(read: ReadSettings, config: LoadConfig, width: int, count: int, t_lo: int | None, t_hi: int | None) -> FilePlan:
    """A file's plan from its C++ time index (no decoding when the index is cached), building the
    index first by one pass over t when there is none; without a cached index (``index="off"``
    or ``"memory"``, a format that cannot resume) the file is planned from its decoded t."""
    segments = read.scan(_one_thread(config)).time_index()
    if segments is None and _index_pass(read, config):
        segments = read.scan(_one_thread(config)).time_index()
    if segments is None:
        return _plan_by_decoding(read, config, width, count, t_lo, t_hi)
    return _plan_from_index(read.path, segments, width, count, t_lo, t_hi)


def _index_pass(read: ReadSettings, config: LoadConfig) -> bool:
    """One unfiltered pass over t, which builds the time index and caches it; False when the
    config's index policy caches none (a later scan could not find it)."""
    if config.index != "auto":
        return False
    scan = read.scan(_one_thread(config))
    stream = scan.stream(columns=["t"])
    try:
        for _ in stream:
            pass
    finally:
        stream.close()
        _recent.append(ScanRecord(read.path, Selection(), ("t",), stream.events, stream.bytes_done, True, dict(stream.stats())))
    return True


def _plan_from_index(
    path: str, segments: Sequence[tuple[int, int, int]], width: int, count: int, t_lo: int | None, t_hi: int | None
) -> FilePlan:
    """Partition starts from the index's segments (time range and events of each, in file order).

    By time: the windows of ``width`` µs that some segment overlaps (a window inside a segment's
    range that holds no event gives an empty partition). By count: a cut every ``count`` events,
    its time interpolated inside the segment it falls in (partitions of about ``count`` events).
    The time range is the segments' (which also covers their triggers), clamped to the bounds."""
    lo_bound = -(2**63) if t_lo is None else t_lo
    hi_bound = _T_END if t_hi is None else t_hi - 1
    kept = [(max(a, lo_bound), min(b, hi_bound), n) for a, b, n in segments if n and a <= hi_bound and b >= lo_bound]
    if not kept:
        return FilePlan(path, 0, None, None, ())
    t_min, t_max = min(a for a, _, _ in kept), max(b for _, b, _ in kept)
    starts: set[int] = set()
    if width:
        for a, b, _ in kept:
            starts.update(range(a // width * width, b // width * width + 1, width))
    else:
        before = 0
        for a, b, n in kept:
            cuts = np.arange((count - before % count) % count, n, count)
            starts.update((a + (b - a) * cuts // n).tolist())
            before += n
    ordered = [t_min] + sorted(s for s in starts if s > t_min)
    return FilePlan(path, sum(n for _, _, n in kept), t_min, t_max, tuple(ordered))


def _plan_by_decoding(read: ReadSettings, config: LoadConfig, width: int, count: int, t_lo: int | None, t_hi: int | None) -> FilePlan:
    """One pass over t: the time range of the events in ``[t_lo, t_hi)`` and partition starts
    every ``width`` µs (aligned on multiples of it, empty windows skipped) or every ``count``
    events (in file order, kept increasing)."""
    scan = read.scan(_one_thread(config))
    stream = scan.stream(columns=["t"])
    events, t_min, t_max = 0, None, None
    starts: set[int] = set()
    try:
        for batch in stream:
            t = batch.to_numpy()["t"]
            if t_lo is not None or t_hi is not None:
                t = t[(t >= (t_lo if t_lo is not None else -(2**63))) & (t < (t_hi if t_hi is not None else _T_END))]
            if not len(t):
                continue
            if width:
                starts.update(np.unique(t // width * width).tolist())
            else:
                starts.update(t[(count - events % count) % count :: count].tolist())
            events += len(t)
            lo, hi = int(t.min()), int(t.max())
            t_min = lo if t_min is None else min(t_min, lo)
            t_max = hi if t_max is None else max(t_max, hi)
    finally:
        stream.close()
        _recent.append(ScanRecord(read.path, Selection(), ("t",), stream.events, stream.bytes_done, True, dict(stream.stats())))
    ordered = sorted(starts)
    if ordered and t_min is not None:
        ordered = [t_min] + [s for s in ordered if s > t_min]
    return FilePlan(read.path, events, t_min, t_max, tuple(ordered))


_plans: dict[tuple[Any, ...], FilePlan] = {}


def _plan_key(read: ReadSettings, *spec: Any) -> tuple[Any, ...]:
    status = os.stat(read.path)
    return (read, status.st_size, status.st_mtime_ns, *spec)


def plan_partitions(
    paths: Sequence[str],
    *,
    width: int = 0,
    count: int = 0,
    t_start: int | None = None,
    t_end: int | None = None,
    config: LoadConfig | None = None,
    **options: Any,
) -> list[FilePlan]:
    """Plans of files (their planning passes run as Dask tasks, in parallel; results remembered)."""
    cfg = config or LoadConfig()
    reads = [split_options(path, cfg, dict(options))[0] for path in paths]
    keys = [_plan_key(read, width, count, t_start, t_end) for read in reads]
    missing = [i for i, key in enumerate(keys) if key not in _plans]
    tasks = [dask.delayed(_plan_file, pure=True)(reads[i], cfg, width, count, t_start, t_end) for i in missing]
    for i, plan in zip(missing, dask.compute(*tasks)):
        _plans[keys[i]] = plan
    return [_plans[key] for key in keys]


def _parts_of(plan: FilePlan) -> list[Part]:
    if plan.t_max is None:
        return []
    ends = list(plan.starts[1:]) + [plan.t_max + 1]
    return [Part(plan.path, t0, t1) for t0, t1 in zip(plan.starts, ends)]


@dataclass(frozen=True)
class PartitionReader:
    """The function of ``dd.from_map``: decodes one :class:`Part` into pandas (``t`` the index).
    Its ``columns=`` keyword is Dask's projection; the selection and columns reach the C++ scan."""

    read: ReadSettings
    config: LoadConfig
    selection: Selection
    file_dtype: Any  # None: no file column

    def __call__(self, part: Part, columns: Sequence[str] | None = None) -> pd.DataFrame:
        wanted = list(self.all_columns() if columns is None else columns)
        decoded = [c for c in ("x", "y", "p") if c in wanted]
        window = Selection(t0=part.t0, t1=part.t1).intersect(self.selection)
        data = decode(ReadSettings(**{**vars(self.read), "path": part.path}), self.config, window, decoded)
        t = data.pop("t")
        # The arrays are fresh copies of the decoder's, so pandas need not copy them again.
        frame = pd.DataFrame({c: data[c] for c in decoded}, index=pd.Index(t, name="t"), copy=False)
        if "file" in wanted:
            frame["file"] = self._file_values(part.path, len(t))
        return frame[wanted]

    def _file_values(self, path: str, n: int) -> Any:
        if isinstance(self.file_dtype, pd.CategoricalDtype):  # codes only: one byte or two per row
            code = list(self.file_dtype.categories).index(path)
            return pd.Categorical.from_codes(np.full(n, code, dtype=np.int32), dtype=self.file_dtype)
        return pd.array(np.full(n, path, dtype=object), dtype=self.file_dtype)

    def all_columns(self) -> list[str]:
        return ["x", "y", "p"] + (["file"] if self.file_dtype is not None else [])

    def meta(self) -> pd.DataFrame:
        frame = pd.DataFrame({c: np.empty(0, _DTYPES[c]) for c in ("x", "y", "p")}, index=pd.Index(np.empty(0, np.int64), name="t"))
        if self.file_dtype is not None:
            frame["file"] = pd.Series([], dtype=self.file_dtype)
        return frame


def decode(read: ReadSettings, config: LoadConfig, selection: Selection, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """The selection's events of a file as NumPy copies (t always), on one thread, sorted stably by
    t when the file's time goes back. Polars is not involved, so no other thread pool runs."""
    wanted = ["t"] + [c for c in columns if c != "t"]
    if selection.empty():
        return {c: np.empty(0, _DTYPES.get(c, np.int64)) for c in wanted}
    stream = selection.apply(read.scan(_one_thread(config))).stream(columns=wanted, check_sorted=True)
    try:
        chunks = [batch.to_numpy() for batch in stream]
        ordered = stream.t_sorted
    finally:
        stream.close()
        # Counters for evlib._source.recent_scans() in the process that ran the task.
        record = ScanRecord(read.path, selection, tuple(wanted), stream.events, stream.bytes_done, stream.t_sorted, dict(stream.stats()))
        _recent.append(record)
    out = {c: np.concatenate([chunk[c] for chunk in chunks]) if chunks else np.empty(0, _DTYPES.get(c, np.int64)) for c in wanted}
    if not ordered:
        order = np.argsort(out["t"], kind="stable")
        out = {c: v[order] for c, v in out.items()}
    return out


def _file_dtype(file_column: FileColumn, paths: Sequence[str]) -> Any:
    kind = file_column_kind(file_column, paths)
    if kind is None:
        return None
    return pd.StringDtype() if kind == "string" else pd.CategoricalDtype(list(dict.fromkeys(paths)))


def read_events(
    paths_or_glob: PathsLike,
    *,
    partition: TimeLike | None = "1s",
    partition_events: int | None = None,
    columns: Sequence[str] | None = None,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    roi: RegionLike | None = None,
    polarity: int | None = None,
    file_column: FileColumn = None,
    config: LoadConfig | None = None,
    **options: Any,
) -> dd.DataFrame:
    """A Dask dataframe of the events of one or many files: index ``t`` (int64 µs, each file's
    clock), columns ``x``, ``y`` (uint16), ``p`` (uint8, 1 = ON) and ``file``.

    One partition per (file, time range): ``partition`` µs (or ``"1s"``-style) windows aligned
    on multiples of the width, empty windows merged into the previous one, or with
    ``partition_events`` about that many events each (ranges cut in file order). Files come in
    the order given (globs sorted), each file's partitions in time order; inside a partition
    events keep the file's order, sorted stably by t only where the file's time goes back.

    Divisions are known when the partitions' time ranges increase from one partition to the
    next: always for one file; for several files only when each file starts after the previous
    one ends (pieces of one recording). Otherwise (recordings whose clocks all start near 0)
    they are unknown, as one index value would belong to partitions of several files.

    ``columns`` (among ``x``, ``y``, ``p``, ``file``), ``t_start``/``t_end`` (half-open), ``roi``
    ``(x0, y0, x1, y1)`` (half-open) and ``polarity`` are pushed into the C++ scan of each
    partition, as are the columns Dask projects (``df[["x", "y"]]``); filters added afterwards
    run in pandas. ``file_column``: ``None`` a categorical ``file`` column when several files
    are read; ``True``/``"categorical"`` always; ``"string"`` strings (a copy of the path per
    row); ``False`` none. Read options (``format``, ``width``, ...) and :class:`evlib.LoadConfig`
    fields are keywords too; every task decodes on one thread.

    Planning runs one task per file (on the cluster when a ``distributed.Client`` is active)
    that reads the file's cached C++ time index, so a file indexed before (by any evlib scan,
    in any process that shares the cache) is planned without decoding; the first time, the task
    builds the index by one pass over the file's ``t`` column (every format evlib writes can be
    indexed; with ``index="off"`` or ``"memory"`` a pass plans the file every time). With ``partition_events``, cuts fall inside index
    segments by interpolation (partitions of about that many events).
    """
    if partition_events is not None:
        if partition_events <= 0:
            raise ValueError("partition_events must be positive")
        width, count = 0, int(partition_events)
    else:
        if partition is None:
            raise ValueError("give partition (a duration) or partition_events")
        width, count = to_microseconds(partition, "partition"), 0
        if width <= 0:
            raise ValueError("partition must be positive")
    if polarity is not None and polarity not in (0, 1):
        raise ValueError(f"polarity must be 0 (OFF) or 1 (ON), not {polarity!r}")
    t0, t1 = optional_microseconds(t_start, "t_start"), optional_microseconds(t_end, "t_end")
    paths = expand_paths(paths_or_glob)
    read, cfg = split_options(paths[0], config, dict(options))
    plans = plan_partitions(paths, width=width, count=count, t_start=t0, t_end=t1, config=cfg, **options)
    parts = [part for plan in plans for part in _parts_of(plan)]
    reader = PartitionReader(read, cfg, selection_of(t0, t1, roi, polarity), _file_dtype(file_column, paths))
    unknown = set(columns or ()) - set(reader.all_columns())
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(sorted(unknown))}: choose among {', '.join(reader.all_columns())}")
    if not parts:  # no event anywhere: one empty partition
        parts = [Part(paths[0], 0, 0)]
    frame = dd.from_map(reader, parts, meta=reader.meta(), divisions=_divisions(parts, plans), label="evlib-read-events")
    return frame[list(columns)] if columns is not None else frame


def _divisions(parts: Sequence[Part], plans: Sequence[FilePlan]) -> tuple[int, ...] | None:
    """(start of each partition..., last event time) when the ranges increase, else None."""
    if any(a.t1 > b.t0 for a, b in zip(parts, parts[1:])) or parts[0].t1 <= parts[0].t0:
        return None
    last = max(plan.t_max for plan in plans if plan.t_max is not None)
    return tuple(part.t0 for part in parts) + (last,)


WindowResults = list[tuple[tuple[int, int], Any]]
"""``[((t0, t1), fn(batch)), ...]``: a file's windows in time order."""


class _NoWindows:
    """The windows of a selection that selects nothing (t_start after t_end): none, as
    ``iter_batches`` gives."""

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def close(self) -> None:
        pass


def _window_stream(read: ReadSettings, config: LoadConfig, selection: Selection, window: int) -> Any:
    if selection.empty():
        return _NoWindows()
    return selection.apply(read.scan(_one_thread(config))).stream(by_time=window)


def _apply_windows(read: ReadSettings, config: LoadConfig, window: int, fn: Callable[..., Any], selection: Selection) -> WindowResults:
    """fn(batch) for every ``window`` µs window of one file, with the window's bounds."""
    stream = _window_stream(read, config, selection, window)
    try:
        return [(cast(tuple[int, int], batch.window), fn(batch)) for batch in stream]
    finally:
        stream.close()


def map_windows(
    paths_or_glob: PathsLike,
    fn: Callable[[_core.Batch], Any],
    *,
    window: TimeLike = "50ms",
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    roi: RegionLike | None = None,
    polarity: int | None = None,
    progress: bool = True,
    config: LoadConfig | None = None,
    **options: Any,
) -> dict[str, WindowResults]:
    """``fn(batch)`` on every time window of every file, one Dask task per file, in parallel.

    Windows are ``[t, t + window)`` aligned on each file's first event (as
    ``EventFile.iter_batches(by_time=...)``); ``fn`` receives an :class:`evlib.Batch` (any
    :mod:`evlib.ops` function takes one: ``lambda b: evlib.ops.stacked_histogram(b, (w, h))``)
    and must be picklable (cloudpickle: lambdas are). Returns ``{path: [((w0, w1), result),
    ...]}``. With a ``distributed.Client`` active and ``progress``, ``distributed.progress``
    shows the tasks. Results come back to the caller: for large ones (a histogram per window),
    :func:`write_windows` writes them per file on the workers instead.
    """
    width, paths, selection = _windows_of(window, paths_or_glob, t_start, t_end, roi, polarity)
    tasks = []
    for path in paths:
        read, cfg = split_options(path, config, dict(options))
        tasks.append(dask.delayed(_apply_windows, pure=True)(read, cfg, width, fn, selection))
    return dict(zip(paths, _run(tasks, progress)))


def _windows_of(
    window: TimeLike, paths_or_glob: PathsLike, t_start: TimeLike | None, t_end: TimeLike | None, roi: RegionLike | None, polarity: int | None
) -> tuple[int, list[str], Selection]:
    """The window width (µs), the files and the selection of map_windows' arguments."""
    width = to_microseconds(window, "window")
    if width <= 0:
        raise ValueError("window must be positive")
    return width, expand_paths(paths_or_glob), selection_of(optional_microseconds(t_start, "t_start"), optional_microseconds(t_end, "t_end"), roi, polarity)


def _run(tasks: Sequence[Any], progress: bool) -> tuple[Any, ...]:
    """Computes delayed tasks, on the active ``distributed.Client`` (with its progress bar) if any."""
    client = _client()
    if client is None:
        return tuple(dask.compute(*tasks))
    futures = client.compute(list(tasks))
    if progress:
        from distributed import progress as show_progress

        show_progress(futures)
    return tuple(client.gather(futures))


_NPY_PREFIX = 128  # bytes of a .npy file before its data: magic, version, header (padded)


def _npy_prefix(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """A version 1.0 .npy header of exactly _NPY_PREFIX bytes (so it can be written last)."""
    header = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}).encode("latin1")
    room = _NPY_PREFIX - 10 - 1
    if len(header) > room:
        raise ValueError(f"shape {shape} too long for the .npy header")
    return b"\x93NUMPY\x01\x00" + (room + 1).to_bytes(2, "little") + header.ljust(room) + b"\n"


def _write_file_windows(
    read: ReadSettings, config: LoadConfig, window: int, fn: Callable[..., Any], selection: Selection, out: str
) -> tuple[str, int]:
    """fn(batch) of every window of one file stacked into ``out`` (.npy, streamed: one window in
    memory at a time) and the windows' bounds into ``out`` with ``.windows.npy``; each file is
    written under a temporary name and renamed when complete."""
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    bounds: list[tuple[int, int]] = []
    first: np.ndarray | None = None
    temp = f"{out}.evlib-tmp-{os.getpid()}"
    stream = _window_stream(read, config, selection, window)
    try:
        with open(temp, "wb") as f:
            f.write(bytes(_NPY_PREFIX))
            for batch in stream:
                value = np.ascontiguousarray(fn(batch))
                if first is None:
                    first = value
                elif value.shape != first.shape or value.dtype != first.dtype:
                    raise ValueError(f"{read.path}: fn returned {value.dtype}{value.shape} for window {batch.window}, "
                                     f"but {first.dtype}{first.shape} before; write_windows needs one shape and dtype")
                f.write(value.data)
                bounds.append(cast(tuple[int, int], batch.window))
            dtype, shape = (first.dtype, first.shape) if first is not None else (np.dtype(np.uint8), ())
            f.seek(0)
            f.write(_npy_prefix(dtype, (len(bounds), *shape)))
        np.save(f"{temp}.windows.npy", np.array(bounds, dtype=np.int64).reshape(-1, 2))
        os.replace(f"{temp}.windows.npy", _windows_path(out))
        os.replace(temp, out)
    except BaseException:
        for leftover in (temp, f"{temp}.windows.npy"):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    finally:
        stream.close()
    return out, len(bounds)


def _windows_path(out: str) -> str:
    return out[: -len(".npy")] + ".windows.npy" if out.endswith(".npy") else out + ".windows.npy"


def write_windows(
    paths_or_glob: PathsLike,
    fn: Callable[[_core.Batch], Any],
    out_dir: str | os.PathLike[str],
    *,
    window: TimeLike = "50ms",
    root: str | os.PathLike[str] | None = None,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    roi: RegionLike | None = None,
    polarity: int | None = None,
    progress: bool = True,
    config: LoadConfig | None = None,
    **options: Any,
) -> dict[str, tuple[str, int]]:
    """``fn(batch)`` on every time window of every file, written per file instead of gathered:
    one Dask task per file streams its windows into ``out_dir/<name>.npy``, an array of shape
    ``(windows, *fn's shape)`` (``fn`` returns arrays of one shape and dtype, e.g.
    ``lambda b: evlib.ops.stacked_histogram(b, (w, h), downsample_by_2=True)``), with the
    windows' ``[t0, t1)`` bounds in ``<name>.windows.npy``. ``<name>`` is the file's path
    relative to ``root`` (default: the files' common directory) without its extension. Memory
    per task is one window and its result; outputs appear only complete (renamed into place).
    Windows are those of :func:`map_windows`. Returns ``{path: (npy path, windows)}``."""
    width, paths, selection = _windows_of(window, paths_or_glob, t_start, t_end, roi, polarity)
    base = os.path.abspath(root) if root is not None else os.path.commonpath([os.path.dirname(p) for p in paths])
    outs = [os.path.join(os.fspath(out_dir), os.path.splitext(os.path.relpath(p, base))[0] + ".npy") for p in paths]
    if len(set(outs)) != len(outs):
        raise ValueError("two files would write the same output (same name with another extension); give root= or rename them")
    tasks = []
    for path, out in zip(paths, outs):
        read, cfg = split_options(path, config, dict(options))
        tasks.append(dask.delayed(_write_file_windows, pure=False)(read, cfg, width, fn, selection, out))
    return dict(zip(paths, _run(tasks, progress)))


def _client() -> Any:
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None
