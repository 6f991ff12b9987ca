"""The C++ core of evlib (nanobind binding)."""

from collections.abc import Sequence
from typing import Annotated, Any

import numpy
from numpy.typing import NDArray
from typing_extensions import CapsuleType

import pandas
import polars


class Error(Exception):
    """Base class of the errors evlib raises."""

class FileError(Error, OSError):
    """The operating system refused an operation on a file."""

class FormatError(Error, ValueError):
    """
    The bytes of a file do not follow its format (the message names the byte offset).
    """

class UnsupportedFormatError(Error, OSError, ValueError):
    """No format recognises the file, or this build cannot read or write it."""

class InvalidArgumentError(Error, ValueError):
    """An argument evlib cannot use."""

class Batch:
    """
    A batch of events decoded by the C++ core. Converts without copying to Polars (pl.DataFrame(batch)), pyarrow (pa.record_batch(batch), pa.table(batch)) and NumPy (batch.to_numpy()).
    """

    def __len__(self) -> int: ...

    def to_structured(self, dtype: numpy.dtype | None = None) -> numpy.ndarray:
        """The events as a structured array (tonic's events_struct by default; a copy)."""

    def to_pandas(self) -> pandas.DataFrame:
        """The batch as a pandas DataFrame (through pyarrow)."""

    def to_polars(self) -> polars.DataFrame:
        """The batch as a Polars DataFrame sharing the C++ memory."""

    @property
    def num_rows(self) -> int: ...

    @property
    def columns(self) -> list[str]:
        """Exported column names, in order."""

    @property
    def layout(self) -> str: ...

    @property
    def bytes_done(self) -> int:
        """File offset the decoder had reached when this batch was complete."""

    @property
    def window(self) -> tuple[int, int] | None:
        """The time window [start, end) of a by-time batch, else None."""

    def __arrow_c_schema__(self) -> CapsuleType: ...

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple:
        """A (schema, struct array) capsule pair (Arrow PyCapsule interface)."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> CapsuleType:
        """A one-batch Arrow stream capsule (Arrow PyCapsule interface)."""

    def to_numpy(self) -> dict:
        """
        The native columns (t int64, x uint16, y uint16, p uint8) as read-only NumPy arrays that share the C++ memory and keep it alive.
        """

    def triggers(self) -> dict:
        """Trigger edges decoded with this batch: t, channel, value (copies)."""

    def t_non_decreasing(self, after: int = -9223372036854775808) -> bool:
        """
        True when t never decreases in the batch and starts at or after `after`.
        """

    def __repr__(self) -> str: ...

class Scan:
    """
    An immutable plan to read one file: builder methods return new plans. Nothing is decoded until a stream runs it.
    """

    def __init__(self, path: str, *, format: str = '', strict: bool = False, chunk_events: int = 0, width: int = 0, height: int = 0, metavision_time_shift: bool = False, evt21_endianness: str = '', aedat_camera: str = '', text_columns: str = '', text_time_unit: str = '') -> None: ...

    def time(self, t0: int, t1: int) -> Scan:
        """Keep events with t in [t0, t1) (µs)."""

    def roi(self, x0: int, y0: int, x1: int, y1: int) -> Scan:
        """Keep events in [x0, x1) x [y0, y1)."""

    def polarity(self, p: int) -> Scan:
        """Keep ON (1) or OFF (0) events only."""

    def threads(self, n: int) -> Scan: ...

    def memory_limit(self, bytes: int) -> Scan: ...

    def index(self, policy: str) -> Scan:
        """"auto" (cached), "memory" (never cached) or "off"."""

    def index_dir(self, directory: str) -> Scan: ...

    @property
    def path(self) -> str: ...

    @property
    def filter(self) -> tuple:
        """(t0, t1, x0, y0, x1, y1, polarity bits) of the plan."""

    def time_index(self) -> list[tuple[int, int, int]] | None:
        """
        The time index's segments [(t_min, t_max, events), ...] in file order, when one is at hand without decoding (the format's own or a cached one), else None.
        """

    def metadata(self) -> dict:
        """
        The header as parsed (opens the file once; raises when it cannot be read).
        """

    def stream(self, *, by_count: int = 0, by_time: int = 0, keep_empty: bool = False, origin: int | None = None, layout: str = 'native', polarity_off: int = 0, polarity_on: int = 1, columns: Sequence[str] = [], progress: object | None = None, check_sorted: bool = False) -> BatchStream:
        """
        Start decoding: an iterator of Batch objects (decoder chunks, or by_count events, or by_time µs windows). progress(bytes_done, bytes_total, events, seconds) is called between chunks.
        """

    def collect_triggers(self) -> tuple:
        """
        The trigger edges in the plan's time window: (t, channel, value) lists.
        """

def collect(scan: Scan, *, layout: str = 'native', polarity_off: int = 0, polarity_on: int = 1, columns: Sequence[str] = [], progress: object | None = None) -> tuple[Batch, dict[str, int]]:
    """
    Everything the plan keeps in one batch (parallel over the time index when there is one) and the decode counters: (batch, stats). Fails before decoding when it cannot fit in memory.
    """

class BatchStream:
    """Batches of a running scan (an iterator)."""

    def __iter__(self) -> BatchStream: ...

    def __next__(self) -> Batch: ...

    @property
    def events(self) -> int:
        """Events delivered so far."""

    @property
    def batches(self) -> int:
        """Batches delivered so far."""

    @property
    def bytes_done(self) -> int:
        """File offset reached."""

    @property
    def t_sorted(self) -> bool:
        """
        With check_sorted: True while t has never decreased over the batches delivered.
        """

    @property
    def done(self) -> bool: ...

    def stats(self) -> dict:
        """Decode counters so far (words examined, corrupt words by kind)."""

    def close(self) -> None:
        """Stop decoding and free the stream's buffers."""

