"""The native API: lazy frames, files, batch iteration, conversion and saving."""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional, Union

import numpy as np
import polars as pl

from . import _core
from ._config import LoadConfig, ReadSettings, split_options
from ._paths import FileColumn, PathsLike, expand_paths, file_column_kind, native_path
from ._source import NATIVE_SCHEMA, Selection, scan_frame, selection_of, stream_batches
from ._times import RegionLike, TimeLike, optional_microseconds

PathLike = Union[str, "os.PathLike[str]"]


def _path(path: PathLike) -> str:
    return native_path(path)


def scan_events(
    path: PathsLike,
    *,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    roi: RegionLike | None = None,
    polarity: int | None = None,
    format: str | None = None,
    signed_polarity: bool = False,
    file_column: FileColumn = None,
    check_geometry: bool = True,
    config: LoadConfig | None = None,
    **options: Any,
) -> pl.LazyFrame:
    """A lazy frame over an event file, or over many, decoded by the C++ core only when collected.

    Columns: ``t`` Int64 (µs, the file's clock), ``x`` UInt16, ``y`` UInt16, ``p`` UInt8
    (1 = ON, 0 = OFF); with ``signed_polarity=True``, ``p`` is Int8 -1/+1 as in evlib 0.13.

    The frame is a Polars IO source: the columns selected, ``head(n)`` and the bounds on t, x,
    y and p found in filters (``pl.col("t") >= 5_000_000``, ``pl.col("x").is_between(0, 99)``,
    ...) reach the C++ scan, which seeks with the file's time index and drops other events
    inside the decoder; the full filter is still applied to every batch.

    Many files: ``path`` may be a list of paths or a glob (``"data/**/*.raw"``, sorted). The
    frame is the files' frames one after the other (``pl.concat``, files in the order given),
    each its own IO source, so projections and filters reach every file's C++ scan, and
    ``collect(engine="streaming")`` or ``sink_parquet`` stream file after file. Each file keeps
    its own clock. A ``file`` column (a ``pl.Enum`` of the paths, so one small integer per row)
    names each event's file (``file_column``: ``None`` with several files, ``True`` always,
    ``"string"`` as strings, ``False`` never); a filter on ``file`` runs in Polars after decoding,
    so choose files by their paths instead. The headers are read now: a missing or unreadable
    file is named at once, and files whose stated sensor sizes differ are refused (their x and
    y mean different pixels) unless ``check_geometry=False``.

    Args:
        path: the file (format detected from its content), a list of files, or a glob.
        t_start, t_end: keep ``t`` in ``[t_start, t_end)``: integer µs or ``"12.5s"``-style strings.
        roi: keep ``[x0, x1) x [y0, y1)`` given as ``(x0, y0, x1, y1)``.
        polarity: keep only ON (1) or OFF (0) events.
        format: skip detection and read as this format (``evlib.supported_formats()``).
        signed_polarity: ``p`` as Int8 -1 (OFF) / +1 (ON).
        file_column: the ``file`` column, see above.
        check_geometry: with several files, refuse files that state different sensor sizes.
        config: streaming options (:class:`LoadConfig`); its fields and the read options
            (``strict``, ``width``, ``height``, ``metavision_time_shift``, ``evt21_endianness``,
            ``aedat_camera``, ``text_columns``, ``text_time_unit``) are accepted as keywords too.

    Raises:
        evlib.FileError (an ``OSError``), evlib.UnsupportedFormatError, evlib.FormatError (a
        ``ValueError`` naming the byte offset): when the frame is collected (with several
        files, header errors when the frame is made).
    """
    several = not isinstance(path, (str, bytes, os.PathLike)) or glob.has_magic(os.fsdecode(os.fspath(path)))
    paths = expand_paths(path) if several else [_path(path)]
    # The values of the p column asked for; anything else would silently select no events
    # (evlib 0.13's load_events, whose frames compare polarity values, keeps that behaviour).
    if signed_polarity and polarity is not None:
        if isinstance(polarity, (str, bytes)) or polarity not in (-1, 1):
            raise ValueError(f"with signed_polarity=True, polarity must be -1 (OFF) or 1 (ON), not {polarity!r}")
        polarity = 1 if polarity == 1 else 0
    elif polarity is not None and (isinstance(polarity, (str, bytes)) or polarity not in (0, 1)):
        raise ValueError(f"polarity must be 0 (OFF) or 1 (ON), not {polarity!r}")

    def one(p: str) -> pl.LazyFrame:
        frame = scan_frame(
            p,
            layout="native",
            t_start_us=optional_microseconds(t_start, "t_start"),
            t_end_us=optional_microseconds(t_end, "t_end"),
            roi=roi,
            polarity=polarity,
            config=config,
            format=format,
            **options,
        )
        if signed_polarity:
            frame = frame.with_columns((pl.col("p").cast(pl.Int8) * 2 - 1).alias("p"))
        return frame

    kind = file_column_kind(file_column, paths)
    if not several and kind is None:
        return one(paths[0])
    if len(paths) > 1 and check_geometry:
        _check_same_geometry(paths, config, {"format": format, **options})
    file_type = pl.Enum(list(dict.fromkeys(paths))) if kind == "categorical" else pl.String()
    frames = [one(p) if kind is None else one(p).with_columns(pl.lit(p, dtype=file_type).alias("file")) for p in paths]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical", rechunk=False)


