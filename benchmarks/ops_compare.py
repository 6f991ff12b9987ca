#!/usr/bin/env python3
"""evlib.ops against the references, every operation on the same events, in one run.

The references: tonic 1.7.0 (``tonic.functional``), dv-processing 2.0.4, evlib 0.13.2 (its
``representations`` and ``filtering`` functions, run by the interpreter of its own virtual
environment ``.venv-evlib013`` from scripts/reference-venvs.sh, or ``EVLIB_REFERENCE_VENV``: it
has our import name, so it never runs beside ours), RVT's stacked histogram
(its torch code, and the numpy formula of tests/python/test_ops_formulas.py) and E2VID's voxel
grid (the numpy formula of the same file). Each (operation, implementation) runs in a fresh child process ``--repeats``
times (default 5); a child loads the events, converts them to what the implementation takes
(not timed: tonic and RVT take the structured array, dv-processing an ``EventStore``, evlib its
columns), runs the operation once to warm up when that takes under a second, then times one
run, in CPU time of the process (the machine is shared: wall time would count the waits for a
core; every implementation runs on one thread, torch is set to one). The table gives the median
rate in million events per second and (min-max).

    .venv/bin/python benchmarks/ops_compare.py                       # 1 M events, 640x480
    .venv/bin/python benchmarks/ops_compare.py --events 200000 --repeats 3 --out table.md --chart chart.png

The events: ``--events`` over one second (time steps uniform in 0..2 µs), uniform random
pixels on a ``--width`` x ``--height`` sensor, random polarities, seed 1. References that are not
installed are left out (said on stderr). evlib 0.13.2's functions are Polars expressions that
return long-format frames (one row per non-zero cell) under its own rules: each row says which
of its functions stands for the operation (its event frame over ``span / 50 ms`` bins of the
whole input, its stacked histogram with ``span / bins`` windows, its own time surface, its
refractory ``filter_noise``); they take its Polars frame (x, y Int16, t Duration, polarity Int8),
built untimed. ``--chart`` draws the medians as grouped bars (log scale) with evlib._charts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# Runs in the child: prepares `run` for one implementation, then times it. Prints JSON.
CHILD = r"""
import json, sys, time
import numpy as np

op, impl, path, W, H = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, sys.argv[6])  # tests/python: the numpy formulas of RVT and E2VID that the tests check against
ev = np.load(path)
sensor = (W, H)

def rvt_torch(x, y, p, t, bins=10, cutoff=10):
    # RVT's StackedHistogram.construct (fastmode), as in uzh-rpg/RVT data/utils/representations.py.
    import torch
    representation = torch.zeros((2, bins, H, W), dtype=torch.uint8)
    t0, t1 = t[0], t[-1]
    t_norm = (t - t0) / max(int(t1 - t0), 1)
    t_idx = torch.clamp((t_norm * bins).floor(), max=bins - 1)
    indices = x.long() + W * y.long() + H * W * t_idx.long() + H * W * bins * p.long()
    representation.put_(indices, torch.ones_like(indices, dtype=torch.uint8), accumulate=True)
    return torch.clamp(representation, min=0, max=cutoff)

def dv_store(ev):
    import dv_processing as dv
    store = dv.EventStore()
    for t, x, y, p in zip(ev["t"].tolist(), ev["x"].tolist(), ev["y"].tolist(), ev["p"].tolist()):
        store.push_back(t, x, y, bool(p))
    return store

