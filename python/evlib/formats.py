"""evlib 0.13's ``evlib.formats``: loading with column mapping, format detection and the two
writers, with evlib 0.13's names, tuple shapes and file layouts.

Deviations from evlib 0.13.2 (each where it lost or corrupted data, or refused what it could
have read) are listed in docs/compatibility.md.
"""

from __future__ import annotations

import os
import re
from typing import Any, Optional

import numpy as np
import polars as pl

from ._compat import DETECT_PREFIX, LOAD_PREFIX, check_readable, fspath, open_metadata, os_error, scan_compat

DETECTION_FAILED = "Format detection failed: "
"""evlib 0.13's prefix for ``detect_format`` errors."""

# evlib 0.13's format names with its descriptions (``get_format_description`` returns them as
# they are: callers compare them). DAT and NumPy are formats evlib 0.13 could not read.
_DESCRIPTIONS = {
    "Text": "Plain text format with space-separated values (t x y p)",
    "HDF5": "HDF5 hierarchical data format",
    "AER": "Address Event Representation (18-bit structure)",
    "AEDAT 1.0": "AEDAT 1.0 format (6 bytes per event)",
    "AEDAT 2.0": "AEDAT 2.0 format (32-bit big-endian)",
    "AEDAT 3.1": "AEDAT 3.1 format (signed little-endian)",
    "AEDAT 4.0": "AEDAT 4.0 format (DV framework)",
    "EVT2": "EVT2 format (Prophesee binary events)",
    "EVT2.1": "EVT2.1 format (Prophesee 64-bit vectorized binary events)",
    "EVT3": "EVT3 format (Prophesee vectorized binary events)",
    "Binary": "Raw binary event data",
    "Unknown": "Unknown or unsupported format",
    "DAT": "Prophesee DAT format (8-byte CD event records)",
    "NumPy": "NumPy .npy event array or .npz archive of event arrays",
}

# Our reader's format -> (evlib 0.13 name, its confidence, its detection_method) for formats
# recognised by a signature.
_SIGNED_FORMATS = {
    "evt2": ("EVT2", 0.95, "evt2_header"),
    "evt21": ("EVT2.1", 0.95, "evt21_header"),
    "evt3": ("EVT3", 0.95, "evt3_header"),
    "hdf5": ("HDF5", 0.95, "magic_bytes"),
    "aedat4": ("AEDAT 4.0", 0.9, "aedat4_header"),
    "aedat3": ("AEDAT 3.1", 0.9, "aedat3_header"),
    "dat": ("DAT", 0.9, "dat_header"),
    "npy": ("NumPy", 0.9, "npy_header"),
    "npz": ("NumPy", 0.9, "npz_archive"),
}
_AEDAT2_VERSIONS = {"1.0": ("AEDAT 1.0", 0.9, "aedat1_header"), "2.0": ("AEDAT 2.0", 0.9, "aedat2_header")}

# evlib 0.13's guess from the file name alone (case-sensitive, as it matched them).
_EXTENSION_GUESS = {
    ".txt": ("Text", 0.7),
    ".dat": ("Text", 0.7),
    ".h5": ("HDF5", 0.8),
    ".hdf5": ("HDF5", 0.8),
    ".aer": ("AER", 0.6),
    ".aedat": ("AEDAT 2.0", 0.5),
    ".raw": ("EVT2", 0.5),
    ".bin": ("Binary", 0.6),
}
_MIN_DETECT_BYTES = 8
_TEXT_PROBE_BYTES = 512
_TEXT_PROBE_LINES = 10

Detection = tuple[str, float, dict[str, str]]


def get_format_description(format: str) -> str:
    """A one-line description of a format named as :func:`detect_format` names it."""
    if not isinstance(format, str):
        raise TypeError(f"argument 'format': expected str, not {type(format).__name__}")
    return _DESCRIPTIONS.get(format, _DESCRIPTIONS["Unknown"])