def _check_same_geometry(paths: Sequence[str], config: LoadConfig | None, options: dict[str, Any]) -> None:
    """Opens each file's header; raises when two files state different sensor sizes."""
    first: tuple[str, int, int] | None = None
    for p in paths:
        read, cfg = split_options(p, config, dict(options))
        metadata = read.scan(cfg).metadata()
        width, height = int(metadata.get("width") or 0), int(metadata.get("height") or 0)
        if not width or not height:
            continue  # the file states none: nothing to disagree with
        if first is None:
            first = (p, width, height)
        elif (width, height) != first[1:]:
            raise ValueError(
                f"{p}: sensor {width} x {height}, but {first[0]} is {first[1]} x {first[2]}; "
                "their x and y are different pixels (pass check_geometry=False to concatenate them anyway)"
            )


def _selection(
    t_start: TimeLike | None, t_end: TimeLike | None, roi: RegionLike | None, polarity: int | None
) -> Selection:
    if polarity is not None and polarity not in (0, 1):
        raise ValueError(f"polarity must be 0 (OFF) or 1 (ON), not {polarity!r}")
    return selection_of(optional_microseconds(t_start, "t_start"), optional_microseconds(t_end, "t_end"), roi, polarity)


class EventFile:
    """An event file, opened and its header parsed (no event decoded yet).

    ``format``, ``width``, ``height`` and ``header`` come from the header; ``n_events``,
    ``t_min`` and ``t_max`` take one pass over the events the first time one is asked for
    (the pass also builds the time index that makes later time windows cheap). Picklable: the
    copy reopens the file by path. A context manager: ``with evlib.open(path) as f:`` closes it
    on leaving the block, after which reading events raises ``ValueError`` (the header's
    properties and counts already taken stay available).
    """

    def __init__(self, path: PathLike, *, config: LoadConfig | None = None, **options: Any) -> None:
        self._read, self._config = split_options(_path(path), config, options)
        self._summary: Optional[dict[str, Any]] = None
        self._open()

    def _open(self) -> None:
        scan = self._read.scan(self._config)
        self._scan: Optional[_core.Scan] = scan
        self._metadata: dict[str, Any] = scan.metadata()

    def close(self) -> None:
        """Lets go of the file; reading events afterwards raises ``ValueError``. Closing twice
        does nothing."""
        self._scan = None

    @property
    def closed(self) -> bool:
        return self._scan is None

    def __enter__(self) -> EventFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open_scan(self) -> _core.Scan:
        if self._scan is None:
            raise ValueError(f"{self.path}: the evlib.EventFile is closed")
        return self._scan

    def __getstate__(self) -> dict[str, Any]:
        return {"read": self._read, "config": self._config, "summary": self._summary}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._read, self._config, self._summary = state["read"], state["config"], state["summary"]
        self._open()

    def __repr__(self) -> str:
        geometry = f"{self.width}x{self.height}" if self.width and self.height else "geometry unknown"
        return f"<evlib.EventFile {self.path!r} {self.format} {geometry}>"

    def _repr_png_(self) -> Optional[bytes]:
        """Jupyter's preview: the first 10 ms of events as a picture (evlib.render.preview_png);
        None once closed or when no preview can be drawn (the notebook then shows the text repr;
        ``_repr_html_`` says why)."""
        from .render import preview_png

        if self.closed:
            return None
        try:
            return preview_png(self)
        except _core.Error:
            return None

    def _repr_html_(self) -> Optional[str]:
        """Jupyter's preview: a short looping clip of the first 0.5 s (evlib.render.preview_html;
        the first 10 ms as a picture when this build writes no video); None once closed. When
        evlib cannot draw one (a sensor too large for memory, a corrupt start in strict mode),
        the repr and the reason in one line instead of a traceback under every display."""
        import html

        from .render import preview_html

        if self.closed:
            return None
        try:
            return preview_html(self)
        except _core.Error as error:
            return f"<p><code>{html.escape(repr(self))}</code>: no preview: {html.escape(str(error))}</p>"

    @property
    def path(self) -> str:
        return self._read.path

    @property
    def format(self) -> str:
        """The format's registry name (``evt3``, ``evt2``, ``dat``, ``hdf5``, ``aedat4``, ...)."""
        return str(self._metadata["format"])

    @property
    def width(self) -> Optional[int]:
        """Sensor width the file states, or None."""
        return int(self._metadata["width"]) or None

    @property
    def height(self) -> Optional[int]:
        """Sensor height the file states, or None."""
        return int(self._metadata["height"]) or None

    @property
    def header(self) -> dict[str, str]:
        """Header entries in file order (a later duplicate key wins)."""
        return dict(self._metadata["header"])

    @property
    def file_size(self) -> int:
        return int(self._metadata["file_size"])

    def _summarise(self) -> dict[str, Any]:
        """One pass over the events (t only) for the counts, time range and triggers."""
        if self._summary is None:
            events, t_min, t_max = 0, None, None
            triggers: list[dict[str, np.ndarray]] = []
            stream = self._open_scan().stream(columns=["t"])
            for batch in stream:
                t = batch.to_numpy()["t"]
                if len(t):
                    events += len(t)
                    lo, hi = int(t.min()), int(t.max())
                    t_min = lo if t_min is None else min(t_min, lo)
                    t_max = hi if t_max is None else max(t_max, hi)
                triggers.append(batch.triggers())
            columns: dict[str, Any] = {
                k: np.concatenate([tr[k] for tr in triggers]) if triggers else [] for k in ("t", "channel", "value")
            }
            trigger_frame = pl.DataFrame(columns, schema={"t": pl.Int64, "channel": pl.UInt8, "value": pl.UInt8})
            self._summary = {"n_events": events, "t_min": t_min, "t_max": t_max, "stats": stream.stats(), "triggers": trigger_frame}
        return self._summary

    @property
    def n_events(self) -> int:
        """Events in the file (one pass the first time)."""
        return int(self._summarise()["n_events"])

    @property
    def t_min(self) -> Optional[int]:
        """Earliest event time in µs (None without events)."""
        return self._summarise()["t_min"]

    @property
    def t_max(self) -> Optional[int]:
        """Latest event time in µs (None without events)."""
        return self._summarise()["t_max"]

    @property
    def decode_stats(self) -> dict[str, int]:
        """Corrupt and skipped input counted by the summary pass, by kind."""
        return dict(self._summarise()["stats"])

    @property
    def triggers(self) -> pl.DataFrame:
        """External trigger edges: ``t`` Int64 µs, ``channel`` UInt8, ``value`` UInt8 (1 rising)
        (from the same pass as ``n_events``)."""
        frame: pl.DataFrame = self._summarise()["triggers"]
        return frame

    def scan(self, **kwargs: Any) -> pl.LazyFrame:
        """:func:`scan_events` over this file with its read options and config."""
        self._open_scan()
        read = {k: v for k, v in vars(self._read).items() if k not in ("path", "extra") and v}
        config = kwargs.pop("config", self._config)
        return scan_events(self.path, config=config, **{**read, **kwargs})

    def iter_batches(
        self,
        *,
        by_count: int | None = None,
        by_time: TimeLike | None = None,
        t_start: TimeLike | None = None,
        t_end: TimeLike | None = None,
        roi: RegionLike | None = None,
        polarity: int | None = None,
        columns: Sequence[str] | None = None,
        progress: Any = None,
        config: LoadConfig | None = None,
    ) -> Iterator[_core.Batch]:
        """Batches of events (:class:`evlib.Batch`), decoded with the GIL released.

        Args:
            by_count: batches of this many events (the last may be shorter).
            by_time: windows ``[t, t + by_time)`` of µs (or ``"10ms"``), aligned on the first
                event; ``batch.window`` gives each window's bounds.
            t_start, t_end, roi, polarity: as :func:`scan_events`.
            columns: the native columns to decode (``"t"``, ``"x"``, ``"y"``, ``"p"``).
            progress: ``True`` for a tqdm bar, or ``callback(fraction, events, events_per_s)``.

        Without by_count or by_time, batches are the decoder's chunks (``LoadConfig.chunk_events``).
        A batch converts without copying: ``pl.DataFrame(batch)``, ``pa.record_batch(batch)``,
        ``batch.to_numpy()``; ``to_structured(batch)`` gives tonic's structured array.
        """
        self._open_scan()
        if by_count is not None and by_time is not None:
            raise ValueError("give by_count or by_time, not both")
        if by_count is not None and by_count <= 0:
            raise ValueError("by_count must be positive")
        width = optional_microseconds(by_time, "by_time")
        if width is not None and width <= 0:
            raise ValueError("by_time must be positive")
        cfg = (config or self._config).updated(progress=progress)
        return stream_batches(
            self._read,
            cfg,
            _selection(t_start, t_end, roi, polarity),
            by_count=by_count or 0,
            by_time=width or 0,
            columns=list(columns or ()),
            description=os.path.basename(self.path),
        )


