"""What the processing tests share: seeded random event streams in tonic's structured layout,
and the reference packages, imported or skipped (a failure under CI=true)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from conftest import skip_or_fail

# tonic's events_struct layout (x, y int16; t int64; p int8).
TONIC_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])


def random_stream(rng: np.random.Generator, n: int, width: int, height: int, max_step: int,
                  t0: int = 0) -> np.ndarray:
    """n events with non-decreasing t (steps 0..max_step), uniform pixels and polarities. The
    first event (when there are several) sits on the last pixel, so that tonic, which sizes its
    per-pixel memory from the data, sees the whole sensor."""
    events = np.zeros(n, TONIC_DTYPE)
    events["t"] = t0 + np.cumsum(rng.integers(0, max_step + 1, n))
    events["x"] = rng.integers(0, width, n)
    events["y"] = rng.integers(0, height, n)
    events["p"] = rng.integers(0, 2, n)
    if n > 1:
        events["x"][0], events["y"][0] = width - 1, height - 1
    return events


def random_case(seed: int) -> tuple[np.ndarray, int, int]:
    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(2, 40)), int(rng.integers(2, 30))
    n = int(rng.integers(1, 2000))
    return random_stream(rng, n, width, height, int(rng.integers(0, 400)), int(rng.integers(0, 5000))), width, height


def reference(module: str, package: str) -> ModuleType:
    """The reference package's module, or a skip naming the pip package (CI=true: a failure)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        skip_or_fail(f"reference package {package} is not installed ({error}); scripts/python-env.sh installs it")
        raise


def dv_event_store(dv: ModuleType, events: np.ndarray) -> Any:
    """The events as a dv-processing ``EventStore`` (dv: the dv_processing module)."""
    store = dv.EventStore()
    for t, x, y, p in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()):
        store.push_back(t, x, y, bool(p))
    return store
