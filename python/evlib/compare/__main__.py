"""python -m evlib.compare: evlib and the other readers, measured side by side in one run.

Without FILES, seeded synthetic recordings are generated (``evlib generate``) in every format of
``--formats`` at 10 M and 100 M events (``--quick``: 1 M) and kept in ``--data-dir`` for the next
run. Every reader that reads a file's format is first checked (its events against ours), then
timed in ``--runs`` rounds of fresh processes, readers interleaved. Outputs go to ``--out``:
compare.md, compare.json (every run), throughput.png and memory.png.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

from . import datasets, peers, report
from .runner import run_comparison
from .venvs import DEFAULT_VENV_DIR

DEFAULT_EVENTS = (10_000_000, 100_000_000)
QUICK_EVENTS = (1_000_000,)


def _machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu or platform.processor()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evlib.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", help="recordings to compare on (default: generated ones)")
    parser.add_argument("--quick", action="store_true", help="1 M-event files, 3 runs, 5-minute budget")
    parser.add_argument("--formats", default=",".join(datasets.DEFAULT_FORMATS),
                        help="formats to generate, comma-separated (default: %(default)s)")
    parser.add_argument("--events", default="", help="sizes to generate, comma-separated (default 10000000,100000000)")
    parser.add_argument("--runs", type=int, default=0, help="timed runs per reader and file (default 5, --quick 3)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per run (default 600, --quick 120)")
    parser.add_argument("--budget", type=float, default=0, help="minutes for the timed rounds (default 30, --quick 5)")
    parser.add_argument("--readers", default="", help="only these readers, comma-separated (names as in the table)")
    parser.add_argument("--out", type=Path, default=Path("evlib-compare-out"), help="output directory")
    parser.add_argument("--json", type=Path, default=None, help="the JSON of every run (default OUT/compare.json)")
    parser.add_argument("--venv-dir", type=Path, default=DEFAULT_VENV_DIR, help="where peer environments live")
    parser.add_argument("--data-dir", type=Path, default=None, help="where generated files live (default OUT/data)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated files")
    parser.add_argument("--evlib", default=None, help="the evlib CLI (default: $EVLIB_CLI, PATH, build/tools/evlib/evlib)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rounds = args.runs or (3 if args.quick else 5)
    timeout = args.timeout or (120.0 if args.quick else 600.0)
    budget = 60 * (args.budget or (5 if args.quick else 30))
    sizes = [int(n) for n in args.events.split(",") if n] or list(QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    formats = [f for f in args.formats.split(",") if f]
    unknown = [f for f in formats if f not in datasets.EXTENSIONS]
    if unknown:
        print(f"evlib.compare: unknown format(s) {', '.join(unknown)}; known: {', '.join(datasets.EXTENSIONS)}", file=sys.stderr)
        return 2
    try:
        chosen = peers.by_name([n.strip() for n in args.readers.split(",") if n.strip()]) if args.readers else list(peers.PEERS)
    except ValueError as e:
        print(f"evlib.compare: {e}", file=sys.stderr)
        return 2
    cli = datasets.find_cli(args.evlib)
    if cli is None:
        print("evlib.compare: the evlib CLI is needed (reference decodes, generated files): build it "
              "(cmake --preset release && cmake --build build) or give --evlib / $EVLIB_CLI", file=sys.stderr)
        return 2
    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        print(f"evlib.compare: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    files = list(args.files)
    data_dir = args.data_dir or args.out / "data"
    if not files:
        for n in sizes:
            for fmt in formats:
                log(f"generating {fmt}, {n:,} events (seed {args.seed}) in {data_dir}")
                files.append(str(datasets.generate(cli, data_dir, fmt, n, args.seed)))
    settings = {
        "command": "python -m evlib.compare " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "evlib_version": _version(),
        "cli": cli,
        "python": sys.version.split()[0],
    }
    comparison = run_comparison(files, chosen, cli, rounds=rounds, timeout_s=timeout, budget_s=budget,
                                venv_dir=args.venv_dir, work_dir=args.out, settings=settings, log=log)
    written = report.write_all(comparison, args.out, args.json)
    print(report.markdown(comparison))
    log("wrote " + ", ".join(str(p) for p in written.values()))
    return 0


def _version() -> str:
    from .. import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())
