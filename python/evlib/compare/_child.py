"""One decode by one reader, run as a script in a fresh process of the reader's own environment.

    python -I _child.py READER MODE PATH FORMAT

MODE ``time`` decodes the file and prints ``{"events": n, "seconds": s, "peak_rss_bytes": b}`` (imports and opening
are not timed: the clock starts right before the decode and stops when the reader has handed
over every event; whole-file readers keep their result alive until then, streaming readers drop
each chunk). MODE ``check`` decodes it again and prints the events' count, time range and the
SHA-256 of the rows (t int64 µs, x uint16, y uint16, p uint8 with 1 = ON, little-endian, in the
order the reader returned them): the digest of ``evlib info --digest``, so a reader that decodes
different events, or the same ones in another order, does not match. MODE ``check-set`` adds
the digests of the t column and of the sorted rows (see ``check_decode``).

This file imports nothing from evlib: it runs in peer environments that do not have our package,
one of which (evlib 0.13.2) has a package of the same name. ``-I`` keeps this directory off
``sys.path``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import time
from typing import Any, Callable, Iterable, Iterator

import numpy as np

Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # t µs, x, y, p (1 = ON)
ROWS = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallows what a package prints on import (evlib 0.13 prints a notice about PyTorch)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


class Reader:
    """How one package decodes a file: ``parts`` yields what the package returns (one object for
    a whole-file read, one per chunk when streaming), ``columns`` maps a part to evlib's columns."""

    whole_file = True

    def prepare(self, path: str, fmt: str) -> None:
        """Imports and opens, outside the timed region."""

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        raise NotImplementedError

    def columns(self, part: Any) -> Columns:
        raise NotImplementedError

    def count(self, part: Any) -> int:
        return len(part)


def _on(values: np.ndarray) -> np.ndarray:
    """Polarity as 1 = ON, 0 = OFF, from 0/1, -1/+1 or bool."""
    return (np.asarray(values) > 0).astype(np.uint8)


class PolarsFrame(Reader):
    """``evlib.load_events(path).collect()``: ours and evlib 0.13.2 share this API."""

    def prepare(self, path: str, fmt: str) -> None:
        with _quiet():
            import evlib  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import evlib

        yield evlib.load_events(path).collect()

    def columns(self, frame: Any) -> Columns:
        import polars as pl

        t = frame.select(pl.col("t").dt.total_microseconds()).to_series().to_numpy()
        return t, frame["x"].to_numpy(), frame["y"].to_numpy(), _on(frame["polarity"].to_numpy())


class EvlibBatches(Reader):
    """Our ``evlib.iter_batches(path)``: the C++ chunks, handed over without a copy."""

    whole_file = False

    def prepare(self, path: str, fmt: str) -> None:
        import evlib  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import evlib

        return evlib.iter_batches(path)

    def columns(self, batch: Any) -> Columns:
        c = batch.to_numpy()
        return c["t"], c["x"], c["y"], c["p"]


class Expelliarmus(Reader):
    """expelliarmus' ``Wizard``: ``read()`` (whole file) or ``read_chunk()`` (1 Mi-event chunks)."""

    def __init__(self, chunked: bool) -> None:
        self.whole_file = not chunked

    def prepare(self, path: str, fmt: str) -> None:
        from expelliarmus import Wizard

        self.wizard = Wizard(encoding=fmt, fpath=path, chunk_size=1 << 20)

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        if self.whole_file:
            yield self.wizard.read()
        else:
            yield from self.wizard.read_chunk()

    def columns(self, a: Any) -> Columns:
        return a["t"], a["x"], a["y"], _on(a["p"])


class DvProcessing(Reader):
    """dv-processing's ``MonoCameraRecording``: AEDAT 4 event packets as they are stored."""

    whole_file = False

    def prepare(self, path: str, fmt: str) -> None:
        import dv_processing as dv

        self.recording = dv.io.MonoCameraRecording(path)

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        while True:
            batch = self.recording.getNextEventBatch()
            if batch is None:
                return
            yield batch.numpy()

    def columns(self, a: Any) -> Columns:
        return a["timestamp"], a["x"], a["y"], _on(a["polarity"])


