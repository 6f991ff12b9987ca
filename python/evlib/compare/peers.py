"""The readers compared: ours (C++ CLI and Python) and every peer on PyPI we found that reads
one of the formats, each one small adapter naming its environment, formats and command.

The decoding code of the Python readers is in ``_child.py`` (it runs inside the peer's own
environment); here is only what the parent needs to start it. Versions are pinned so that a
rerun measures the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .venvs import OURS, Environment

CHILD_SCRIPT = Path(__file__).with_name("_child.py")

EVLIB013 = Environment("evlib-0.13.2", ("evlib==0.13.2",))
EXPELLIARMUS = Environment("expelliarmus", ("expelliarmus==1.1.12",))
DV_PROCESSING = Environment("dv-processing", ("dv-processing==2.0.4",))
AEDAT = Environment("aedat", ("aedat==2.3.0",))
FAERY = Environment("faery", ("faery==0.7.1",))
TONIC = Environment("tonic", ("tonic==1.7.0", "aedat==2.3.0"))  # read_aedat4 imports aedat, which tonic does not declare
EVT3 = Environment("evt3", ("evt3==0.4.1",))
EVIO = Environment("evio", ("evio==0.1.0",))
AESTREAM = Environment("aestream", ("aestream==0.6.4",))
H5PY = Environment("h5py", ("h5py==3.16.0",))
PYARROW = Environment("pyarrow", ("pyarrow==26.0.1", "numpy==2.4.6"))  # _child.py needs NumPy

ALL_FORMATS = frozenset({"evt3", "evt2", "dat", "hdf5", "aedat4", "text"})


@dataclass(frozen=True)
class Peer:
    """One reader. ``ours`` readers are evlib's own; the others are what a user could pick instead.

    ``cli_args``: the reader is ``evlib bench FILE <cli_args>`` (our CLI); otherwise ``child`` names
    the adapter in ``_child.py`` run by the interpreter of ``env``, or ``script`` is a script of
    the same command line (``MODE PATH FORMAT``) and output as ``_child.py``."""

    name: str
    formats: frozenset[str]
    env: Environment = OURS
    child: str = ""
    script: str = ""
    cli_args: tuple[str, ...] = ()
    ours: bool = False
    python_api: bool = False  # ours through Python (the Python-API target compares these)
    streaming: bool = False
    max_events: int | None = None
    needs_extension: bool = False  # picks its decoder by file extension
    distribution: str = ""  # the pip distribution whose version the report names
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_cli(self) -> bool:
        return bool(self.cli_args)


PEERS: tuple[Peer, ...] = (
    Peer("evlib C++ (whole file)", ALL_FORMATS, cli_args=("--runs", "1", "--json", "--threads", "1"), ours=True,
         note="`evlib bench FILE --threads 1`: one evlib::read into columns"),
    Peer("evlib C++ (streaming)", ALL_FORMATS, cli_args=("--stream", "--runs", "1", "--json", "--threads", "1"), ours=True,
         streaming=True, note="`evlib bench FILE --stream --threads 1`: reused 1 Mi-event chunks"),
    Peer("evlib load_events", ALL_FORMATS, child="polars-frame", ours=True, python_api=True,
         note="`evlib.load_events(path).collect()`"),
    Peer("evlib iter_batches", ALL_FORMATS, child="evlib-batches", ours=True, python_api=True, streaming=True,
         note="`for b in evlib.iter_batches(path)`"),
    Peer("evlib 0.13.2 load_events", frozenset({"evt3", "evt2", "hdf5", "text"}), EVLIB013, "polars-frame",
         max_events=20_000_000, distribution="evlib",
         note="the PyPI evlib this package replaces; ≤ 20 M events (it copies through Python lists); "
              "it fails on DAT (reads it as text) and on AEDAT 4 (assumes a 1024x1024 sensor)"),
    Peer("expelliarmus read", frozenset({"evt3", "evt2", "dat"}), EXPELLIARMUS, "expelliarmus-read",
         needs_extension=True, distribution="expelliarmus", note="`Wizard(encoding, fpath).read()`"),
    Peer("expelliarmus read_chunk", frozenset({"evt3", "evt2", "dat"}), EXPELLIARMUS, "expelliarmus-chunks",
         streaming=True, needs_extension=True, distribution="expelliarmus",
         note="`Wizard(..., chunk_size=2**20).read_chunk()`"),
    Peer("faery", frozenset({"evt3", "evt2", "dat", "aedat4"}), FAERY, "faery", streaming=True,
         needs_extension=True, distribution="faery", note="`faery.events_stream_from_file(path)`"),
    Peer("evt3 decode_file", frozenset({"evt3"}), EVT3, "evt3-decode-file", needs_extension=True, distribution="evt3",
         note="`evt3.decode_file(path)` (Rust)"),
    Peer("evt3 decode_file_batches", frozenset({"evt3"}), EVT3, "evt3-decode-file-batches", streaming=True, needs_extension=True,
         distribution="evt3", note="`evt3.decode_file_batches(path)`, 8 MiB input batches"),
    Peer("aestream", frozenset({"evt3", "dat", "aedat4"}), AESTREAM, "aestream", needs_extension=True,
         distribution="aestream", note="`aestream.FileInput(path, shape).load()`"),
    Peer("evio", frozenset({"dat"}), EVIO, "evio", needs_extension=True, distribution="evio",
         note="`evio.read(path)` (NumPy only)"),
    Peer("dv-processing", frozenset({"aedat4"}), DV_PROCESSING, "dv-processing", streaming=True,
         distribution="dv-processing", note="`dv.io.MonoCameraRecording(path).getNextEventBatch()`"),
    Peer("aedat", frozenset({"aedat4"}), AEDAT, "aedat", streaming=True, distribution="aedat",
         note="`aedat.Decoder(path)` packets"),
    Peer("tonic read_aedat4", frozenset({"aedat4"}), TONIC, "tonic-aedat4", distribution="tonic",
         note="`tonic.io.read_aedat4(path)`"),
    Peer("h5py", frozenset({"hdf5"}), H5PY, "h5py", distribution="h5py",
         note="the four datasets of `/events` read whole (evlib's own layout)"),
    Peer("pyarrow read_csv", frozenset({"text"}), PYARROW, "pyarrow-csv", distribution="pyarrow",
         note="`pyarrow.csv.read_csv` (multi-threaded), space-separated"),
)


def by_name(names: list[str]) -> list[Peer]:
    known = {p.name: p for p in PEERS}
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"unknown reader(s) {', '.join(missing)}; known: {', '.join(known)}")
    return [known[n] for n in names]