if impl == "evlib":
    from evlib import ops
    cols = ops.columns(ev)
    run = {
        "event frame": lambda: ops.event_frame(cols, sensor, time_window=50_000),
        "stacked histogram": lambda: ops.stacked_histogram(cols, sensor, bins=10, count_cutoff=10),
        "voxel grid (E2VID)": lambda: ops.voxel_grid(cols, sensor, 5),
        "voxel grid (tonic)": lambda: ops.voxel_grid(cols, sensor, 5, convention="tonic"),
        "time surface (HOTS)": lambda: ops.time_surface(cols, sensor, 50_000, 20_000.0),
        "last-timestamp map": lambda: (lambda m: (m.add(cols), m.frame()))(ops.LastTimestampMap(sensor)),
        "refractory": lambda: ops.Refractory(sensor, 1000, convention="tonic").keep_mask(cols),
        "background activity (dv)": lambda: ops.BackgroundActivity(sensor, 2000, convention="dv").keep_mask(cols),
        "denoise (tonic)": lambda: ops.BackgroundActivity(sensor, 2000, convention="tonic").keep_mask(cols),
        "STCF": lambda: ops.Stcf(sensor, 2000, 2).keep_mask(cols),
        "fast decay": lambda: ops.FastDecay(sensor).keep_mask(cols),
        "hot pixels (rate)": lambda: ops.HotPixels.by_rate(sensor, cols, 100.0).keep_mask(cols),
        "hot pixels (percentile)": lambda: ops.HotPixels.by_percentile(sensor, cols, 99.9).keep_mask(cols),
    }[op]
elif impl == "tonic":
    import tonic.functional as F
    from tonic.functional.drop_pixel import identify_hot_pixel
    run = {
        "event frame": lambda: F.to_frame_numpy(ev, (W, H, 2), time_window=50_000),
        "voxel grid (tonic)": lambda: F.to_voxel_grid_numpy(ev, (W, H, 2), 5),
        "time surface (HOTS)": lambda: F.to_timesurface_numpy(ev, (W, H, 2), 50_000, 20_000.0),
        "refractory": lambda: F.refractory_period_numpy(ev, 1000),
        "denoise (tonic)": lambda: F.denoise_numpy(ev, 2000),
        "hot pixels (rate)": lambda: F.drop_pixel_numpy(ev, identify_hot_pixel(ev, 100.0)),
    }[op]
elif impl == "dv-processing":
    import datetime
    import dv_processing as dv
    store = dv_store(ev)
    def baf():
        f = dv.noise.BackgroundActivityNoiseFilter(sensor, backgroundActivityDuration=datetime.timedelta(microseconds=2000))
        f.accept(store)
        return f.generateEvents()
    def surface():
        s = dv.TimeSurface(sensor)
        s.accept(store)
        return s.generateFrame()
    def fast_decay():
        f = dv.noise.FastDecayNoiseFilter(sensor)
        f.accept(store)
        return f.generateEvents()
    run = {"background activity (dv)": baf, "last-timestamp map": surface, "fast decay": fast_decay}[op]
