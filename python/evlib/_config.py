"""Options that say how a file is opened and how it is streamed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Literal, Optional, Union

from . import _args, _core
from ._times import parse_bytes

ProgressCallback = Callable[[float, int, float], Any]
"""``callback(fraction, events, events_per_second)``, called between chunks."""

DEFAULT_STREAMING_THRESHOLD = 5_000_000


@dataclass(frozen=True)
class LoadConfig:
    """Streaming options (every loading function also takes them as keyword arguments).

    Attributes:
        streaming_threshold: a file estimated to hold more events than this is never decoded
            in one piece: it streams in chunks of ``chunk_events``. Smaller files are decoded
            whole (in parallel when the file is indexed). Default 5 M events. A sorted frame
            (``sort=True``, ``evlib.load_events``' default) holds all its events before its first
            row anyway: without a filter it is decoded whole whatever its size, unless
            ``memory_limit`` is set or the threshold is 0 (every file streams).
        chunk_events: events per chunk; ``None`` adapts to the memory available (and
            ``memory_limit``).
        memory_limit: bytes (or a string such as ``"256M"``) that chunk buffers, decoding
            threads and one-piece loads may use; ``None``: what the system has available.
        threads: decoding threads (0: all cores this process may use, up to 8).
        index: the time index policy: ``"auto"`` (build on a full pass, cache it), ``"memory"``
            (never cached on disk) or ``"off"``.
        index_dir: where cached indexes go (default: ``$XDG_CACHE_HOME/evlib``, else beside
            the file).
        progress: ``True`` for a tqdm bar (notebook-aware), or a callback
            ``callback(fraction, events, events_per_second)``.
    """

    streaming_threshold: int = DEFAULT_STREAMING_THRESHOLD
    chunk_events: Optional[int] = None
    memory_limit: Union[int, str, None] = None
    threads: int = 0
    index: Literal["auto", "memory", "off"] = "auto"
    index_dir: Optional[str] = None
    progress: Union[bool, ProgressCallback] = False

    def __post_init__(self) -> None:
        # Whole numbers in the C++ types' ranges (a nanobind signature dump otherwise).
        object.__setattr__(self, "streaming_threshold",
                           _args.whole(self.streaming_threshold, "streaming_threshold", 0, _args.UINT64_MAX))
        if self.chunk_events is not None:
            object.__setattr__(self, "chunk_events", _args.whole(self.chunk_events, "chunk_events", 1, _args.UINT64_MAX))
        object.__setattr__(self, "threads", _args.whole(self.threads, "threads", 0, 2**32 - 1))
        if self.index not in ("auto", "memory", "off"):
            raise ValueError(f"index must be 'auto', 'memory' or 'off', not {self.index!r}")
        limit = self.memory_limit
        if limit is not None and not isinstance(limit, str):
            limit = _args.whole(limit, "memory_limit", 0, _args.UINT64_MAX)
        object.__setattr__(self, "memory_limit", parse_bytes(limit))
        if self.index_dir is not None and not isinstance(self.index_dir, str):
            raise TypeError(f"index_dir must be a str, not {type(self.index_dir).__name__}")

    def updated(self, **changes: Any) -> "LoadConfig":
        """A copy with the given fields changed (``None`` values leave a field as it is)."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class ReadSettings:
    """How to open one file: the path and the read options of the C++ reader. Picklable."""

    path: str
    format: str = ""
    strict: bool = False
    width: int = 0
    height: int = 0
    metavision_time_shift: bool = False
    evt21_endianness: str = ""
    aedat_camera: str = ""
    text_columns: str = ""
    text_time_unit: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def scan(self, config: LoadConfig) -> _core.Scan:
        """A fresh C++ plan for this file with config's threads, memory and index settings."""
        scan = _core.Scan(
            self.path,
            format=self.format,
            strict=self.strict,
            chunk_events=config.chunk_events or 0,
            width=self.width,
            height=self.height,
            metavision_time_shift=self.metavision_time_shift,
            evt21_endianness=self.evt21_endianness,
            aedat_camera=self.aedat_camera,
            text_columns=self.text_columns,
            text_time_unit=self.text_time_unit,
        )
        if config.threads:
            scan = scan.threads(config.threads)
        if config.memory_limit:
            scan = scan.memory_limit(int(config.memory_limit))
        if config.index != "auto":
            scan = scan.index(config.index)
        if config.index_dir:
            scan = scan.index_dir(config.index_dir)
        return scan


READ_OPTION_NAMES = (
    "format",
    "strict",
    "width",
    "height",
    "metavision_time_shift",
    "evt21_endianness",
    "aedat_camera",
    "text_columns",
    "text_time_unit",
)
CONFIG_OPTION_NAMES = tuple(f.name for f in fields(LoadConfig))


def split_options(path: str, config: LoadConfig | None, options: dict[str, Any]) -> tuple[ReadSettings, LoadConfig]:
    """Read settings and a LoadConfig from keyword arguments (unknown names raise TypeError)."""
    read = {k: v for k, v in options.items() if k in READ_OPTION_NAMES and v is not None}
    streaming = {k: v for k, v in options.items() if k in CONFIG_OPTION_NAMES}
    unknown = set(options) - set(READ_OPTION_NAMES) - set(CONFIG_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    if config is not None and not isinstance(config, LoadConfig):
        raise TypeError(f"config must be an evlib.LoadConfig, not {type(config).__name__}")
    return ReadSettings(path, **_checked_read_options(read)), (config or LoadConfig()).updated(**streaming)


def _checked_read_options(read: dict[str, Any]) -> dict[str, Any]:
    """The reader's options in the types of its binding, or an error naming the option."""
    checked = dict(read)
    for name in ("width", "height"):
        if name in checked:
            checked[name] = _args.whole(checked[name], name, 0, 2**32 - 1)
    for name in ("strict", "metavision_time_shift"):
        if name in checked:
            checked[name] = _args.flag(checked[name], name)
    for name in ("format", "evt21_endianness", "aedat_camera", "text_columns", "text_time_unit"):
        if name in checked and not isinstance(checked[name], str):
            raise TypeError(f"{name} must be a str, not {checked[name]!r}")
    return checked