def open(path: PathLike, *, config: LoadConfig | None = None, **options: Any) -> EventFile:  # noqa: A001
    """Opens an event file and parses its header (raises now if it cannot be read)."""
    return EventFile(path, config=config, **options)


def iter_batches(path: PathLike, **kwargs: Any) -> Iterator[_core.Batch]:
    """``evlib.open(path).iter_batches(**kwargs)`` (read options go to open)."""
    read_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in ("format", "strict", "width", "height")}
    return EventFile(path, **read_kwargs).iter_batches(**kwargs)


TONIC_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
"""tonic's event dtype (``tonic.io.events_struct`` in tonic 1.7): p is a bool, True = ON."""


def to_structured(batch: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """A NumPy structured array of a batch's events, tonic's event layout by default.

    ``dtype`` may be any structured dtype with fields among ``t``, ``x``, ``y``, ``p`` (a copy:
    structured arrays interleave the columns)."""
    columns = _numpy_columns(batch)
    target = np.dtype(dtype) if dtype is not None else TONIC_DTYPE
    if not target.names:
        raise TypeError(f"dtype must be a structured dtype with fields among t, x, y, p, not {target}")
    out = np.empty(len(columns["t"]), dtype=target)
    for name in target.names:
        if name not in columns:
            raise ValueError(f"no column {name!r} for the structured dtype")
        field = target.fields[name][0]
        values = columns[name]
        if field.kind in "iu" and values.size:  # a narrower field would wrap the values
            info = np.iinfo(field)
            if values.min() < info.min or values.max() > info.max:
                raise ValueError(f"column {name} has values outside the field's {field.name}")
        out[name] = values
    return out


def _numpy_columns(data: Any) -> dict[str, np.ndarray]:
    """Native t, x, y, p arrays of a batch, a frame (native or evlib 0.13 layout) or a dict."""
    if isinstance(data, _core.Batch):
        return dict(data.to_numpy())
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        data = {name: data.get_column(name) for name in data.columns}
    if isinstance(data, np.ndarray) and data.dtype.names:
        data = {name: data[name] for name in data.dtype.names}
    if not isinstance(data, dict):
        raise TypeError(f"expected a Batch, a Polars frame, a dict of arrays or a structured array, not {type(data).__name__}")
    return _native_columns(data)


def _native_columns(columns: dict[str, Any]) -> dict[str, np.ndarray]:
    if "p" not in columns and "polarity" in columns:
        columns = {**columns, "p": columns["polarity"]}
    missing = [name for name in NATIVE_SCHEMA if name not in columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)} (need t, x, y and p or polarity)")
    out: dict[str, np.ndarray] = {"t": _as(_series_values(columns["t"], "t"), np.int64, "t")}
    for name in ("x", "y"):
        out[name] = _as(_series_values(columns[name], name), np.uint16, name)
    p = np.asarray(_series_values(columns["p"], "p"))
    if p.dtype.kind not in "biuf":
        raise TypeError(f"column p must hold numbers (ON > 0), not {p.dtype}")
    if p.dtype.kind == "f" and not np.isfinite(p).all():  # NaN > 0 is False: it was written as OFF
        raise ValueError("column p holds NaN or infinite values")
    out["p"] = np.ascontiguousarray(p > 0, dtype=np.uint8)
    return out