elif impl == "evlib 0.13.2":
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import evlib  # evlib 0.13.2 prints a notice when PyTorch is missing
    import polars as pl
    frame = pl.DataFrame({
        "x": pl.Series(ev["x"], dtype=pl.Int16), "y": pl.Series(ev["y"], dtype=pl.Int16),
        "t": pl.Series(ev["t"].astype(np.int64), dtype=pl.Int64).cast(pl.Duration("us")),
        "polarity": pl.Series(ev["p"], dtype=pl.Int8),
    })
    span = int(ev["t"][-1] - ev["t"][0])
    R, Fl = evlib.representations, evlib.filtering
    collect = lambda f: f.collect() if isinstance(f, pl.LazyFrame) else f
    run = lambda: collect({
        "event frame": lambda: R.create_event_frame(frame, H, W, n_time_bins=max(span // 50_000, 1)),
        "stacked histogram": lambda: R.create_stacked_histogram(frame, H, W, bins=10, window_duration_ms=span / 10 / 1000),
        "voxel grid (E2VID)": lambda: R.create_voxel_grid(frame, H, W, n_time_bins=5),
        "time surface (HOTS)": lambda: R.create_time_surface(frame, H, W, dt=50_000.0, tau=20_000.0),
        "refractory": lambda: Fl.filter_noise(frame, method="refractory", refractory_period_us=1000),
        "hot pixels (percentile)": lambda: Fl.filter_hot_pixels(frame, threshold_percentile=99.9),
    }[op]())
elif impl == "RVT numpy":
    from test_ops_formulas import rvt_stacked_histogram
    run = lambda: rvt_stacked_histogram(ev, W, H, 10, 10, True)
elif impl == "RVT torch":
    import torch
    torch.set_num_threads(1)
    tensors = [torch.from_numpy(ev[k].astype(np.int64)) for k in ("x", "y", "p", "t")]
    run = lambda: rvt_torch(*tensors)
elif impl == "E2VID numpy":
    from test_ops_formulas import e2vid_voxel_grid
    run = lambda: e2vid_voxel_grid(ev, W, H, 5)

# CPU time of the process: the machine is shared, and wall time would count the waits for a core.
start = time.process_time()
run()
seconds = time.process_time() - start
if seconds < 1.0:
    start = time.process_time()
    run()
    seconds = time.process_time() - start
print(json.dumps({"seconds": seconds}))
"""

REFERENCES = ["tonic", "dv-processing", "evlib 0.13.2", "RVT torch", "RVT numpy", "E2VID numpy"]
OPERATIONS: dict[str, list[str]] = {
    "event frame": ["tonic", "evlib 0.13.2"],
    "stacked histogram": ["RVT torch", "RVT numpy", "evlib 0.13.2"],
    "voxel grid (E2VID)": ["E2VID numpy", "evlib 0.13.2"],
    "voxel grid (tonic)": ["tonic"],
    "time surface (HOTS)": ["tonic", "evlib 0.13.2"],
    "last-timestamp map": ["dv-processing"],
    "refractory": ["tonic", "evlib 0.13.2"],
    "background activity (dv)": ["dv-processing"],
    "denoise (tonic)": ["tonic"],
    "STCF": [],
    "fast decay": ["dv-processing"],
    "hot pixels (rate)": ["tonic"],
    "hot pixels (percentile)": ["evlib 0.13.2"],
}
DETAILS = {
    "event frame": "50 ms windows, int16",
    "stacked histogram": "one window, 10 bins, cutoff 10",
    "voxel grid (E2VID)": "5 bins, float32",
    "voxel grid (tonic)": "5 bins, float64",
    "time surface (HOTS)": "dt 50 ms, tau 20 ms",
    "last-timestamp map": "and its 8-bit frame",
    "refractory": "1 ms, tonic's rule",
    "background activity (dv)": "2 ms, 8 neighbours",
    "denoise (tonic)": "2 ms, 4 neighbours",
    "STCF": "k = 2, 2 ms (no Python reference)",
    "fast decay": "10 ms, 4x4 cells, 6",
    "hot pixels (rate)": "100 Hz, then dropped",
    "hot pixels (percentile)": "99.9th percentile, then dropped",
}
IMPORTS = {"tonic": "tonic", "dv-processing": "dv_processing", "RVT torch": "torch", "evlib 0.13.2": "evlib"}
# Which of evlib 0.13.2's functions stands for each operation (its own rules, long-format output).
EVLIB013_CALLS = {
    "event frame": "create_event_frame, span / 50 ms bins",
    "stacked histogram": "create_stacked_histogram, span / 10 windows",
    "voxel grid (E2VID)": "create_voxel_grid",
    "time surface (HOTS)": "create_time_surface",
    "refractory": "filtering.filter_noise",
    "hot pixels (percentile)": "filtering.filter_hot_pixels",
}


# One thread for every implementation (Polars, under evlib 0.13.2, would use every core).
CHILD_ENV = {**os.environ, "POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"}


def interpreter(impl: str) -> str:
    """evlib 0.13.2 runs in its own environment: it is imported as ``evlib`` too."""
    if impl != "evlib 0.13.2":
        return sys.executable
    venv = Path(os.environ.get("EVLIB_REFERENCE_VENV", ROOT / ".venv-evlib013"))
    return str(venv / "bin" / "python")


def available(impl: str) -> bool:
    module = IMPORTS.get(impl)
    if module is None:
        return True
    if not Path(interpreter(impl)).exists():
        return False
    check = f"import {module}" if impl != "evlib 0.13.2" else "import evlib; assert evlib.version() == '0.13.2'"
    done = subprocess.run([interpreter(impl), "-c", check], capture_output=True)
    return done.returncode == 0


def make_events(path: Path, n: int, width: int, height: int) -> None:
    rng = np.random.default_rng(1)
    events = np.zeros(n, np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")]))
    events["t"] = np.cumsum(rng.integers(0, 3, n))
    events["x"] = rng.integers(0, width, n)
    events["y"] = rng.integers(0, height, n)
    events["p"] = rng.integers(0, 2, n)
    np.save(path, events)


def measure(op: str, impl: str, events: Path, args: argparse.Namespace) -> list[float]:
    rates = []
    for _ in range(args.repeats):
        done = subprocess.run([interpreter(impl), "-c", CHILD, op, impl, str(events), str(args.width), str(args.height),
                               str(ROOT / "tests" / "python")],
                              capture_output=True, text=True, env=CHILD_ENV)
        if done.returncode != 0:
            raise RuntimeError(f"{op} / {impl} failed: {done.stderr.strip().splitlines()[-1]}")
        rates.append(args.events / json.loads(done.stdout.strip().splitlines()[-1])["seconds"] / 1e6)
    return rates


def times(ratio: float) -> str:
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:.0f}x"


def cell(rates: list[float] | None) -> str:
    if not rates:
        return ""
    return f"{statistics.median(rates):.3g} ({min(rates):.3g}-{max(rates):.3g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", action="append", help="operations to run (default: all)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--chart", type=Path, help="also draw the medians into this PNG (needs matplotlib)")
    args = parser.parse_args()
    present = {impl: available(impl) for impl in REFERENCES}
    for impl, ok in present.items():
        if not ok:
            print(f"ops_compare: {impl} is not installed: left out", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.npy"
        make_events(events, args.events, args.width, args.height)
        rows = []
        for op, references in OPERATIONS.items():
            if args.only and op not in args.only:
                continue
            results = {"evlib": measure(op, "evlib", events, args)}
            for impl in references:
                if present[impl]:
                    results[impl] = measure(op, impl, events, args)
            fastest = max((statistics.median(r) for k, r in results.items() if k != "evlib"), default=None)
            ratio = times(statistics.median(results["evlib"]) / fastest) if fastest else ""
            rows.append((op, results, ratio))
            print(f"ops_compare: {op}: " + ", ".join(f"{k} {cell(v)}" for k, v in results.items()), file=sys.stderr)
    columns = ["evlib"] + REFERENCES
    lines = [
        f"{args.events:,} events, {args.width}x{args.height}, M events/s of CPU time, median (min-max) of "
        f"{args.repeats} fresh processes",
        "",
        "| operation | " + " | ".join(columns) + " | evlib / fastest reference |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for op, results, ratio in rows:
        lines.append(f"| {op} ({DETAILS[op]}) | " + " | ".join(cell(results.get(c)) for c in columns) + f" | {ratio} |")
    used = [op for op, results, _ in rows if "evlib 0.13.2" in results]
    if used:
        lines += ["", "evlib 0.13.2's functions: " + "; ".join(f"{op}: `{EVLIB013_CALLS[op]}`" for op in used) + "."]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text(table)
    if args.chart:
        draw_chart(args.chart, rows, args)


def draw_chart(path: Path, rows: list[tuple[str, dict[str, list[float]], str]], args: argparse.Namespace) -> None:
    from evlib._charts import bar_chart

    bars = [{"operation": op, "implementation": impl, "rate": statistics.median(rates)}
            for op, results, _ in rows for impl, rates in results.items()]
    bar_chart(bars, "rate", "operation", path, series="implementation", size=(13.0, 5.5),
              ylabel="M events/s of CPU time (log)",
              title=f"{args.events:,} events, {args.width}x{args.height}, median of {args.repeats} fresh processes")


if __name__ == "__main__":
    main()