class Aedat(Reader):
    """The ``aedat`` package's ``Decoder``: AEDAT 4 packets (events, frames, IMU, triggers)."""

    whole_file = False

    def prepare(self, path: str, fmt: str) -> None:
        import aedat

        self.decoder = aedat.Decoder(path)

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        for packet in self.decoder:
            if "events" in packet:
                yield packet["events"]

    def columns(self, a: Any) -> Columns:
        return a["t"], a["x"], a["y"], _on(a["on"])


class Faery(Reader):
    """faery's ``events_stream_from_file``: chunks of (t, x, y, on) records."""

    whole_file = False

    def prepare(self, path: str, fmt: str) -> None:
        import faery  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import faery

        return faery.events_stream_from_file(path)

    def columns(self, a: Any) -> Columns:
        return a["t"], a["x"], a["y"], _on(a["on"])


class TonicAedat4(Reader):
    """tonic's ``tonic.io.read_aedat4``: the whole file as tonic's structured array."""

    def prepare(self, path: str, fmt: str) -> None:
        import tonic.io  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import tonic.io

        yield tonic.io.read_aedat4(path)

    def columns(self, a: Any) -> Columns:
        return a["t"], a["x"], a["y"], _on(a["p"])


class Evt3Package(Reader):
    """The ``evt3`` package (Rust): ``decode_file`` (whole file) or ``decode_file_batches``."""

    def __init__(self, batches: bool) -> None:
        self.whole_file = not batches

    def prepare(self, path: str, fmt: str) -> None:
        import evt3  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import evt3

        if self.whole_file:
            yield evt3.decode_file(path)
        else:
            yield from evt3.decode_file_batches(path)

    def columns(self, e: Any) -> Columns:
        return e.timestamp.astype(np.int64), e.x, e.y, _on(e.polarity)


class Evio(Reader):
    """``evio.read(path)``: NumPy-only reader (DAT), a structured array."""

    def prepare(self, path: str, fmt: str) -> None:
        import evio  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import evio

        yield evio.read(path)

    def columns(self, a: Any) -> Columns:
        return a["t"], a["x"], a["y"], _on(a["p"])


class Aestream(Reader):
    """aestream's ``FileInput(path, shape).load()``: the whole file as a structured array (the
    shape only matters to its streaming outputs, not to ``load``)."""

    def prepare(self, path: str, fmt: str) -> None:
        import aestream

        self.input = aestream.FileInput(path, (1280, 720))

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        yield self.input.load()

    def columns(self, a: Any) -> Columns:
        return a["timestamp"], a["x"], a["y"], _on(a["polarity"])


class H5pyColumns(Reader):
    """h5py reading the four 1-D datasets of evlib's HDF5 layout (``/events/{t,x,y,p}``)."""

    def prepare(self, path: str, fmt: str) -> None:
        import h5py

        self.file = h5py.File(path, "r")

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        group = self.file["events"]
        yield {name: group[name][()] for name in ("t", "x", "y", "p")}

    def columns(self, c: Any) -> Columns:
        return c["t"], c["x"], c["y"], _on(c["p"])

    def count(self, c: Any) -> int:
        return len(c["t"])