def _series_values(values: Any, name: str) -> Any:
    """A Polars column as NumPy (nulls refused: to_numpy makes them NaN, which a cast or a
    comparison turns into a value); Durations in µs. Anything else as it is."""
    if not isinstance(values, pl.Series):
        return values
    if values.null_count():
        raise ValueError(f"column {name} holds {values.null_count()} null(s)")
    return values.to_numpy()  # a Duration as timedelta64 in its unit: _as converts it exactly or refuses


def _as(values: Any, dtype: type, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "m":  # timedelta64: to µs, exactly (a cast truncated 10 500 ns to 10 µs)
        if np.isnat(array).any():
            raise ValueError(f"column {name} holds NaT")
        in_us = array.astype("timedelta64[us]")
        if (in_us != array).any():
            raise ValueError(f"column {name} holds fractions of a microsecond")
        array = in_us.astype(np.int64)
    if array.dtype != dtype:
        if array.size and array.dtype.kind == "f":
            # Refused rather than cast: a fraction truncated (times in seconds all become 0), NaN
            # made 0, a number past the range wrapped.
            if not np.isfinite(array).all():
                raise ValueError(f"column {name} holds NaN or infinite values")
            if (array != np.trunc(array)).any():
                raise ValueError(f"column {name} holds fractions"
                                 + (" (times in seconds? give integer microseconds)" if name == "t" else ""))
        elif array.size and array.dtype.kind not in "iub":
            raise TypeError(f"column {name} must hold integers, not {array.dtype}")
        if array.size and array.dtype.kind in "iuf":
            info = np.iinfo(dtype)
            low, high = array.min(), array.max()
            # (float bounds: 2^63 is the first float64 past int64's maximum)
            if low < info.min or (high >= float(info.max) + 1 if array.dtype.kind == "f" else high > info.max):
                raise ValueError(f"column {name} has values outside {np.dtype(dtype).name}")
        array = array.astype(dtype)
    return np.ascontiguousarray(array)


def _write_options(path: str, format: str | None) -> tuple[str, dict[str, Any]]:
    name = format or _core.write_format_for(path)
    if name is None:
        raise _core.InvalidArgumentError(f"{path}: the extension names no format; give format= ({', '.join(writable_formats())})")
    info: dict[str, Any] = next((f for f in _core.formats() if f["name"] == name or name in f["aliases"]), {})
    return str(name), info


class TimeWrapWarning(UserWarning):
    """A format that stores time modulo 2^bits µs (EVT 3.0: 24, EVT 2.x: 34) got a first event at
    or past it: the file reads back with times earlier by a multiple of 2^bits (differences kept)."""


def _warn_time_wrap(info: dict[str, Any], first_t: int, path: str) -> None:
    """The CLI's warning, as a Python warning: the writer keeps time modulo 2^bits from the first event."""
    bits = int(info.get("time_wrap_bits") or 0)
    if bits and first_t >= 1 << bits:
        shift = first_t >> bits << bits
        warnings.warn(f"{info.get('name')} stores time modulo 2^{bits} us: {path} will read back with times "
                      f"{shift} us earlier (the first event is at {first_t} us)", TimeWrapWarning, stacklevel=3)


def save(
    data: Any,
    path: PathLike,
    *,
    format: str | None = None,
    width: int | None = None,
    height: int | None = None,
    overwrite: bool = False,
    compression: str | None = None,
    header: dict[str, str] | Sequence[tuple[str, str]] | None = None,
    triggers: pl.DataFrame | dict[str, Any] | None = None,
) -> int:
    """Writes events to any writable format; returns the number of events written.

    ``data`` is a Polars frame (native columns or evlib 0.13's), a dict of NumPy arrays
    (``t``, ``x``, ``y``, ``p``), a structured array, a :class:`Batch`, or an iterable of
    batches or frames (streamed: memory stays bounded). Time must not decrease. The format
    comes from ``format`` or the extension (``.raw`` is EVT 3.0); formats that store the sensor
    size take ``width``/``height`` (else the events' extent).
    """
    target = _path(path)
    name, info = _write_options(target, format)
    parts = _parts(data)
    if (not width or not height) and info.get("geometry") in ("required", "expected"):
        parts = list(parts)
        inferred = _extent(parts)
        width, height = width or inferred[0], height or inferred[1]
    writer = _core.Writer(
        target,
        format=name,
        width=width or 0,
        height=height or 0,
        overwrite=overwrite,
        header=_header_pairs(header),
        compression=compression or "",
    )
    pending = _trigger_arrays(triggers)
    try:
        for part in parts:
            c = _numpy_columns(part)
            if len(c["t"]) and writer.events_written == 0:
                _warn_time_wrap(info, int(c["t"][0]), target)
            # Triggers go with the events they fall among (the writer merges each call by time).
            cut = int(np.searchsorted(pending["t"], c["t"][-1], side="right")) if len(c["t"]) else 0
            now = {k: v[:cut] for k, v in pending.items()}
            pending = {k: v[cut:] for k, v in pending.items()}
            writer.write_arrays(c["t"], c["x"], c["y"], c["p"], trigger_t=now["t"], trigger_channel=now["channel"], trigger_value=now["value"])
        if len(pending["t"]):
            c = _native_columns({k: np.empty(0, dtype=v) for k, v in (("t", np.int64), ("x", np.uint16), ("y", np.uint16), ("p", np.uint8))})
            writer.write_arrays(c["t"], c["x"], c["y"], c["p"], trigger_t=pending["t"], trigger_channel=pending["channel"], trigger_value=pending["value"])
        written = int(writer.events_written)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return written


def _header_pairs(header: Any) -> list[tuple[str, str]]:
    """Header keys and values: a dict or (key, value) pairs of strings, without line breaks (a
    line break would end the header line and put the rest on a line of its own)."""
    pairs = list(header.items()) if isinstance(header, dict) else list(header or ())
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(v, str) for v in pair)):
            raise TypeError(f"header: give a dict of str to str or (key, value) pairs of str, not {pair!r}")
        if any(c in v for v in pair for c in "\r\n"):
            raise ValueError(f"header: a key or value holds a line break: {pair!r}")
    return pairs


