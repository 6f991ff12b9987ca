"""Talks to the real evlib 0.13.2 from the test process.

The reference lives in its own virtual environment (scripts/reference-venvs.sh; the directory is
``$EVLIB_REFERENCE_VENV``, default ``.venv-evlib013`` at the repository root) because it is
imported as ``evlib`` too. :class:`Reference` keeps one ``evlib013_dump.py --serve`` process and
sends it one request per call.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[2]
DUMP_SCRIPT = HERE / "evlib013_dump.py"


def reference_python() -> Path:
    """The interpreter of the reference virtual environment (it may not exist)."""
    venv = Path(os.environ.get("EVLIB_REFERENCE_VENV", REPOSITORY / ".venv-evlib013"))
    return venv / "bin" / "python"


def unavailable_reason() -> Optional[str]:
    """Why the reference cannot run here, or None when it can."""
    python = reference_python()
    if not python.exists():
        return f"{python} is missing: run scripts/reference-venvs.sh to install evlib 0.13.2"
    return None


def reference_environment() -> dict[str, str]:
    """This process's environment without PYTHONPATH, which may point at our own package (also
    imported as ``evlib``) and would then shadow the reference's."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


@dataclass
class Outcome:
    """What one reference call did: returned a frame, returned a value, or raised."""

    raw: dict[str, Any]
    frame: Optional[pl.DataFrame] = None

    @property
    def ok(self) -> bool:
        return bool(self.raw["ok"])

    @property
    def value(self) -> Any:
        return self.raw.get("value")

    @property
    def error_type(self) -> Optional[str]:
        return self.raw.get("type")

    @property
    def error_message(self) -> Optional[str]:
        return self.raw.get("message")

    @property
    def stage(self) -> Optional[str]:
        return self.raw.get("stage")


class Reference:
    """One long-lived evlib 0.13.2 process answering calls."""

    def __init__(self) -> None:
        self._out = Path(tempfile.mkdtemp(prefix="evlib013-"))
        self._process = subprocess.Popen(
            [str(reference_python()), str(DUMP_SCRIPT), "--serve", str(self._out)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=reference_environment(),
        )
        self._count = 0

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=60)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Outcome:
        """Runs ``evlib.<name>(*args, **kwargs)`` in evlib 0.13.2 (paths as strings)."""
        self._count += 1
        request = {
            "id": f"r{self._count}",
            "call": name,
            "args": [os.fspath(a) if isinstance(a, os.PathLike) else a for a in args],
            "kwargs": kwargs,
        }
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the evlib 0.13.2 process ended (exit code {self._process.poll()})")
        raw = json.loads(line)
        frame = pl.read_ipc(self._out / raw["file"]) if raw.get("kind") == "frame" else None
        return Outcome(raw, frame)

    def save(self, name: str, xs: Any, ys: Any, ts: Any, ps: Any, path: Path) -> Outcome:
        """Runs evlib 0.13.2's ``save_events_to_hdf5`` or ``save_events_to_text`` on these arrays."""
        self._count += 1
        arrays = self._out / f"arrays{self._count}.npz"
        np.savez(arrays, xs=np.asarray(xs), ys=np.asarray(ys), ts=np.asarray(ts), ps=np.asarray(ps))
        return self.call(name, str(arrays), str(path))

    def on_events(self, name: str, events: pl.DataFrame, *args: Any, **kwargs: Any) -> Outcome:
        """Runs ``evlib.<name>(events, *args, **kwargs)`` in evlib 0.13.2 on a copy of ``events``
        (a LazyFrame there; a DataFrame with ``as_dataframe=True``)."""
        self._count += 1
        path = self._out / f"events{self._count}.arrow"
        events.write_ipc(path)
        return self.call(name, str(path), *args, **kwargs)
