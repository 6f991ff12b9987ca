"""Shared fixtures: the evlib CLI (to generate synthetic files and compute reference digests),
synthetic recordings in every writable format, and the real recordings directory."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"

# 13-byte rows of the C++ digest: int64 t, uint16 x, uint16 y, uint8 p, little-endian, packed.
ROW = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])


def skip_or_fail(message: str) -> None:
    """Skips a test whose input is missing; under CI=true that is a failure."""
    if IN_CI:
        pytest.fail(message + " (CI=true: required)")
    pytest.skip(message)


def find_cli() -> Path | None:
    candidates = [os.environ.get("EVLIB_CLI", ""), REPO / "build/tools/evlib/evlib"]
    candidates += sorted(REPO.glob("build/python/*/tools/evlib/evlib"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@pytest.fixture(scope="session", autouse=True)
def private_index_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Time indexes cached by the tests go to a temporary directory, not the user's cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def cli() -> Path:
    path = find_cli()
    if path is None:
        skip_or_fail("the evlib CLI is not built (build/tools/evlib/evlib; or set EVLIB_CLI)")
    assert path is not None
    return path


def run_cli(cli: Path, *args: str) -> str:
    done = subprocess.run([str(cli), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"evlib {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


@pytest.fixture(scope="session")
def cli_info(cli: Path) -> Callable[..., dict[str, Any]]:
    """``evlib info --json --digest FILE`` as a dict."""

    def info(path: Path | str, *extra: str) -> dict[str, Any]:
        return json.loads(run_cli(cli, "info", "--json", "--digest", "-q", *extra, str(path)))

    return info


def writable_formats() -> list[tuple[str, str]]:
    """(format name, extension) of every format this build writes."""
    import evlib

    return [(f["name"], f["write_extensions"][0]) for f in evlib._core.formats() if f["writable"] and f["write_extensions"]]


@pytest.fixture(scope="session")
def generate(cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``generate(fmt, n, seed=1, *flags)``: a synthetic recording made by ``evlib generate``,
    made once per session."""
    made: dict[tuple[Any, ...], Path] = {}
    directory = tmp_path_factory.mktemp("generated")

    def make(fmt: str, n: int = 20_000, seed: int = 1, *flags: str) -> Path:
        key = (fmt, n, seed, flags)
        if key not in made:
            extension = dict(writable_formats()).get(fmt, "")
            path = directory / f"{fmt}-{n}-{seed}-{len(made)}{extension}"
            run_cli(cli, "generate", "-q", str(path), "-n", str(n), "--to", fmt, "--seed", str(seed), *flags)
            made[key] = path
        return made[key]

    return make


@pytest.fixture(scope="session")
def recordings() -> Path:
    """The real recordings directory (EVLIB_RECORDINGS, default ../shared/data beside the repository)."""
    return Path(os.environ.get("EVLIB_RECORDINGS", REPO.parent / "shared" / "data"))


def digest_of(columns: dict[str, np.ndarray]) -> str:
    """The C++ digest (SHA-256 of packed little-endian rows) of native t, x, y, p columns."""
    rows = np.empty(len(columns["t"]), dtype=ROW)
    for name in ("t", "x", "y", "p"):
        rows[name] = columns[name]
    return hashlib.sha256(rows.tobytes()).hexdigest()


def frame_columns(frame: Any) -> dict[str, np.ndarray]:
    return {name: frame.get_column(name).to_numpy() for name in ("t", "x", "y", "p")}


DEMO = REPO / "data" / "demo_evt3.raw"
