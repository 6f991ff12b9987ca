"""evlib 0.13's ``load_events``, over the native lazy scan.

The frame has evlib 0.13's schema (``x`` Int16, ``y`` Int16, ``t`` Duration("us"), ``polarity``
Int8, in that order) and its polarity encoding per format, but it is a real lazy source: the
time window, region and polarity given here, and bounds found in later ``filter`` calls, are
pushed into the C++ scan. Where evlib 0.13.2 lost or corrupted data this module does the correct
thing; docs/compatibility.md lists every such deviation with the test that shows it.
"""

from __future__ import annotations

import errno
import math
import numbers
import os
import re
from decimal import Decimal
from typing import Any, Optional, Union

import polars as pl

from . import _core
from ._config import LoadConfig, split_options
from ._paths import native_path
from ._source import scan_frame

PathLike = Union[str, "os.PathLike[str]"]
Seconds = Union[int, float, Decimal]

DETECT_PREFIX = "Failed to detect format: "
"""evlib 0.13's prefix for a path it cannot examine (missing, empty, a directory)."""
LOAD_PREFIX = "Failed to load events: "
"""evlib 0.13's prefix for a file it examined but cannot decode."""

SIGNED = (-1, 1)
UNSIGNED = (0, 1)
_INT64_MAX = 2**63 - 1
_COORD_END = 0x10000

# evlib 0.13 gives -1/+1 for every format it decodes itself (RAW EVT, AEDAT 4.0, HDF5) and
# keeps the stored value for text; the formats it cannot read (DAT, NumPy, AEDAT 1-3 whose
# layouts it gets wrong) follow its documented -1/+1.
_TEXT_FORMATS = frozenset({"text"})
_TEXT_SNIFF_BYTES = 1 << 16
_TEXT_SNIFF_LIMIT = 1 << 26  # 64 MiB: millions of ON events before the first OFF one


def fspath(path: Any) -> str:
    """A path argument as a string (evlib 0.13 took only ``str``; any path-like works here)."""
    if isinstance(path, (str, os.PathLike)):
        result = os.fspath(path)
        if isinstance(result, str):
            return native_path(result)
    raise TypeError(f"argument 'path': expected a str or os.PathLike, not {type(path).__name__}")


def os_error(message: str, code: Optional[int] = None) -> OSError:
    """An OSError whose str() is message, as evlib 0.13's errors were."""
    error = OSError(message)  # one argument: str(error) is the message, as evlib 0.13's
    error.errno = code
    return error


def check_readable(path: str, prefix: str) -> None:
    """Raises evlib 0.13's OSError for a path that cannot hold events (missing, a directory,
    empty), before any decoder looks at it."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise os_error(f"{prefix}File not found: {path}", errno.ENOENT) from None
    except OSError as e:
        raise os_error(f"{prefix}I/O error: {e.strerror} (os error {e.errno})", e.errno) from None
    if os.path.isdir(path):
        raise os_error(f"{prefix}I/O error: {os.strerror(errno.EISDIR)} (os error {errno.EISDIR})", errno.EISDIR)
    if status.st_size == 0 and os.path.isfile(path):
        raise os_error(f"{prefix}File is empty")


def open_metadata(path: str, prefix: str, options: dict[str, Any]) -> dict[str, Any]:
    """Opens path with the C++ reader (header only) and returns its metadata; an error becomes
    evlib 0.13's OSError with ``prefix`` (the native message names the file and byte offset)."""
    check_readable(path, DETECT_PREFIX if prefix == LOAD_PREFIX else prefix)
    read, config = split_options(path, None, options)
    try:
        return dict(read.scan(config).metadata())
    except _core.Error as e:
        raise os_error(f"{prefix}{e}") from e


