#!/usr/bin/env python3
"""Our evlib against the real evlib 0.13.2 (PyPI), side by side, on the same files.

Both packages have the import name ``evlib``, so each load runs in a fresh child process of its
own virtual environment: ``.venv`` (ours, made by ``scripts/python-env.sh``) and
``.venv-evlib013`` (made by ``scripts/reference-venvs.sh``); missing ones are created with those
scripts. The children alternate (ours, theirs, ours, ...) so that both see the same machine load.
Each child times ``evlib.load_events(path).collect()`` with default arguments after its imports,
reads its own peak RSS (``ru_maxrss``) right after the collect, and then digests the frame
(x Int16, y Int16, t in µs Int64, polarity Int8, row order kept), so that a speed-up is only
reported for frames holding the same events.

    python3 benchmarks/python_vs_evlib013.py                  # 20 M events, EVT 3.0 and HDF5
    python3 benchmarks/python_vs_evlib013.py --events 5000000 --repeats 3
    python3 benchmarks/python_vs_evlib013.py --file my.raw --file my.h5

Synthetic files come from the CLI (``evlib generate``; ``--cli`` or ``EVLIB_CLI``, default
``build/tools/evlib/evlib``) into ``--dir`` (default: the system's temporary directory), and are
kept for later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in the child, with the venv's own evlib. Prints one JSON line.
CHILD = r"""
import contextlib, hashlib, importlib.metadata, io, json, resource, sys, time
with contextlib.redirect_stdout(io.StringIO()):  # evlib 0.13 prints a notice about PyTorch
    import evlib
import polars as pl

path = sys.argv[1]
start = time.perf_counter()
frame = evlib.load_events(path).collect()
seconds = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

columns = [
    pl.col("x").cast(pl.Int16),
    pl.col("y").cast(pl.Int16),
    pl.col("t").dt.total_microseconds().cast(pl.Int64),
    pl.col("polarity").cast(pl.Int8),
]
schema = {name: str(dtype) for name, dtype in frame.schema.items()}
frame = frame.select(columns)


def digest_of(frame):
    digest = hashlib.sha256()
    step = 1 << 22  # slices keep the digest's own memory small
    for offset in range(0, frame.height, step):
        part = frame.slice(offset, step)
        for name in part.columns:
            digest.update(part[name].to_numpy().tobytes())
    return digest.hexdigest()


in_order = digest_of(frame)
# The row order of events with equal t may differ (a sort that is not stable), so the digest that
# decides is that of the rows sorted by every column; the in-order one is reported beside it.
as_set = digest_of(frame.sort(["t", "x", "y", "polarity"]))
print(json.dumps({
    "seconds": seconds, "peak_kib": peak_kib, "events": frame.height,
    "schema": schema, "digest": as_set, "order_digest": in_order,
    "version": importlib.metadata.version("evlib"),
}))
"""


@dataclass
class Run:
    seconds: float
    peak_mib: float
    events: int
    digest: str
    order_digest: str
    schema: dict[str, str]
    version: str


def ensure_venv(python: Path, script: str) -> None:
    if python.exists():
        return
    print(f"creating {python.parent.parent.name} with {script}", file=sys.stderr)
    subprocess.run(["bash", str(ROOT / script)], check=True, cwd=ROOT)
    if not python.exists():
        sys.exit(f"{script} did not create {python}")


def generate(cli: str, path: Path, events: int) -> Path:
    if not path.exists():
        print(f"generating {path} ({events} events)", file=sys.stderr)
        subprocess.run([cli, "generate", "-q", "-n", str(events), str(path)], check=True)
    return path


def run_child(python: Path, path: Path) -> Run:
    done = subprocess.run([str(python), "-c", CHILD, str(path)], capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        sys.exit(f"{python} failed on {path}:\n{done.stderr.strip()}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(out["seconds"], out["peak_kib"] / 1024, out["events"], out["digest"], out["order_digest"], out["schema"], out["version"])


def spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def compare(path: Path, ours: Path, theirs: Path, repeats: int) -> bool:
    runs: dict[str, list[Run]] = {"ours": [], "evlib 0.13.2": []}
    for _ in range(repeats):
        runs["ours"].append(run_child(ours, path))
        runs["evlib 0.13.2"].append(run_child(theirs, path))
    mine, ref = runs["ours"], runs["evlib 0.13.2"]
    same = len({r.digest for r in mine + ref}) == 1
    same_order = len({r.order_digest for r in mine + ref}) == 1
    print(f"\n{path.name}: {mine[0].events} events (evlib 0.13.2: {ref[0].events}); same events (count and "
          f"digest of the sorted rows): {'yes' if same else 'NO'}; same row order: {'yes' if same_order else 'no'}")
    if mine[0].schema != ref[0].schema:
        print(f"  schemas differ: ours {mine[0].schema}, evlib 0.13.2 {ref[0].schema}")
    for name, rs in runs.items():
        print(f"  {name:13} ({rs[0].version}): {spread([r.seconds for r in rs], '.3f')} s, "
              f"peak RSS {spread([r.peak_mib for r in rs], '.0f')} MiB")
    speed = statistics.median(r.seconds for r in ref) / statistics.median(r.seconds for r in mine)
    memory = statistics.median(r.peak_mib for r in ref) / statistics.median(r.peak_mib for r in mine)
    print(f"  ratio (medians): {speed:.1f}x faster, {memory:.1f}x less peak memory")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", action="append", type=Path, help="a file to load (repeatable); default: generated EVT 3.0 and HDF5")
    parser.add_argument("--events", type=int, default=20_000_000, help="events of the generated files (default 20 M)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()), help="where generated files go")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per package and file (default 5)")
    parser.add_argument("--cli", default=os.environ.get("EVLIB_CLI", str(ROOT / "build/tools/evlib/evlib")))
    parser.add_argument("--ours", type=Path, default=ROOT / ".venv/bin/python")
    parser.add_argument("--reference", type=Path, default=ROOT / ".venv-evlib013/bin/python")
    args = parser.parse_args()

    ensure_venv(args.ours, "scripts/python-env.sh")
    ensure_venv(args.reference, "scripts/reference-venvs.sh")
    files = args.file or [
        generate(args.cli, args.dir / f"evlib-bench-{args.events}.{ext}", args.events) for ext in ("raw", "h5")
    ]
    all_same = True
    for path in files:
        all_same &= compare(path, args.ours, args.reference, args.repeats)
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