def _looks_like_text(probe: bytes) -> bool:
    """evlib 0.13's test: almost only printable ASCII, and no RAW header marks."""
    content = probe.decode("utf-8", "replace")
    if "% evt " in content or "% format EVT" in content or "% end" in content:
        return False
    printable = sum(1 for b in probe if 0x21 <= b <= 0x7E or b in b" \t\n\x0c\r")
    return printable / len(probe) > 0.98


def _u16(field: str) -> bool:
    return re.fullmatch(r"\+?\d+", field) is not None and int(field) <= 0xFFFF


def _i8(field: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", field) is not None and -128 <= int(field) <= 127


def _f64(field: str) -> bool:
    return (
        re.fullmatch(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)", field, re.IGNORECASE)
        is not None
    )


def _text_confidence(path: str) -> float:
    """evlib 0.13's text score: 0.9 x the share of event-like lines among the first ten lines
    (blank and ``#`` lines not counted), or 0.3 when none is event-like. A line is event-like
    with four or more fields of which three parse as (float t, u16 x, u16 y, i8 p)."""
    with open(path, "rb") as f:
        lines = f.read(1 << 16).split(b"\n")[:_TEXT_PROBE_LINES]
    counted = valid = 0
    for raw in lines:
        line = raw.decode("utf-8", "replace").strip()
        if not line or line.startswith("#"):
            continue
        counted += 1
        parts = line.split()
        if len(parts) >= 4:
            good = _f64(parts[0]) + _u16(parts[1]) + _u16(parts[2]) + _i8(parts[3])
            valid += good >= 3
    return (valid / counted) * 0.9 if valid else 0.3


def _combine(path: str, content: tuple[str, float, str]) -> Detection:
    """evlib 0.13's merge of a content guess with the file name's guess."""
    name, confidence, method = content
    if confidence > 0.8:
        return name, confidence, {"detection_method": method}
    ext_name, ext_confidence = _EXTENSION_GUESS.get(os.path.splitext(path)[1], ("Unknown", 0.0))
    if ext_name == name:
        return name, min((ext_confidence + confidence) / 2.0 * 1.2, 1.0), {"detection_method": "extension_and_content"}
    if confidence > ext_confidence:
        return name, confidence, {"detection_method": method}
    return ext_name, ext_confidence, {"detection_method": "extension"}


def detect_format(path: Any) -> Detection:
    """The format of a file as ``(name, confidence, properties)``, named as evlib 0.13 named
    formats (``"EVT3"``, ``"AEDAT 4.0"``, ``"HDF5"``, ``"Text"``, ...; ``"DAT"`` and ``"NumPy"``
    for formats evlib 0.13 could not read). ``properties`` holds ``detection_method``.

    The decision is our reader's (the format :func:`load_events` will decode); the confidence and
    detection method follow evlib 0.13's rules. A file no reader recognises is
    ``("Unknown", 0.0, {"detection_method": "unknown"})``.

    Raises:
        OSError: ``"Format detection failed: ..."`` for a missing, empty or unreadable path.
    """
    target = fspath(path)
    check_readable(target, DETECTION_FAILED)
    if os.path.getsize(target) < _MIN_DETECT_BYTES and os.path.isfile(target):
        raise os_error(f"{DETECTION_FAILED}Insufficient data to determine format")
    try:
        metadata = open_metadata(target, DETECTION_FAILED, {})
    except OSError:
        return "Unknown", 0.0, {"detection_method": "unknown"}
    ours = metadata["format"]
    if ours == "aedat2":
        version = dict(metadata["header"]).get("version", "2.0")
        name, confidence, method = _AEDAT2_VERSIONS.get(version, _AEDAT2_VERSIONS["2.0"])
        return name, confidence, {"detection_method": method}
    if ours in _SIGNED_FORMATS:
        name, confidence, method = _SIGNED_FORMATS[ours]
        return name, confidence, {"detection_method": method}
    with open(target, "rb") as f:
        probe = f.read(_TEXT_PROBE_BYTES)
    if ours == "text" and _looks_like_text(probe):
        return _combine(target, ("Text", _text_confidence(target), "text_analysis"))
    return _combine(target, ("Unknown", 0.0, "unknown"))


def _column_spec(t_col: Optional[int], x_col: Optional[int], y_col: Optional[int], p_col: Optional[int]) -> str:
    """evlib 0.13's column indices (defaults t 0, x 1, y 2, p 3) as our reader's column spec
    (``"xypt"``, ``"t_xyp"``: one letter per field, ``_`` skips one)."""
    roles = {"t": 0 if t_col is None else t_col, "x": 1 if x_col is None else x_col}
    roles.update({"y": 2 if y_col is None else y_col, "p": 3 if p_col is None else p_col})
    for role, index in roles.items():
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"{role}_col must be a non-negative integer, not {index!r}")
    if len(set(roles.values())) != 4:
        raise ValueError(f"t_col, x_col, y_col and p_col must name four different columns, got {roles}")
    spec = ["_"] * (max(roles.values()) + 1)
    for role, index in roles.items():
        spec[index] = role
    return "".join(spec)