class Writer:
    """
    Writes events to a temporary file renamed into place by close(); a writer dropped without close() leaves nothing behind.
    """

    def __init__(self, path: str, *, format: str = '', width: int = 0, height: int = 0, overwrite: bool = False, header: Sequence[tuple[str, str]] = [], compression: str = '') -> None: ...

    def write_arrays(self, t: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)], x: Annotated[NDArray[numpy.uint16], dict(shape=(None,), order='C', device='cpu', writable=False)], y: Annotated[NDArray[numpy.uint16], dict(shape=(None,), order='C', device='cpu', writable=False)], p: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], *, trigger_t: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = None, trigger_channel: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = None, trigger_value: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = None) -> None:
        """
        Appends events from contiguous int64 / uint16 / uint16 / uint8 arrays; time must not decrease.
        """

    def write_batch(self, batch: Batch, triggers: bool = True) -> None: ...

    @property
    def events_written(self) -> int: ...

    def close(self) -> None:
        """Flushes, syncs and renames the file into place."""

    def abort(self) -> None:
        """Drops the temporary file."""

build_type: str
"""The CMake build type the extension was compiled with (Release for a wheel)."""

def formats() -> list[dict[str, Any]]:
    """Every registered format, in detection order, as dicts."""

def detect_format(path: str) -> str:
    """
    The format name detection picks for path; raises UnsupportedFormatError.
    """

def digest(batch: Batch) -> str:
    """
    SHA-256 of the batch's events row-packed little-endian (t, x, y, p: 13 bytes an event).
    """

ops: Any  # submodule evlib._core.ops: the processing kernels, typed through evlib.ops
ops_extra: Any  # submodule evlib._core.ops_extra: the tier-2 kernels, typed through evlib._ops_extra

def write_format_for(path: str) -> object:
    """The format a file name's extension selects for writing, or None."""

# Rendering (python/src/py_render.cpp), typed through evlib.render.
class FrameGenerator:
    def __init__(self, batches: Any, width: int, height: int, mode: str, palette: str, colors: str,
                 accumulate_us: int, fps: float, speed: float, from_us: int | None, to_us: int | None,
                 count_saturation: int, decay_param: float, synchronous_decay: bool, contribution: float,
                 max_potential: float, neutral_potential: float, min_potential: float,
                 ignore_polarity: bool, overlay: bool = False) -> None: ...
    def next(self) -> tuple[int, int, int, Any] | None: ...
    @property
    def period_us(self) -> float: ...
    @property
    def max_held_events(self) -> int: ...

class DvAccumulator:
    def __init__(self, width: int, height: int, linear: bool = False, decay_param: float = 1e6,
                 synchronous_decay: bool = False, contribution: float = 0.15, max_potential: float = 1.0,
                 neutral_potential: float = 0.0, min_potential: float = 0.0, ignore_polarity: bool = False) -> None: ...
    def accumulate(self, t: Any, x: Any, y: Any, p: Any) -> None: ...
    def potentials(self) -> Any: ...
    def generate_frame(self, out: Any) -> None: ...

class VideoWriter:
    def __init__(
        self, path: str, width: int, height: int, fps: float, codec: str = "", overwrite: bool = True, preset: str = "",
        crf: int = -1, x264_params: str = "", threads: int = 0,
    ) -> None: ...
    def write(self, rgb: Any) -> None: ...
    def finish(self) -> None: ...
    def discard(self) -> None: ...
    @property
    def codec(self) -> str: ...

def render_palettes() -> list[str]: ...
def encode_png(rgb: Any) -> bytes: ...
def video_available() -> bool: ...
def time_decay_colors(palette: str, colors: str = "") -> Any: ...
def fast_exp_decay(v: float) -> float: ...
