"""Fixtures shared by the compatibility tests (tests/python/test_compat*.py): the evlib 0.13.2
process, a set of event files in every format both packages read, and real recordings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import evlib
import numpy as np
import polars as pl
import pytest

from . import fixtures
from .harness import REPOSITORY, Reference, unavailable_reason

WIDTH, HEIGHT = 640, 480


def skip_or_fail(reason: str) -> None:
    """Skips the test, or fails it under CI=true, where nothing may be skipped for lack of data."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def reference() -> Iterator[Reference]:
    """The real evlib 0.13.2, in its own virtual environment."""
    reason = unavailable_reason()
    if reason:
        skip_or_fail(reason)
    ref = Reference()
    yield ref
    ref.close()


def synthetic_events(n: int = 3000, seed: int = 11, t0: int = 1_000_000) -> dict[str, np.ndarray]:
    """Deterministic events in time order with runs of equal timestamps (ties exercise sorting)."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([0, 0, 1, 2, 7, 150], size=n)
    return {
        "t": (t0 + np.cumsum(steps)).astype(np.int64),
        "x": rng.integers(0, WIDTH, n).astype(np.uint16),
        "y": rng.integers(0, HEIGHT, n).astype(np.uint16),
        "p": rng.integers(0, 2, n).astype(np.uint8),
    }


@dataclass(frozen=True)
class Sample:
    """One file of the comparison set and the events written into it."""

    name: str
    path: Path
    events: dict[str, np.ndarray]


def _as_tuples(events: dict[str, np.ndarray]) -> list[tuple[int, int, int, int]]:
    return list(zip(*(events[k].tolist() for k in ("t", "x", "y", "p")), strict=True))


def write_samples(directory: Path) -> dict[str, Sample]:
    """Files in every format both evlib 0.13.2 and this package read, from the same events
    (converted by evlib.convert from a native text file, as a user would)."""
    events = synthetic_events()
    native = directory / "native.txt"
    columns = (events[k].tolist() for k in ("t", "x", "y", "p"))
    native.write_text("# t x y p\n" + "".join(f"{t} {x} {y} {p}\n" for t, x, y, p in zip(*columns, strict=True)))
    samples: dict[str, Sample] = {}
    for name, extension, fmt, compression in (
        ("evt3", "raw", "evt3", None),
        ("evt2", "raw", "evt2", None),
        ("hdf5", "h5", "hdf5", None),
        ("hdf5_ecf", "h5", "hdf5", "ecf"),
        ("aedat4", "aedat4", "aedat4", None),
    ):
        path = directory / f"sample_{name}.{extension}"
        evlib.convert(native, path, to=fmt, width=WIDTH, height=HEIGHT, compression=compression)
        samples[name] = Sample(name, path, events)
    path = fixtures.write_evt21(directory / "sample_evt21.raw", _as_tuples(events), WIDTH, HEIGHT)
    samples["evt21"] = Sample("evt21", path, events)
    samples["text01"] = Sample("text01", write_text(directory / "sample_01.txt", events, signed=False), events)
    samples["text_signed"] = Sample(
        "text_signed", write_text(directory / "sample_pm1.txt", events, signed=True), events
    )
    return samples


def write_text(path: Path, events: dict[str, np.ndarray], *, signed: bool) -> Path:
    """RPG-style text (seconds with six decimals, no header) with 0/1 or -1/+1 polarity."""
    p = events["p"].astype(np.int64)
    if signed:
        p = 2 * p - 1
    lines = (
        f"{t / 1e6:.6f} {x} {y} {q}\n"
        for t, x, y, q in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), p.tolist(), strict=True)
    )
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sample]:
    return write_samples(tmp_path_factory.mktemp("compat"))


def recordings_dir() -> Path:
    return Path(os.environ.get("EVLIB_RECORDINGS", REPOSITORY.parent / "shared" / "data"))


def recording(relative: str) -> Path:
    """A real recording from $EVLIB_RECORDINGS, skipping (failing under CI=true) without it."""
    path = recordings_dir() / relative
    if not path.exists():
        skip_or_fail(f"real recording {path} is missing (set EVLIB_RECORDINGS)")
    return path


def native_microseconds(frame: pl.DataFrame) -> pl.DataFrame:
    """A compat frame with t as integer µs, for comparisons and readable failure output."""
    return frame.with_columns(pl.col("t").dt.total_microseconds())