def _event_lines(path: str, header_lines: int, columns: str, metadata: dict[str, Any]) -> int:
    """How many of the first header_lines lines our text reader would take for events (with
    these columns: one letter per field, ``_`` skips one)."""
    split = re.compile(r",\s*" if dict(metadata["header"]).get("delimiter") == "comma" else r"\s+")
    checks = {"t": _f64, "x": _u16, "y": _u16, "p": lambda f: re.fullmatch(r"[+-]?\d+", f) is not None}
    count = 0
    with open(path, "rb") as f:
        for _, raw in zip(range(header_lines), f, strict=False):
            line = raw.decode("utf-8", "replace").strip()
            if not line or line[0] in "#%":
                continue
            fields = split.split(line)
            if len(fields) >= len(columns) and all(
                role == "_" or checks[role](field) for role, field in zip(columns, fields, strict=False)
            ):
                count += 1
    return count


def _text_metadata(path: str, options: dict[str, Any], columns: str, force_text: bool) -> Optional[dict[str, Any]]:
    """The file's metadata when it is text (else None). With force_text, a file no reader
    recognises is opened as text with these columns: the lines header_lines skips may be what
    hides it."""
    read = {k: v for k, v in options.items() if k == "format"}
    try:
        metadata = open_metadata(path, LOAD_PREFIX, read)
    except OSError:
        if not force_text or read:
            raise
        metadata = open_metadata(path, LOAD_PREFIX, {"format": "text", "text_columns": columns, "text_time_unit": "s"})
    return metadata if metadata["format"] == "text" else None


def load_events(
    path: Any,
    sort: bool = False,
    x_col: Optional[int] = None,
    y_col: Optional[int] = None,
    t_col: Optional[int] = None,
    p_col: Optional[int] = None,
    header_lines: int = 0,
    **kwargs: Any,
) -> pl.LazyFrame:
    """Load a whole file as a Polars LazyFrame, as evlib 0.13's ``evlib.formats.load_events``.

    Same columns as :func:`evlib.load_events`, no row filters (filter the frame: bounds on
    ``t``, ``x``, ``y`` and ``polarity`` are still pushed into the scan).

    Args:
        path: the file.
        sort: sort by ``t`` (stably).
        x_col, y_col, t_col, p_col: text files: the zero-based field of each value (defaults
            t 0, x 1, y 2, p 3).
        header_lines: text files: lines at the top that are not events, whatever they hold.
        **kwargs: read and streaming options of :func:`evlib.scan_events`.
    """
    if isinstance(header_lines, bool) or not isinstance(header_lines, int) or header_lines < 0:
        raise ValueError(f"header_lines must be a non-negative integer, not {header_lines!r}")
    target = fspath(path)
    mapped = any(c is not None for c in (x_col, y_col, t_col, p_col))
    options = dict(kwargs)
    if not (mapped or header_lines):
        return scan_compat(target, sort=sort, options=options)
    check_readable(target, DETECT_PREFIX)
    columns = options.get("text_columns") or _column_spec(t_col, x_col, y_col, p_col)
    metadata = _text_metadata(target, options, columns, force_text=header_lines > 0)
    if metadata is None:  # evlib 0.13 applied the text options to text files only
        return scan_compat(target, sort=sort, options=options)
    # Fixing the layout keeps the skipped lines from deciding the columns or the time unit.
    options.setdefault("format", "text")
    options["text_columns"] = columns
    options.setdefault("text_time_unit", "s")
    skip = _event_lines(target, header_lines, options["text_columns"], metadata)
    if not skip:
        return scan_compat(target, sort=sort, options=options)
    frame = scan_compat(target, sort=False, options=options).slice(skip)
    return frame.sort("t", maintain_order=True) if sort else frame


