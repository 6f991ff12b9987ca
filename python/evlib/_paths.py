"""Many files at once: paths and globs expanded to a list of files, and the choice of a ``file``
column (shared by the multi-file :func:`evlib.scan_events` and :mod:`evlib.dask`)."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Literal, Union

PathsLike = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]
FileColumn = Union[bool, Literal["categorical", "string"], None]


def native_path(path: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]) -> str:
    """A file name as the C++ core takes it: ``str``, ``bytes`` (decoded as the OS does) or a
    path object, refused with a clear error when it is not valid UTF-8 (a name of raw bytes,
    which Python holds with surrogate escapes): the core's paths are UTF-8 strings."""
    text = os.fsdecode(os.fspath(path))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{text!r}: the file name is not valid UTF-8, which evlib's native core needs; "
            "rename the file, or link it under a UTF-8 name") from None
    return text


def expand_paths(paths_or_glob: PathsLike) -> list[str]:
    """Absolute paths of the files named or matched (globs expanded to files, sorted; ``**``
    recursive). A name that exists is taken literally even when it looks like a glob."""
    items = [paths_or_glob] if isinstance(paths_or_glob, (str, bytes, os.PathLike)) else list(paths_or_glob)
    out: list[str] = []
    for item in items:
        text = native_path(item)
        if glob.has_magic(text) and not os.path.exists(text):
            matches = sorted(m for m in glob.glob(text, recursive=True) if os.path.isfile(m))
            if not matches:
                raise FileNotFoundError(f"{text}: no file matches")
        else:
            matches = [text]
        out += [os.path.abspath(native_path(m)) for m in matches]
    if not out:
        raise ValueError("no file given")
    return out


def file_column_kind(file_column: FileColumn, paths: Sequence[str]) -> Literal["categorical", "string", None]:
    """What ``file_column`` asks for: None (the default) is a categorical column when several
    files are read and none for one; True is categorical; False none."""
    if file_column is None:
        file_column = len(paths) > 1
    if file_column is False:
        return None
    if file_column is True or file_column == "categorical":
        return "categorical"
    if file_column == "string":
        return "string"
    raise ValueError(f"file_column must be None, a bool, 'categorical' or 'string', not {file_column!r}")