def _trigger_arrays(triggers: pl.DataFrame | dict[str, Any] | None) -> dict[str, np.ndarray]:
    """Trigger columns t (int64), channel and value (uint8), sorted by time (stably)."""
    if isinstance(triggers, dict):  # columns t, channel, value as for the events
        triggers = pl.DataFrame(triggers)
    if triggers is None or not len(triggers):
        return {"t": np.empty(0, np.int64), "channel": np.empty(0, np.uint8), "value": np.empty(0, np.uint8)}
    missing = [name for name in ("t", "channel", "value") if name not in triggers.columns]
    if missing:
        raise ValueError(f"triggers: missing column(s) {', '.join(missing)} (need t, channel and value)")
    # The events' checks (nulls, fractions, ranges), named as trigger columns: a cast made a null
    # time INT64_MIN and a fraction of a µs a whole one, silently.
    columns = {name: _as(_series_values(triggers.get_column(name), f"trigger {name}"), dtype, f"trigger {name}")
               for name, dtype in (("t", np.int64), ("channel", np.uint8), ("value", np.uint8))}
    order = np.argsort(columns["t"], kind="stable")
    return {name: np.ascontiguousarray(values[order]) for name, values in columns.items()}


def _parts(data: Any) -> Iterable[Any]:
    if isinstance(data, (pl.DataFrame, _core.Batch, dict, np.ndarray)):
        return [data]
    if isinstance(data, pl.LazyFrame):
        return data.collect_batches() if hasattr(data, "collect_batches") else [data.collect()]
    if isinstance(data, Iterable):
        return data
    raise TypeError(f"cannot save a {type(data).__name__}")


