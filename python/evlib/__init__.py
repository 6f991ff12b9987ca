"""evlib: event-camera recordings as lazy Polars frames, Arrow and NumPy, from a C++20 core.

Native API (the C++ table's schema: ``t`` Int64 µs, ``x`` UInt16, ``y`` UInt16, ``p`` UInt8
with 1 = ON): :func:`scan_events` (a lazy Polars source with pushdown), :func:`open` (an
:class:`EventFile` with its header, counts and ``iter_batches``), :func:`convert`,
:func:`save`. Processing (frames, histograms, voxel grids, time surfaces, denoising filters):
:mod:`evlib.ops`. evlib 0.13's API: :func:`load_events`, :mod:`evlib.formats`,
:mod:`evlib.filtering`, :mod:`evlib.representations`.

Importing evlib starts no thread and opens no file.
"""

from __future__ import annotations

from . import _core
from ._api import (
    EventFile,
    TimeWrapWarning,
    convert,
    iter_batches,
    open,
    save,
    scan_events,
    supported_formats,
    to_structured,
    writable_formats,
)
from ._config import LoadConfig
from ._core import (
    Batch,
    Error,
    FileError,
    FormatError,
    InvalidArgumentError,
    UnsupportedFormatError,
)

__version__ = "0.14.0"


def version() -> str:
    """The package version."""
    return __version__


def _batch_to_structured(self: Batch, dtype: object = None) -> object:
    """The batch as a NumPy structured array (tonic's ``events_struct`` by default; a copy)."""
    return to_structured(self, dtype)  # type: ignore[arg-type]


def _batch_to_pandas(self: Batch) -> object:
    """The batch as a pandas DataFrame (through pyarrow; pandas backed by NumPy copies)."""
    import pyarrow as pa

    return pa.table(self).to_pandas()


def _batch_to_polars(self: Batch) -> object:
    """The batch as a Polars DataFrame sharing the C++ memory."""
    import polars as pl

    return pl.DataFrame(self)


Batch.to_structured = _batch_to_structured  # type: ignore[method-assign,assignment]
Batch.to_pandas = _batch_to_pandas  # type: ignore[method-assign,assignment]
Batch.to_polars = _batch_to_polars  # type: ignore[method-assign,assignment]

from . import filtering, formats, ops, render, representations  # noqa: E402
from ._compat import load_events  # noqa: E402
from .formats import detect_format, get_format_description, save_events_to_hdf5, save_events_to_text  # noqa: E402



def __getattr__(name: str) -> object:
    """``evlib.dask`` is imported on first use: it needs Dask, an optional dependency."""
    if name in ("dask", "plot"):  # evlib.plot: matplotlib, imported when a plot is drawn
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'evlib' has no attribute {name!r}")


__all__ = [
    "Batch",
    "Error",
    "EventFile",
    "TimeWrapWarning",
    "FileError",
    "FormatError",
    "InvalidArgumentError",
    "LoadConfig",
    "UnsupportedFormatError",
    "convert",
    "detect_format",
    "filtering",
    "formats",
    "get_format_description",
    "iter_batches",
    "load_events",
    "open",
    "ops",
    "representations",
    "save",
    "save_events_to_hdf5",
    "save_events_to_text",
    "scan_events",
    "supported_formats",
    "to_structured",
    "version",
    "writable_formats",
]
