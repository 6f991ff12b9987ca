#!/usr/bin/env python3
"""Streaming decode throughput of evlib against expelliarmus, on the same files.

    python3 benchmarks/compare_expelliarmus.py FILE... [--runs 5] [--evlib build/tools/evlib/evlib]

Each FILE is an EVT 2.0, EVT 3.0 or DAT recording (what expelliarmus reads), e.g. from
`evlib generate OUT -n 100000000 --to evt2`. expelliarmus lives in its own virtual environment,
`.venv-expelliarmus` at the repository root, which this script creates (pip install expelliarmus)
and re-runs itself in.

For every file it first checks that expelliarmus decodes the same events as evlib: the count and
the SHA-256 digest of `evlib info --digest` (rows of t int64, x uint16, y uint16, p uint8,
little-endian) computed over expelliarmus' chunks. Then it times streaming, one fresh process
per run, the readers alternating round by round so that a noisy machine's drift falls on all of
them alike: evlib (`evlib bench FILE --stream --runs 1 --json`: reused 1 Mi-event chunk
buffers, one thread, and the same with two threads) and expelliarmus (`Wizard.read_chunk` with
1 Mi-event chunks, its default 4 Ki-word read buffer and a 64 Ki-word one). The file is in the
page cache; start-up is not timed. It prints median (min-max) M events/s per reader.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-expelliarmus"
VENV_PYTHON = VENV / "bin" / "python"
CHUNK_EVENTS = 1 << 20
# expelliarmus' buffer sizes, in words: its default and the 64 Ki words that ties it with evlib 0.x.
BUFFERS = (4096, 65536)
# evlib format name -> expelliarmus encoding.
ENCODINGS = {"evt2": "evt2", "evt3": "evt3", "dat": "dat"}


def ensure_venv() -> None:
    """Re-runs this script inside the expelliarmus venv, creating it first if needed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PYTHON.exists():
        print(f"creating {VENV} (pip install expelliarmus)", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "expelliarmus"], check=True)
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])


def expelliarmus_chunks(path: str, encoding: str, buff_size: int) -> Iterator["object"]:
    from expelliarmus import Wizard

    wizard = Wizard(encoding=encoding, fpath=path, chunk_size=CHUNK_EVENTS, buff_size=buff_size)
    yield from wizard.read_chunk()


def expelliarmus_digest(path: str, encoding: str) -> tuple[int, str]:
    """Event count and evlib's digest of expelliarmus' events (its fields mapped to evlib's rows)."""
    import numpy as np

    rows = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    sha = hashlib.sha256()
    count = 0
    for chunk in expelliarmus_chunks(path, encoding, BUFFERS[0]):
        out = np.empty(len(chunk), dtype=rows)
        out["t"] = chunk["t"]
        out["x"] = chunk["x"]
        out["y"] = chunk["y"]
        out["p"] = chunk["p"]
        sha.update(out.tobytes())
        count += len(chunk)
    return count, sha.hexdigest()


def time_expelliarmus(path: str, encoding: str, buff_size: int) -> None:
    """Child mode: one timed streaming pass (the imports and the Wizard before the clock starts);
    prints events and seconds as JSON."""
    from expelliarmus import Wizard

    wizard = Wizard(encoding=encoding, fpath=path, chunk_size=CHUNK_EVENTS, buff_size=buff_size)
    start = time.perf_counter()
    count = sum(len(chunk) for chunk in wizard.read_chunk())
    print(json.dumps({"events": count, "seconds": time.perf_counter() - start}))


def evlib_info(evlib: str, path: str) -> dict:
    out = subprocess.run([evlib, "info", path, "--digest", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run_evlib(evlib: str, path: str, threads: int) -> tuple[float, float | None]:
    args = [evlib, "bench", path, "--stream", "--runs", "1", "--json", "--threads", str(threads)]
    result = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    return result["median_mev_s"], result.get("ceiling_median_mev_s")


def run_expelliarmus(path: str, encoding: str, buff_size: int) -> float:
    args = [sys.executable, __file__, "--child", path, encoding, str(buff_size)]
    result = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    return result["events"] / result["seconds"] / 1e6


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def compare(evlib: str, path: str, runs: int) -> None:
    info = evlib_info(evlib, path)
    fmt = info["format"]
    if fmt not in ENCODINGS:
        print(f"{path}: {fmt} is not a format expelliarmus reads (evt2, evt3, dat)", file=sys.stderr)
        return
    encoding = ENCODINGS[fmt]
    count, digest = expelliarmus_digest(path, encoding)
    same = count == info["events"] and digest == info["digest"]
    with open(path, "rb") as f:  # page cache
        while f.read(1 << 22):
            pass
    rates: dict[str, list[float]] = {"evlib": [], "evlib, 2 threads": []}
    rates.update({f"expelliarmus, {b // 1024} Ki words": [] for b in BUFFERS})
    ceiling: list[float] = []
    for _ in range(runs):
        rate, c = run_evlib(evlib, path, 1)
        rates["evlib"].append(rate)
        if c is not None:
            ceiling.append(c)
        for b in BUFFERS:
            rates[f"expelliarmus, {b // 1024} Ki words"].append(run_expelliarmus(path, encoding, b))
        rates["evlib, 2 threads"].append(run_evlib(evlib, path, 2)[0])
    best_peer = max(statistics.median(rates[f"expelliarmus, {b // 1024} Ki words"]) for b in BUFFERS)
    print(f"\n{Path(path).name}: {fmt}, {info['events']} events; expelliarmus decodes the same events: "
          f"{'yes' if same else f'NO ({count} events, digest {digest})'}")
    print(f"{'reader':28s} M events/s median (min-max) of {runs}")
    for name, values in rates.items():
        print(f"{name:28s} {summary(values)}")
    if ceiling:
        print(f"{'ceiling (stateless pass)':28s} {summary(ceiling)}")
    print(f"evlib / best expelliarmus: {statistics.median(rates['evlib']) / best_peer:.2f}x")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        time_expelliarmus(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--evlib", default=str(ROOT / "build" / "tools" / "evlib" / "evlib"))
    args = parser.parse_args()
    ensure_venv()
    for path in args.files:
        compare(args.evlib, path, args.runs)


if __name__ == "__main__":
    main()