def _extent(parts: list[Any]) -> tuple[int, int]:
    width = height = 0
    for part in parts:
        c = _numpy_columns(part)
        if len(c["x"]):
            width, height = max(width, int(c["x"].max()) + 1), max(height, int(c["y"].max()) + 1)
    if not width:
        raise _core.InvalidArgumentError("no events to infer the sensor size from; give width= and height=")
    return width, height


def convert(
    src: PathLike,
    dst: PathLike,
    *,
    to: str | None = None,
    overwrite: bool = False,
    width: int | None = None,
    height: int | None = None,
    compression: str | None = None,
    header: dict[str, str] | Sequence[tuple[str, str]] | None = None,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    roi: RegionLike | None = None,
    polarity: int | None = None,
    drop_triggers: bool = False,
    progress: Any = None,
    config: LoadConfig | None = None,
    **options: Any,
) -> int:
    """Converts an event file to another format, streamed in bounded memory; returns the events
    written. ``to`` names the output format (else the extension picks it); the geometry is the
    source's unless given (inferred from the events for formats that need one)."""
    f = EventFile(src, config=config, **options)
    _refuse_input_as_output(_path(src), _path(dst))
    name, info = _write_options(_path(dst), to)
    width, height = width or f.width, height or f.height
    if (not width or not height) and info.get("geometry") in ("required", "expected"):
        extent = _scan_extent(f)
        width, height = width or extent[0], height or extent[1]
    writer = _core.Writer(
        _path(dst),
        format=name,
        width=width or 0,
        height=height or 0,
        overwrite=overwrite,
        header=_header_pairs(header),
        compression=compression or "",
    )
    try:
        for batch in f.iter_batches(t_start=t_start, t_end=t_end, roi=roi, polarity=polarity, progress=progress):
            if len(batch) and writer.events_written == 0:
                _warn_time_wrap(info, int(batch.to_numpy()["t"][0]), _path(dst))
            writer.write_batch(batch, not drop_triggers)
        written = int(writer.events_written)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return written


def _refuse_input_as_output(src: str, dst: str) -> None:
    """``overwrite`` replaces an old output, never the recording being read (through another
    name or a link too)."""
    try:
        same = os.path.samefile(src, dst)
    except OSError:  # dst does not exist yet (or src is not a file on disk)
        return
    if same:
        raise _core.FileError(f"{dst}: is the input {src}: give another output name")


def _scan_extent(f: EventFile) -> tuple[int, int]:
    width = height = 0
    for batch in f.iter_batches(columns=["x", "y"]):
        c = batch.to_numpy()
        if len(c["x"]):
            width, height = max(width, int(c["x"].max()) + 1), max(height, int(c["y"].max()) + 1)
    if not width:
        raise _core.InvalidArgumentError(f"{f.path} states no sensor geometry and has no events to infer it from; give width= and height=")
    return width, height


def supported_formats() -> list[str]:
    """Names of the formats this build reads."""
    return [f["name"] for f in _core.formats() if f["readable"]]


def writable_formats() -> list[str]:
    """Names of the formats this build writes."""
    return [f["name"] for f in _core.formats() if f["writable"]]
