"""Batches reach Polars, pyarrow and NumPy without copying, and their memory lives as long as
any of them holds it."""

from __future__ import annotations

import gc
import os
import threading

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import evlib
from conftest import DEMO, digest_of


def first_batch(path: object = DEMO, **kwargs: object) -> evlib.Batch:
    return next(iter(evlib.open(path).iter_batches(**kwargs)))


def address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


def test_numpy_pyarrow_and_polars_share_the_batch_buffers() -> None:
    batch = first_batch()
    arrays = batch.to_numpy()
    record = pa.record_batch(batch)
    frame = pl.DataFrame(batch)
    for i, name in enumerate(("t", "x", "y", "p")):
        assert record.column(i).buffers()[1].address == address(arrays[name])
        assert address(frame[name].to_numpy(allow_copy=False)) == address(arrays[name])
    assert pa.table(batch).column("t").chunk(0).buffers()[1].address == address(arrays["t"])


def test_compat_layout_shares_t_x_y_and_maps_only_polarity() -> None:
    batch = next(iter(evlib._core.Scan(str(DEMO)).stream(layout="compat", polarity_off=-1, polarity_on=1)))
    native = batch.to_numpy()
    record = pa.record_batch(batch)
    assert record.schema.names == ["x", "y", "t", "polarity"]
    assert record.schema.field("t").type == pa.duration("us")
    assert record.column(2).buffers()[1].address == address(native["t"])
    assert record.column(0).buffers()[1].address == address(native["x"])
    assert record.column(3).to_numpy().tolist() == (native["p"].astype(np.int8) * 2 - 1).tolist()


def test_compat_polarity_is_mapped_in_the_batch_memory_not_in_a_copy() -> None:
    native = first_batch().to_numpy()["p"]
    stream = evlib._core.Scan(str(DEMO)).stream(layout="compat", polarity_off=-1, polarity_on=1)
    batch = next(iter(stream))
    frame = pl.DataFrame(batch)
    again = pl.DataFrame(batch)
    polarity = frame["polarity"].to_numpy(allow_copy=False)
    assert address(polarity) == address(again["polarity"].to_numpy(allow_copy=False))
    assert address(polarity) == pa.record_batch(batch).column(3).buffers()[1].address
    assert polarity.tolist() == (native[: len(batch)].astype(np.int8) * 2 - 1).tolist()
    # to_numpy() keeps its promise of the native 0/1 column.
    assert batch.to_numpy()["p"].tolist() == native[: len(batch)].tolist()


def test_numpy_arrays_are_read_only_views() -> None:
    arrays = first_batch().to_numpy()
    assert not arrays["t"].flags.writeable
    with pytest.raises(ValueError):
        arrays["t"][0] = 1


def test_arrays_outlive_the_batch_the_stream_and_the_file() -> None:
    f = evlib.open(DEMO)
    stream = f.iter_batches(by_count=10_000)
    batch = next(stream)
    arrays = batch.to_numpy()
    copies = {k: v.copy() for k, v in arrays.items()}
    frame = pl.DataFrame(batch)
    record = pa.record_batch(batch)
    del batch, stream, f
    gc.collect()
    list(evlib.open(DEMO).iter_batches())  # a new stream may reuse freed buffers
    for name in ("t", "x", "y", "p"):
        assert np.array_equal(arrays[name], copies[name])
        assert np.array_equal(frame[name].to_numpy(), copies[name])
        assert np.array_equal(record.column(name).to_numpy(), copies[name])


def test_a_held_chunk_is_never_overwritten_by_later_chunks(generate) -> None:
    path = generate("evt3", 600_000, 9)
    held = []
    for batch in evlib.open(path, chunk_events=50_000).iter_batches():
        held.append((batch.to_numpy(), {k: v.copy() for k, v in batch.to_numpy().items()}))
    assert len(held) >= 10
    for arrays, copies in held:
        for name in arrays:
            assert np.array_equal(arrays[name], copies[name])


def test_converting_a_large_batch_does_not_copy_its_memory(generate) -> None:
    path = generate("evt3", 4_000_000, 4)
    batch = evlib.scan_events(path)  # warm-up of the import paths
    del batch
    whole = next(iter(evlib.open(path).iter_batches(by_count=4_000_000)))
    assert len(whole) == 4_000_000

    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    before = rss()
    keep = (pl.DataFrame(whole), pa.record_batch(whole), pa.table(whole), whole.to_numpy())
    grown = rss() - before
    assert grown < 13 * 4_000_000 / 10, f"RSS grew by {grown} bytes converting 52 MB of columns"
    assert keep[0].height == 4_000_000


def test_threads_decode_the_same_file_concurrently(generate) -> None:
    path = generate("evt3", 300_000, 2)
    reference = digest_of(evlib.scan_events(path).collect().to_dict(as_series=False) | {})
    results: list[str] = []

    def work() -> None:
        parts = [b.to_numpy() for b in evlib.open(path, chunk_events=20_000).iter_batches()]
        results.append(digest_of({k: np.concatenate([p[k] for p in parts]) for k in ("t", "x", "y", "p")}))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [reference] * 8


def test_a_forked_child_reads_files_and_uses_inherited_arrays() -> None:
    # As a PyTorch DataLoader worker does: the child uses evlib's batches and NumPy (Polars' own
    # thread pool does not survive a fork once the parent has used it: Polars says so).
    arrays = first_batch().to_numpy()
    expected = int(arrays["t"].sum())
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: use inherited memory, then decode again
        try:
            events = sum(len(b) for b in evlib.open(DEMO).iter_batches(by_count=1000))
            ok = int(arrays["t"].sum()) == expected and events == 50_000
            os.write(writer, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(writer)
    answer = os.read(reader, 16)
    os.waitpid(pid, 0)
    assert answer == b"ok"
