"""evlib.dask on a two-process LocalCluster: partitions equal the single-process scan, divisions
are right, arguments and projections reach the C++ scan, a killed worker's task is retried, and
map_windows equals a local loop."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

dask = pytest.importorskip("dask")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import evlib  # noqa: E402
import evlib.dask as edask  # noqa: E402
from evlib import _source  # noqa: E402

TIMEOUT = "30s"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        timeout=TIMEOUT, env={"XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"], "PYTHONPATH": os.pathsep.join(sys.path)},
    ) as cluster, distributed.Client(cluster, timeout=TIMEOUT) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def files(generate: Callable[..., Path]) -> list[Path]:
    """Three recordings in three formats whose clocks all start at 0 (about 0.2 s each)."""
    return [
        generate("evt3", 200_000, 11, "--rate", "1e6"),
        generate("dat", 150_000, 12, "--rate", "1e6"),
        generate("hdf5", 120_000, 13, "--rate", "1e6"),
    ]


def columns_of(frame: Any) -> dict[str, np.ndarray]:
    flat = frame.reset_index()
    return {c: flat[c].to_numpy() for c in ("t", "x", "y", "p")}


def expected(path: Path, **kwargs: Any) -> dict[str, np.ndarray]:
    frame = evlib.scan_events(path, **kwargs).collect()
    return {c: frame[c].to_numpy() for c in ("t", "x", "y", "p")}


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for name in ("t", "x", "y", "p"):
        assert got[name].dtype == want[name].dtype, name
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@pytest.mark.parametrize("how", [{"partition": "20ms"}, {"partition_events": 30_000}], ids=["by-time", "by-count"])
def test_partitions_concatenated_equal_the_single_process_scan(client: Any, files: list[Path], how: dict) -> None:
    df = edask.read_events([str(p) for p in files], **how)
    assert df.npartitions > len(files)
    result = df.compute()
    for path in files:
        part = result[result["file"] == os.path.abspath(path)]
        assert_same(columns_of(part.drop(columns="file")), expected(path))
    assert len(result) == sum(len(expected(p)["t"]) for p in files)


def test_one_file_has_known_divisions_that_bound_each_partition(client: Any, files: list[Path]) -> None:
    df = edask.read_events(files[0], partition="30ms")
    assert df.known_divisions and "file" not in df.columns
    divisions = df.divisions
    t = expected(files[0])["t"]
    assert divisions[0] == t.min() and divisions[-1] == t.max()
    assert all(b % 30_000 == 0 for b in divisions[1:-1])
    parts = dask.compute(*df.to_delayed())
    for i, part in enumerate(parts):
        lo, hi = part.index.min(), part.index.max()
        assert len(part) > 0 and part.index.is_monotonic_increasing
        assert divisions[i] <= lo and (hi < divisions[i + 1] or (i == len(parts) - 1 and hi == divisions[-1]))
    window = df.loc[60_000:89_999].compute()
    np.testing.assert_array_equal(window.index.to_numpy(), t[(t >= 60_000) & (t < 90_000)])


def test_files_with_overlapping_clocks_have_unknown_divisions(files: list[Path]) -> None:
    assert not edask.read_events([str(p) for p in files], partition="50ms").known_divisions


def test_consecutive_pieces_of_a_recording_have_known_divisions(generate: Callable[..., Path], client: Any) -> None:
    first = generate("evt3", 50_000, 21, "--rate", "1e6")
    second = generate("evt3", 50_000, 22, "--rate", "1e6", "--t-start", "1000000")
    df = edask.read_events([first, second], partition="20ms")
    assert df.known_divisions and df.divisions[-1] == expected(second)["t"].max()
    assert df.loc[1_000_000:].compute()["file"].unique().tolist() == [os.path.abspath(second)]


def test_arguments_and_projection_reach_the_scan_of_each_partition(files: list[Path]) -> None:
    path = files[0]
    full_words = sum(r.stats["words"] for r in _scans_of(lambda: edask.read_events(path, partition="20ms").compute(scheduler="sync")))
    df = edask.read_events(path, partition="20ms", t_start=40_000, t_end=60_000, roi=(100, 100, 600, 500), polarity=1)
    records = _scans_of(lambda: df[["x"]].compute(scheduler="sync"))
    assert {r.columns for r in records} == {("t", "x")}
    assert all(r.selection.polarities == frozenset({1}) and (r.selection.x0, r.selection.x1) == (100, 600) for r in records)
    assert sum(r.stats["words"] for r in records) < full_words / 4
    got = df.compute(scheduler="sync")
    want = evlib.scan_events(path, t_start=40_000, t_end=60_000, roi=(100, 100, 600, 500), polarity=1).collect()
    assert len(got) == want.height > 0
    assert_same(columns_of(got), {c: want[c].to_numpy() for c in ("t", "x", "y", "p")})


def _scans_of(run: Callable[[], Any]) -> list[_source.ScanRecord]:
    """The scans run in this process by run() (the sync scheduler runs the tasks here)."""
    _source._recent.clear()
    run()
    return _source.recent_scans()


def _kill_the_first_time(part: Any, marker: str) -> Any:
    if not os.path.exists(marker):
        Path(marker).write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return part


def test_a_worker_killed_mid_computation_is_retried_with_the_same_result(client: Any, files: list[Path], tmp_path: Path) -> None:
    df = edask.read_events([str(p) for p in files[:2]], partition="20ms")
    marker = str(tmp_path / "killed")
    survived = df.map_partitions(_kill_the_first_time, marker, meta=df._meta).compute()
    assert Path(marker).exists()
    whole = df.compute()
    assert survived.equals(whole)
    assert_same(columns_of(whole[whole["file"] == os.path.abspath(files[1])].drop(columns="file")), expected(files[1]))


def test_map_windows_equals_a_local_loop(client: Any, files: list[Path]) -> None:
    def histogram(batch: Any) -> np.ndarray:
        return evlib.ops.stacked_histogram(batch, (1280, 720), bins=2).sum(axis=(1, 2))

    results = edask.map_windows([str(p) for p in files], histogram, window="50ms", progress=False)
    assert list(results) == [os.path.abspath(p) for p in files]
    for path in files:
        local = [(b.window, histogram(b)) for b in evlib.open(path).iter_batches(by_time="50ms")]
        got = results[os.path.abspath(path)]
        assert [w for w, _ in got] == [w for w, _ in local] and len(local) > 2
        for (_, a), (_, b) in zip(got, local):
            np.testing.assert_array_equal(a, b)


def test_windows_of_an_inverted_time_range_are_none_as_iter_batches_gives(client: Any, files: list[Path], tmp_path: Path) -> None:
    # map_windows raised "Scan::time: t1 < t0" (a C++ name) where iter_batches yields nothing.
    path = str(files[0])
    assert list(evlib.open(path).iter_batches(by_time="50ms", t_start=10, t_end=5)) == []
    assert edask.map_windows([path], len, window="50ms", t_start=10, t_end=5, progress=False) == {os.path.abspath(path): []}
    written = edask.write_windows([path], len, tmp_path / "out", window="50ms", t_start=10, t_end=5, progress=False)
    assert [n for _, n in written.values()] == [0]


def test_importing_evlib_does_not_import_dask_until_evlib_dask_is_used() -> None:
    import subprocess

    code = "import sys, evlib; print('dask' in sys.modules, callable(evlib.dask.read_events), 'dask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.strip() == "False True True", done.stderr


def test_partition_events_cuts_partitions_of_about_that_many_events(files: list[Path]) -> None:
    sizes = edask.read_events(files[0], partition_events=30_000).map_partitions(len).compute(scheduler="sync").tolist()
    assert sum(sizes) == 200_000 and len(sizes) == 7
    # Cuts are interpolated inside the time index's segments (64 Ki events): about, not exactly.
    assert all(abs(n - 30_000) < 1_500 for n in sizes[:-1]), sizes


def test_a_file_whose_time_goes_back_gives_partitions_sorted_stably(tmp_path: Path) -> None:
    rows = [(30, 1, 1, 1), (10, 2, 2, 0), (30, 3, 3, 0), (20, 4, 4, 1), (10, 5, 5, 1), (45, 6, 6, 0)]
    path = tmp_path / "shuffled.csv"
    path.write_text("".join(f"{t},{x},{y},{p}\n" for t, x, y, p in rows))
    df = edask.read_events(path, partition="20us")
    assert df.divisions == (10, 20, 40, 45)
    result = df.compute(scheduler="sync")
    assert result.index.tolist() == [10, 10, 20, 30, 30, 45]
    assert result["x"].tolist() == [2, 5, 4, 1, 3, 6]


@pytest.mark.parametrize("file_column", [False, True, "categorical", "string"])
def test_file_column_option_gives_no_column_a_categorical_or_strings(files: list[Path], file_column: Any) -> None:
    df = edask.read_events([str(p) for p in files[:2]], partition="100ms", file_column=file_column)
    if file_column is False:
        assert list(df.columns) == ["x", "y", "p"]
        return
    result = df.compute(scheduler="sync")
    assert str(result["file"].dtype) == str(df["file"].dtype)
    assert (str(result["file"].dtype) == "category") == (file_column != "string")
    assert result["file"].astype(str).value_counts().to_dict() == {os.path.abspath(files[0]): 200_000, os.path.abspath(files[1]): 150_000}


@pytest.mark.parametrize("bounds", [{}, {"t_start": 30_000, "t_end": 120_000}], ids=["whole", "bounded"])
def test_a_second_planning_reads_the_cached_time_index_without_decoding(generate: Callable[..., Path], bounds: dict) -> None:
    paths = [str(generate("evt3", 150_000, 31, "--rate", "1e6")), str(generate("evt2", 100_000, 32, "--rate", "1e6"))]
    t0, t1 = bounds.get("t_start"), bounds.get("t_end")
    with dask.config.set(scheduler="sync"):
        edask._plans.clear()
        first = _scans_of(lambda: edask.plan_partitions(paths, width=20_000, t_start=t0, t_end=t1))
        if not bounds:  # the first planning of these files builds their indexes: one pass each
            assert sorted(r.path for r in first) == sorted(paths) and all(r.columns == ("t",) for r in first)
        edask._plans.clear()  # as in a new process: only the on-disk index cache is left
        again: list[Any] = []
        assert _scans_of(lambda: again.extend(edask.plan_partitions(paths, width=20_000, t_start=t0, t_end=t1))) == []
    for plan in again:
        t, whole = expected(Path(plan.path), t_start=t0, t_end=t1)["t"], expected(Path(plan.path))["t"]
        # The index's range (exact here: no triggers), clamped to the bounds when given.
        assert (plan.t_min, plan.t_max) == (max(t0 or 0, whole.min()), min(t1 - 1 if t1 else whole.max(), whole.max()))
        assert plan.events >= len(t) and plan.starts[0] == plan.t_min and all(s % 20_000 == 0 for s in plan.starts[1:])
    df = edask.read_events(paths[0], partition="20ms", t_start=t0, t_end=t1)
    assert_same(columns_of(df.compute(scheduler="sync")), expected(Path(paths[0]), t_start=t0, t_end=t1))


def test_without_a_cached_index_each_planning_decodes_once(generate: Callable[..., Path]) -> None:
    path = str(generate("npy", 30_000, 33, "--rate", "1e6"))
    with dask.config.set(scheduler="sync"):
        for _ in range(2):
            edask._plans.clear()
            planned: list[Any] = []
            run = lambda: planned.extend(edask.plan_partitions([path], width=10_000, config=evlib.LoadConfig(index="off")))  # noqa: E731
            (record,) = _scans_of(run)
            (plan,) = planned
            assert record.columns == ("t",) and record.events == plan.events == 30_000
    t = expected(Path(path))["t"]
    assert (plan.t_min, plan.t_max) == (t.min(), t.max())


def test_write_windows_streams_each_file_results_to_npy_equal_to_map_windows(client: Any, files: list[Path], tmp_path: Path) -> None:
    def histogram(batch: Any) -> np.ndarray:
        return evlib.ops.stacked_histogram(batch, (1280, 720), bins=2, downsample_by_2=True)

    paths = [str(p) for p in files[:2]]
    written = edask.write_windows(paths, histogram, tmp_path / "out", window="50ms", progress=False)
    gathered = edask.map_windows(paths, histogram, window="50ms", progress=False)
    for path in paths:
        out, n = written[os.path.abspath(path)]
        assert out == str(tmp_path / "out" / (Path(path).stem + ".npy"))
        stacked, bounds = np.load(out), np.load(out[: -len(".npy")] + ".windows.npy")
        want = gathered[os.path.abspath(path)]
        assert stacked.shape == (n, 4, 360, 640) and n == len(want) > 2 and stacked.dtype == np.uint8
        assert [tuple(b) for b in bounds.tolist()] == [w for w, _ in want]
        for got, (_, value) in zip(stacked, want):
            np.testing.assert_array_equal(got, value)
    assert not [p for p in (tmp_path / "out").iterdir() if "evlib-tmp" in p.name]
