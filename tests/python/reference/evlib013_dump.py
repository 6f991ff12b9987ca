"""Run calls against the real evlib 0.13.2 and record what they return or raise.

This script runs under the reference virtual environment's interpreter (scripts/reference-venvs.sh),
never in the environment of our package: both are imported as ``evlib``. The compatibility tests
start it in a subprocess (see ``harness.py``) in one of two ways:

    python evlib013_dump.py REQUESTS.json OUT_DIR   # answers a list of requests at once
    python evlib013_dump.py --serve OUT_DIR         # answers one JSON request per stdin line

Each request is an object ``{"id": str, "call": str, "args": [...], "kwargs": {...}}`` where
``call`` names one of ``CALLS``. For the two writers, ``args`` is ``[arrays.npz, out_path]``: the
npz holds ``xs``, ``ys``, ``ts``, ``ps`` passed as they are stored. For ``filtering.<name>``
and ``representations.<name>``, ``args[0]`` is an Arrow IPC file of events, passed as a
LazyFrame (a DataFrame when the kwargs hold ``"as_dataframe": true``). ``OUT_DIR/results.json`` maps
every id to its result (``--serve`` prints each result as one line on stdout instead), one of:

- ``{"ok": true, "kind": "frame", "python_type": "LazyFrame", "schema": [[name, dtype], ...],
  "height": n, "file": "<id>.arrow"}``: the collected frame is in ``OUT_DIR/<id>.arrow`` (Arrow
  IPC, which keeps every dtype, Duration included);
- ``{"ok": true, "kind": "value", "value": ...}``: a JSON-able return value (tuples become lists,
  a NumPy array ``{"dtype": str, "shape": [...], "values": [flattened]}``);
- ``{"ok": false, "stage": "call" | "collect", "type": "OSError", "mro": [...], "message": str}``:
  the exception, and whether the call itself or ``collect()`` raised it.

One process answers many requests because importing evlib 0.13.2 takes over a second. Anything
evlib itself prints is swallowed so that stdout carries only results.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import evlib  # prints a notice when PyTorch is missing

import numpy as np
import polars as pl


def _save(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(arrays: str, path: str) -> Any:
        with np.load(arrays) as stored:
            return function(stored["xs"], stored["ys"], stored["ts"], stored["ps"], path)

    return call


def _write_hdf5(path: str, datasets: dict[str, list[Any]]) -> None:
    """Writes ``{"events/t": ["int64", [..]], ...}`` with h5py (an evlib 0.13.2 dependency), so
    that tests can build HDF5 layouts without h5py in their own environment."""
    import h5py

    with h5py.File(path, "w") as f:
        for name, (dtype, values) in datasets.items():
            f.create_dataset(name, data=np.asarray(values, dtype=dtype))


def _on_events(function: Callable[..., Any]) -> Callable[..., Any]:
    """Calls ``function`` on the events of an Arrow IPC file, as a LazyFrame or, when the
    request says ``as_dataframe``, a DataFrame (the form the caller is checking)."""

    def call(events: str, *args: Any, as_dataframe: bool = False, **kwargs: Any) -> Any:
        frame = pl.read_ipc(events)
        return function(frame if as_dataframe else frame.lazy(), *args, **kwargs)

    return call


CALLS: dict[str, Callable[..., Any]] = {
    "load_events": evlib.load_events,
    "formats.load_events": evlib.formats.load_events,
    "detect_format": evlib.detect_format,
    "get_format_description": evlib.get_format_description,
    "save_events_to_hdf5": _save(evlib.save_events_to_hdf5),
    "save_events_to_text": _save(evlib.save_events_to_text),
    "version": evlib.version,
    "module_all": lambda module: list(getattr(evlib, module).__all__),
    "write_hdf5": _write_hdf5,
    **{f"filtering.{name}": _on_events(getattr(evlib.filtering, name)) for name in evlib.filtering.__all__},
    **{
        f"representations.{name}": _on_events(getattr(evlib.representations, name))
        for name in evlib.representations.__all__
    },
}


def _exception(stage: str, error: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "stage": stage,
        "type": type(error).__name__,
        "mro": [cls.__name__ for cls in type(error).__mro__],
        "message": str(error),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape), "values": value.ravel().tolist()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


def answer(request: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Runs one request and describes its outcome (writing a frame next to the results)."""
    function = CALLS[request["call"]]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = function(*request.get("args", []), **request.get("kwargs", {}))
    except Exception as error:  # noqa: BLE001 - the reference's exceptions are what we record
        return _exception("call", error)
    if not isinstance(result, (pl.LazyFrame, pl.DataFrame)):
        return {"ok": True, "kind": "value", "value": _jsonable(result)}
    python_type = type(result).__name__
    try:
        frame = result.collect() if isinstance(result, pl.LazyFrame) else result
    except Exception as error:  # noqa: BLE001 - as above, raised by collect()
        return _exception("collect", error)
    file_name = f"{request['id']}.arrow"
    frame.write_ipc(out_dir / file_name)
    return {
        "ok": True,
        "kind": "frame",
        "python_type": python_type,
        "schema": [[name, str(dtype)] for name, dtype in frame.schema.items()],
        "height": frame.height,
        "file": file_name,
    }


def serve(out_dir: Path) -> int:
    """Answers requests read one per line until stdin closes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(answer(json.loads(line), out_dir)), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} REQUESTS.json OUT_DIR | --serve OUT_DIR", file=sys.stderr)
        return 2
    if argv[1] == "--serve":
        return serve(Path(argv[2]))
    requests = json.loads(Path(argv[1]).read_text())
    out_dir = Path(argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {request["id"]: answer(request, out_dir) for request in requests}
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