def _same_length(*arrays: np.ndarray) -> None:
    if len({len(a) for a in arrays}) != 1:
        raise ValueError("Arrays must have the same length")


def _columns(xs: Any, ys: Any, ts: Any, ps: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = tuple(np.ravel(np.asarray(a)) for a in (xs, ys, ts, ps))
    _same_length(*arrays)
    x, y, t, p = arrays
    return x.astype(np.int64), y.astype(np.int64), t.astype(np.float64), p.astype(np.int64)


def save_events_to_text(xs: Any, ys: Any, ts: Any, ps: Any, path: Any) -> None:
    """Writes events as evlib 0.13 did: a ``# timestamp x y polarity`` line, then one
    ``"<t in seconds, 12 decimals> <x> <y> <p>"`` line per event, values as given.

    Raises:
        ValueError: the arrays differ in length.
        OSError: ``"Failed to create file: ..."``.
    """
    x, y, t, p = _columns(xs, ys, ts, ps)
    target = fspath(path)
    frame = pl.DataFrame({"t": t, "x": x, "y": y, "p": p})
    try:
        with open(target, "wb") as f:
            f.write(b"# timestamp x y polarity\n")
            frame.write_csv(f, include_header=False, separator=" ", float_precision=12, line_terminator="\n")
    except OSError as e:
        raise os_error(f"Failed to create file: {e.strerror} (os error {e.errno})", e.errno) from e


def save_events_to_hdf5(xs: Any, ys: Any, ts: Any, ps: Any, path: Any) -> None:
    """Writes events in evlib 0.13's HDF5 layout: group ``events`` with ``xs`` and ``ys``
    (uint16), ``ts`` (float64 seconds) and ``ps`` (int8: -1 and 1 kept, anything else 0),
    uncompressed. Needs h5py (``pip install h5py``). :func:`evlib.load_events` reads these
    files back exactly (evlib 0.13.2 itself read ``ts`` as whole µs and -1 as +1).

    Raises:
        ValueError: the arrays differ in length.
        ImportError: h5py is not installed.
        OSError: ``"Failed to create HDF5 file: ..."``.
    """
    x, y, t, p = _columns(xs, ys, ts, ps)
    try:
        import h5py
    except ImportError as e:
        raise ImportError("evlib.save_events_to_hdf5 writes evlib 0.13's layout with h5py: pip install h5py") from e
    target = fspath(path)
    polarity = np.where((p == 1) | (p == -1), p, 0).astype(np.int8)
    try:
        with h5py.File(target, "w") as f:
            group = f.create_group("events")
            group.create_dataset("xs", data=x.astype(np.uint16))
            group.create_dataset("ys", data=y.astype(np.uint16))
            group.create_dataset("ts", data=t)
            group.create_dataset("ps", data=polarity)
    except OSError as e:
        raise os_error(f"Failed to create HDF5 file: {e}", getattr(e, "errno", None)) from e


__all__ = ["detect_format", "get_format_description", "load_events", "save_events_to_hdf5", "save_events_to_text"]