def _text_polarity_values(path: str, header: dict[str, str]) -> tuple[int, int]:
    """The values a text file stores for OFF and ON: -1/+1 when its first OFF event is written
    -1, else 0/1 (evlib 0.13 returns text polarities as stored). Lines are read until the first
    polarity other than 1 (a file of ON events only for its first 64 KiB, then -1, was read
    as 0/1), up to _TEXT_SNIFF_LIMIT bytes."""
    columns = header.get("columns", "txyp")
    if "p" not in columns:
        return UNSIGNED
    index = columns.index("p")
    split = re.compile(r",\s*" if header.get("delimiter") == "comma" else r"\s+")
    carry = b""
    with open(path, "rb") as f:
        for _ in range(_TEXT_SNIFF_LIMIT // _TEXT_SNIFF_BYTES):
            block = f.read(_TEXT_SNIFF_BYTES)
            lines = (carry + block).split(b"\n")
            carry = lines.pop() if block else b""  # a line cut at the block's end waits for the next
            for line in lines:
                stripped = line.decode("utf-8", "replace").strip()
                if not stripped or stripped[0] in "#%":
                    continue
                fields = split.split(stripped)
                if len(fields) <= index:
                    continue
                try:
                    value = float(fields[index])
                except ValueError:
                    continue  # a header row naming the columns
                if value != 1:
                    return SIGNED if value < 0 else UNSIGNED
            if not block:
                break
    return UNSIGNED


def polarity_values(path: str, metadata: dict[str, Any]) -> tuple[int, int]:
    """evlib 0.13's (OFF, ON) polarity values for this file."""
    if metadata["format"] in _TEXT_FORMATS:
        return _text_polarity_values(path, dict(metadata["header"]))
    return SIGNED


def text_options(metadata: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """evlib 0.13 read whitespace-separated text with times in seconds, integers included. Files
    it could not read keep the unit our reader finds: a header row that names the columns (it may
    say ``t_us``), Prophesee's ``%geometry`` CSV (µs), comma-separated text. An explicit
    ``text_time_unit`` wins."""
    if metadata["format"] not in _TEXT_FORMATS or options.get("text_time_unit"):
        return options
    header = dict(metadata["header"])
    if "header" in header or "geometry" in header or header.get("delimiter") != "whitespace":
        return options
    return {**options, "text_time_unit": "s"}


def _exact_microseconds(seconds: Any, name: str) -> Decimal:
    """seconds x 10^6 as the decimal the caller wrote (a float's shortest repr; may be infinite)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (numbers.Real, Decimal)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if isinstance(seconds, numbers.Integral):
        value = Decimal(int(seconds))
    elif isinstance(seconds, Decimal):
        value = seconds
    else:
        value = Decimal(repr(float(seconds)))
    if value.is_nan():
        raise ValueError(f"{name} is NaN")
    return value * 1_000_000


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, value))


def time_window(t_start: Optional[Seconds], t_end: Optional[Seconds]) -> tuple[Optional[int], Optional[int]]:
    """evlib 0.13's inclusive window in seconds as the scan's half-open window in µs.

    ``t_start`` keeps events at or after it: from the first whole µs not before it (ceil);
    ``t_end`` keeps events at or before it: up to the last whole µs not after it (floor), so the
    exclusive end is one µs later. evlib 0.13 truncated ``t * 1e6`` instead, which keeps an
    event at 1 µs for ``t_start=1.5e-6``. Infinite bounds are no bound or an empty window."""
    start = end = None
    if t_start is not None:
        us = _exact_microseconds(t_start, "t_start")
        if us.is_finite():
            start = _clamp(math.ceil(us), -_INT64_MAX, _INT64_MAX)
        elif us > 0:
            start = _INT64_MAX
    if t_end is not None:
        us = _exact_microseconds(t_end, "t_end")
        if us.is_finite():
            end = _clamp(math.floor(us) + 1, -_INT64_MAX, _INT64_MAX)
        elif us < 0:
            end = -_INT64_MAX
    return start, end


def _coordinate(value: Any, name: str) -> Union[int, float]:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if math.isnan(float(value)):
        raise ValueError(f"{name} is NaN")
    return float(value)


def region(min_x: Any, max_x: Any, min_y: Any, max_y: Any) -> Optional[tuple[int, int, int, int]]:
    """Inclusive bounds (any of them None) as the half-open region ``(x0, y0, x1, y1)``."""
    if min_x is None and max_x is None and min_y is None and max_y is None:
        return None

    def lower(value: Any, name: str) -> int:
        if value is None:
            return 0
        v = _coordinate(value, name)
        return _clamp(math.ceil(v) if math.isfinite(v) else (0 if v < 0 else _COORD_END), 0, _COORD_END)

    def upper(value: Any, name: str) -> int:
        if value is None:
            return _COORD_END
        v = _coordinate(value, name)
        return _clamp(math.floor(v) + 1 if math.isfinite(v) else (0 if v < 0 else _COORD_END), 0, _COORD_END)

    x0, x1 = lower(min_x, "min_x"), upper(max_x, "max_x")
    y0, y1 = lower(min_y, "min_y"), upper(max_y, "max_y")
    return x0, y0, max(x0, x1), max(y0, y1)


def scan_compat(
    path: Any,
    *,
    sort: bool,
    t_start: Optional[Seconds] = None,
    t_end: Optional[Seconds] = None,
    roi: Optional[tuple[int, int, int, int]] = None,
    polarity: Optional[int] = None,
    options: Optional[dict[str, Any]] = None,
) -> pl.LazyFrame:
    """The compat-layout lazy frame of a file, opened now so that errors surface at call time."""
    target = fspath(path)
    opts = dict(options or {})
    metadata = open_metadata(target, LOAD_PREFIX, _read_options(opts))
    opts = text_options(metadata, opts)
    start_us, end_us = time_window(t_start, t_end)
    return scan_frame(
        target,
        layout="compat",
        polarity_values=polarity_values(target, metadata),
        t_start_us=start_us,
        t_end_us=end_us,
        roi=roi,
        polarity=_polarity(polarity),
        sort=sort,
        **opts,
    )


def _read_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options that change how the file is opened (the rest only change streaming)."""
    streaming = set(LoadConfig.__dataclass_fields__)
    return {k: v for k, v in options.items() if k not in streaming}


def _polarity(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(float(value))
        raise TypeError(f"polarity must be an integer, not {value!r}")
    return int(value)


def load_events(
    path: PathLike,
    t_start: Optional[Seconds] = None,
    t_end: Optional[Seconds] = None,
    min_x: Optional[int] = None,
    max_x: Optional[int] = None,
    min_y: Optional[int] = None,
    max_y: Optional[int] = None,
    polarity: Optional[int] = None,
    sort: bool = True,
    **kwargs: Any,
) -> pl.LazyFrame:
    """Load events as a Polars LazyFrame, as evlib 0.13's ``evlib.load_events`` did.

    Columns ``x`` Int16, ``y`` Int16, ``t`` Duration("us"), ``polarity`` Int8, in that order
    (also when no event is selected). Polarity is -1/+1 for every binary format and the stored
    value (0/1 or -1/+1) for text.

    Args:
        path: the file (a ``str`` or any path-like).
        t_start, t_end: inclusive bounds in seconds, in the file's clock.
        min_x, max_x, min_y, max_y: inclusive pixel bounds.
        polarity: keep only this polarity value (in the values the frame uses: ``-1`` or ``1``
            for binary formats).
        sort: sort by ``t`` (stably; free when the file is already in time order).
        **kwargs: read options (``format``, ``width``, ``height``, ``text_columns``,
            ``text_time_unit``, ...) and streaming options (``memory_limit``, ``progress``, ...)
            of :func:`evlib.scan_events`.

    Raises:
        OSError: at call time, with evlib 0.13's message prefix: ``"Failed to detect format: "``
            for a missing, empty or unreadable path, ``"Failed to load events: "`` for a file
            no reader recognises or whose header is damaged.
    """
    return scan_compat(
        path,
        sort=sort,
        t_start=t_start,
        t_end=t_end,
        roi=region(min_x, max_x, min_y, max_y),
        polarity=polarity,
        options=kwargs,
    )


__all__ = ["load_events"]
