"""Regression checks of the Python path that timings on a shared machine cannot give: the binding
is an optimised build, hands batches over without copying them, and a whole-file load costs about
what its columns do (13 bytes per event; about 17 measured, the decode's own buffers included),
well under what a second copy of the columns would add (13 more).

Memory, unlike time, is repeatable here: each figure comes from a fresh process, and the
per-event cost is the slope between two file sizes, so fixed costs (interpreter, chunk buffers)
cancel out. That the arrays share the C++ buffers is test_zero_copy.py's."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tracemalloc

import polars as pl
import pyarrow as pa

import evlib

# One whole-file load in a fresh process: the growth of peak RSS over the RSS before it. The peak
# is VmHWM (this process's own high-water mark), not ru_maxrss, which Linux carries over fork and
# exec from the parent: a child of a large pytest process would report the parent's size.
LOAD_RSS = r"""
import json, sys
import evlib
path = sys.argv[1]
evlib.open(path).n_events  # imports and first open outside the measure

def status_kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

# Reset the peak (VmHWM) to the current RSS, so that what the counting pass above touched and
# freed does not hide the load's own peak.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
resident_kib = status_kib("VmRSS")
frame = evlib.load_events(path).collect()
print(json.dumps({"events": frame.height, "growth_bytes": (status_kib("VmHWM") - resident_kib) * 1024}))
"""

COLUMN_BYTES = 13  # x Int16, y Int16, t Int64 µs, polarity Int8


def test_the_binding_is_an_optimised_build() -> None:
    assert evlib._core.build_type in ("Release", "RelWithDebInfo", "MinSizeRel"), (
        f"evlib._core was built as {evlib._core.build_type!r}: rebuild it with scripts/python-env.sh")


def test_batches_reach_numpy_arrow_and_polars_without_allocating_per_event(generate) -> None:
    """tracemalloc sees every NumPy buffer: a copy of the columns would show as 13 bytes/event."""
    path = generate("evt3", 2_000_000)
    events = 0
    tracemalloc.start()
    try:
        for batch in evlib.iter_batches(path):
            arrays = batch.to_numpy()
            table = pa.record_batch(batch)
            frame = pl.DataFrame(batch)
            events += len(batch)
            assert int(arrays["t"][-1]) == table.column(0)[-1].as_py() == frame["t"][-1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events == 2_000_000
    assert peak / events < 0.5, f"{peak / events:.2f} bytes traced per event: the binding copies batches"


def load_growth(path: object) -> tuple[int, int]:
    """Events and the smallest growth of two fresh processes (transient buffers of the decode
    threads make single figures vary by a few MiB)."""
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", LOAD_RSS, str(path)], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    return runs[0]["events"], min(r["growth_bytes"] for r in runs)


def test_a_whole_file_load_costs_its_columns_and_no_copy(generate) -> None:
    small_n, small = load_growth(generate("evt3", 2_000_000, 5))
    large_n, large = load_growth(generate("evt3", 6_000_000, 5))
    assert (small_n, large_n) == (2_000_000, 6_000_000)
    per_event = (large - small) / (large_n - small_n)
    assert COLUMN_BYTES * 0.5 < per_event < COLUMN_BYTES * 1.75, (
        f"load_events(...).collect() grows by {per_event:.1f} bytes per event (columns: {COLUMN_BYTES})")



def faulted_bytes(path: object, layout: str) -> tuple[int, int]:
    """Events of a stream whose every batch is dropped before the next, and the bytes of new
    memory the iteration touched (its minor page faults, 4 KiB each)."""
    stream = evlib._core.Scan(str(path)).stream(layout=layout, polarity_off=-1 if layout == "compat" else 0, polarity_on=1)
    events = 0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for batch in stream:
        events += len(batch)
        del batch
    return events, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) * 4096


def test_a_dropped_batch_is_reused_in_both_layouts(generate) -> None:
    """A batch the caller drops goes back to the stream's buffer pool, so streaming touches new
    memory for its first chunks only (a fixed cost, cancelled by the slope between two sizes).
    evlib 0.13's layout maps polarity to -1/+1: writing that over a chunk the pool still shared
    made EventBatch copy every column into new memory (13 bytes an event, the largest cost of
    ``load_events().collect()`` in a profile); the mapped copy made on export costs one byte."""
    small, large = generate("evt3", 2_000_000, 7), generate("evt3", 8_000_000, 7)
    for layout in ("native", "compat"):
        slopes = []
        for _ in range(2):  # the smaller of two: decode threads' transient buffers vary
            (n_small, b_small), (n_large, b_large) = faulted_bytes(small, layout), faulted_bytes(large, layout)
            slopes.append((b_large - b_small) / (n_large - n_small))
        assert min(slopes) < 1.0, f"a {layout} stream touches {min(slopes):.1f} bytes of new memory per event: batches are copied"


def test_a_sorted_frame_decodes_in_one_piece_above_the_streaming_threshold(generate) -> None:
    """load_events sorts by default, so its frame holds every batch before its first row: the
    events go straight into one allocation (one chunk per column), not into chunks of their own.
    memory_limit and streaming_threshold=0 keep the streamed chunks."""
    path = generate("evt3", 300_000, 3)
    assert evlib.load_events(path, streaming_threshold=1_000).collect().n_chunks("all") == [1, 1, 1, 1]
    streamed = evlib.load_events(path, streaming_threshold=0, chunk_events=50_000).collect()
    assert min(streamed.n_chunks("all")) > 1
    assert streamed.equals(evlib.load_events(path).collect())
    assert min(evlib.load_events(path, memory_limit="64M", streaming_threshold=1_000, chunk_events=50_000).collect().n_chunks("all")) > 1
    assert min(evlib.scan_events(path, streaming_threshold=1_000, chunk_events=50_000).collect().n_chunks("all")) > 1
    # A filter (here one no scan bound expresses) keeps the stream: it holds only the rows kept.
    even = ((pl.col("x") + pl.col("y")) % 2) == 0
    filtered = evlib.load_events(path, streaming_threshold=1_000, chunk_events=50_000).filter(even).collect()
    assert min(filtered.n_chunks("all")) > 1
    assert filtered.equals(evlib.load_events(path).collect().filter(even))