class PyarrowCsv(Reader):
    """pyarrow's multi-threaded CSV reader on evlib's text layout (``# t x y p`` header line)."""

    def prepare(self, path: str, fmt: str) -> None:
        import pyarrow.csv  # noqa: F401

    def parts(self, path: str, fmt: str) -> Iterable[Any]:
        import pyarrow.csv as csv

        with open(path, "rb") as f:
            skip = 0
            for line in f:
                if not line.startswith(b"#"):
                    break
                skip += 1
        yield csv.read_csv(
            path,
            read_options=csv.ReadOptions(skip_rows=skip, column_names=["t", "x", "y", "p"]),
            parse_options=csv.ParseOptions(delimiter=" "),
        )

    def columns(self, table: Any) -> Columns:
        t = table["t"].to_numpy()
        if t.dtype.kind == "f":  # seconds
            t = np.rint(t * 1e6).astype(np.int64)
        return t, table["x"].to_numpy(), table["y"].to_numpy(), _on(table["p"].to_numpy())


READERS: dict[str, Callable[[], Reader]] = {
    "polars-frame": PolarsFrame,
    "evlib-batches": EvlibBatches,
    "expelliarmus-read": lambda: Expelliarmus(chunked=False),
    "expelliarmus-chunks": lambda: Expelliarmus(chunked=True),
    "dv-processing": DvProcessing,
    "aedat": Aedat,
    "faery": Faery,
    "tonic-aedat4": TonicAedat4,
    "evt3-decode-file": lambda: Evt3Package(batches=False),
    "evt3-decode-file-batches": lambda: Evt3Package(batches=True),
    "evio": Evio,
    "aestream": Aestream,
    "h5py": H5pyColumns,
    "pyarrow-csv": PyarrowCsv,
}


def time_decode(reader: Reader, path: str, fmt: str) -> dict[str, Any]:
    reader.prepare(path, fmt)
    start = time.perf_counter()
    if reader.whole_file:
        kept = list(reader.parts(path, fmt))
        seconds = time.perf_counter() - start
        events = sum(reader.count(part) for part in kept)
    else:
        events = 0
        for part in reader.parts(path, fmt):
            events += reader.count(part)
        seconds = time.perf_counter() - start
    return {"events": events, "seconds": seconds, "peak_rss_bytes": _peak_rss_bytes()}


def _peak_rss_bytes() -> int:
    """This process's peak RSS (the parent starts it through a small shell, so the figure is
    not the size of the Python that forked it: see measure.py)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def check_decode(reader: Reader, path: str, fmt: str, as_set: bool = False) -> dict[str, Any]:
    """Count, time range and digest in the reader's order; with ``as_set`` also the digest of
    the t column alone and of the rows sorted by (t, x, y, p), which tell a reader that only
    orders events of equal time differently from one that decodes other events."""
    reader.prepare(path, fmt)
    sha = hashlib.sha256()
    events = 0
    t_min: int | None = None
    t_max: int | None = None
    kept: list[np.ndarray] = []
    for part in reader.parts(path, fmt):
        t, x, y, p = reader.columns(part)
        rows = np.empty(len(t), dtype=ROWS)
        rows["t"], rows["x"], rows["y"], rows["p"] = t, x, y, p
        sha.update(rows.tobytes())
        events += len(rows)
        if as_set:
            kept.append(rows)
        if len(rows):
            lo, hi = int(rows["t"].min()), int(rows["t"].max())
            t_min = lo if t_min is None else min(t_min, lo)
            t_max = hi if t_max is None else max(t_max, hi)
    result: dict[str, Any] = {"events": events, "t_min": t_min, "t_max": t_max, "digest": sha.hexdigest()}
    if as_set:
        rows = np.concatenate(kept) if kept else np.empty(0, dtype=ROWS)
        result["t_digest"] = hashlib.sha256(np.ascontiguousarray(rows["t"]).tobytes()).hexdigest()
        rows.sort(order=["t", "x", "y", "p"])
        result["sorted_digest"] = hashlib.sha256(rows.tobytes()).hexdigest()
    return result


def main(argv: list[str]) -> int:
    name, mode, path, fmt = argv
    reader = READERS[name]()
    if mode == "time":
        result = time_decode(reader, path, fmt)
    else:
        result = check_decode(reader, path, fmt, as_set=mode == "check-set")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
