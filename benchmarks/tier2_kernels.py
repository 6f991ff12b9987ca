"""Throughput of the tier-2 kernels (fast decay, decimation, Prophesee event cube, random drop)
against their references (dv-processing 2.0.4, tonic 1.7.0), kernels only (conversions and
store building outside the timed region). Each case runs in a fresh process, several times; the
median (min-max) in M events/s is printed. The machine is shared: figures are noisy.

    .venv/bin/python benchmarks/tier2_kernels.py [--runs 5] [--recording FILE]

The random stream (uniform pixels on 640x480, 0-2 µs steps) is the fast-decay filter's worst
case: every cell's gap is ~19 ms, past its table of short-gap decays, so each event calls exp2f.
``--recording`` adds the evlib filters on a real file's events (clustered: short gaps).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import subprocess
import sys
import time

import numpy as np

WIDTH, HEIGHT = 640, 480
CASES = {  # name: events
    "evlib fast_decay": 10_000_000,
    "dv-processing FastDecayNoiseFilter": 1_000_000,
    "evlib decimation": 10_000_000,
    "tonic Decimation": 200_000,
    "evlib prophesee_event_cube": 10_000_000,
    "evlib drop_event": 10_000_000,
}


def stream(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    events = np.zeros(n, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])
    events["t"] = np.cumsum(rng.integers(0, 3, n))
    events["x"] = rng.integers(0, WIDTH, n)
    events["y"] = rng.integers(0, HEIGHT, n)
    events["p"] = rng.integers(0, 2, n)
    return events


def run_recording(name: str, path: str) -> tuple[int, float]:
    """Events and seconds of one evlib filter over a whole recording."""
    import evlib
    from evlib import ops

    cols = ops.columns(evlib.scan_events(path).collect())
    sensor = (int(cols[1].max()) + 1, int(cols[2].max()) + 1)
    kernel = ops.FastDecay(sensor) if "fast_decay" in name else ops.Decimation(sensor, 4)
    start = time.perf_counter()
    kernel.keep_mask(cols)
    return len(cols[0]), time.perf_counter() - start


def run_case(name: str) -> float:
    """Seconds the kernel took on CASES[name] events."""
    events = stream(CASES[name])
    if name.startswith("evlib"):
        from evlib import ops

        cols = ops.columns(events)
        kernels = {
            "evlib fast_decay": lambda: ops.FastDecay((WIDTH, HEIGHT)).keep_mask(cols),
            "evlib decimation": lambda: ops.Decimation((WIDTH, HEIGHT), 4).keep_mask(cols),
            "evlib prophesee_event_cube": lambda: ops.prophesee_event_cube(cols, (WIDTH, HEIGHT), 50_000, 10),
            "evlib drop_event": lambda: ops.drop_event(cols, 0.3, seed=1),
        }
        start = time.perf_counter()
        kernels[name]()
        return time.perf_counter() - start
    if name.startswith("dv-processing"):
        import dv_processing as dv

        store = dv.EventStore()
        for t, x, y, p in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(),
                              events["p"].tolist()):
            store.push_back(t, x, y, bool(p))
        noise = dv.noise.FastDecayNoiseFilter((WIDTH, HEIGHT), halfLife=datetime.timedelta(microseconds=10000))
        start = time.perf_counter()
        noise.accept(store)
        noise.generateEvents()
        return time.perf_counter() - start
    import tonic.functional as functional

    start = time.perf_counter()
    functional.decimate_numpy(events, 4)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--recording", help="also time the evlib filters on this file's events")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case and args.recording:
        print(*run_recording(args.case, args.recording))
        return
    if args.case:
        print(run_case(args.case))
        return
    print(f"| kernel | events | M events/s, median (min-max) of {args.runs} fresh processes |")
    print("|---|---|---|")
    for name, n in CASES.items():
        rates = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--case", name], check=True, capture_output=True, text=True)
            rates.append(n / float(out.stdout.strip()) / 1e6)
        print(f"| {name} | {n:,} | {statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f}) |", flush=True)
    for name in ("evlib fast_decay", "evlib decimation") if args.recording else ():
        rates = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--case", name, "--recording", args.recording], check=True,
                                 capture_output=True, text=True)
            n, seconds = out.stdout.split()
            rates.append(int(n) / float(seconds) / 1e6)
        print(f"| {name} ({args.recording.rsplit('/', 1)[-1]}) | {int(n):,} | {statistics.median(rates):.1f} "
              f"({min(rates):.1f}-{max(rates):.1f}) |", flush=True)


if __name__ == "__main__":
    main()
