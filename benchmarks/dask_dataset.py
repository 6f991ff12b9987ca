"""A dataset of many EVT 3.0 recordings through evlib.dask on a LocalCluster of 2 workers and of 1.

    python benchmarks/dask_dataset.py [--files 20] [--events 50000000] [--small] [--partition 1s]
                                      [--dir DIR] [--keep] [--json FILE]

Generates the dataset with `evlib generate` (files x events, seeded; reused when DIR already
holds it), then, for each cluster (2 worker processes of 1 thread, then 1), times in a fresh
cluster:
  plan       read_events planning from the cached time indexes (the indexes are built once,
             before, by a cold planning on 2 workers, timed apart);
  per-pixel  event count per pixel (np.bincount per partition of read_events(columns=x, y),
             summed by a tree of tasks);
  rate       events per second of each file (read_events(columns=["file"]): only t is decoded);
  rvt        RVT stacked histograms (evlib.ops.stacked_histogram, 10 bins, downsampled by 2) of
             every 50 ms window, written per file to .npy by evlib.dask.write_windows;
and reports throughput (events/s), the peak RSS of each worker process (getrusage in the worker,
after the run) and the speed-up of 2 workers over 1. Results are checked across the two clusters.
The machine's other load affects every figure: run it on a quiet machine for numbers to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

WIDTH, HEIGHT = 1280, 720
REPO = Path(__file__).resolve().parents[1]


def cli() -> str:
    found = os.environ.get("EVLIB_CLI") or str(REPO / "build/tools/evlib/evlib")
    if not os.access(found, os.X_OK):
        sys.exit(f"the evlib CLI is not at {found}: build it (cmake --build build) or set EVLIB_CLI")
    return found


def make_dataset(directory: Path, files: int, events: int) -> list[str]:
    """files x events EVT 3.0 recordings (seed = file number), kept when already there."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(files):
        path = directory / f"rec{k:03d}.raw"
        marker = path.with_suffix(".events")
        if not (path.exists() and marker.exists() and marker.read_text() == str(events)):
            subprocess.run([cli(), "generate", "-q", "-f", "-n", str(events), "--seed", str(k + 1), str(path)], check=True)
            marker.write_text(str(events))
        paths.append(str(path))
    return paths


def peak_rss_mib() -> float:
    """This process's peak resident set (MiB): run in each worker by client.run."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bincount_xy(frame: Any) -> np.ndarray:
    return np.bincount(frame["y"].to_numpy(np.int64) * WIDTH + frame["x"].to_numpy(np.int64), minlength=WIDTH * HEIGHT)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def tree_sum(parts: list[Any]) -> Any:
    import dask

    while len(parts) > 1:
        parts = [dask.delayed(add)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    return parts[0]


def rate_per_second(frame: Any) -> Any:
    return frame.groupby([frame["file"].cat.codes.rename("file"), frame.index // 1_000_000]).size()


def rvt_histogram(batch: Any) -> np.ndarray:
    import evlib.ops

    return evlib.ops.stacked_histogram(batch, (WIDTH, HEIGHT), bins=10, downsample_by_2=True)


def run_stages(paths: list[str], workers: int, out_dir: Path, env: dict[str, str], partition: str) -> dict[str, Any]:
    import dask
    import distributed

    import evlib.dask as edask

    timings: dict[str, float] = {}
    results: dict[str, Any] = {}
    with distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0", env=env,
        memory_limit=0,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        client.run(lambda: __import__("evlib.dask"))  # imports are not what is measured
        edask._plans.clear()
        start = time.perf_counter()
        xy = edask.read_events(paths, partition=partition, columns=["x", "y"])
        timings["plan"] = time.perf_counter() - start

        start = time.perf_counter()
        counts = tree_sum([dask.delayed(bincount_xy)(part) for part in xy.to_delayed()]).compute()
        timings["per-pixel"] = time.perf_counter() - start
        results["events"] = int(counts.sum())
        results["per_pixel_digest"] = int((counts * np.arange(1, counts.size + 1, dtype=np.int64) % 1_000_003).sum())

        start = time.perf_counter()
        seconds = edask.read_events(paths, partition=partition, columns=["file"])
        rates = seconds.map_partitions(rate_per_second, meta=(None, "int64")).compute()
        rates = rates.groupby(level=[0, 1]).sum()
        timings["rate"] = time.perf_counter() - start
        results["rate_total"] = int(rates.sum())
        results["rate_max_per_s"] = int(rates.max())

        shutil.rmtree(out_dir, ignore_errors=True)
        start = time.perf_counter()
        written = edask.write_windows(paths, rvt_histogram, out_dir, window="50ms", progress=False)
        timings["rvt"] = time.perf_counter() - start
        results["rvt_windows"] = sum(n for _, n in written.values())
        results["rvt_bytes"] = sum(os.path.getsize(p) for p, _ in written.values())
        shutil.rmtree(out_dir, ignore_errors=True)  # up to GBs of histograms
        results["peak_rss_mib"] = sorted(client.run(peak_rss_mib).values())
    return {"timings": timings, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--events", type=int, default=50_000_000, help="events per file")
    parser.add_argument("--small", action="store_true", help="4 files x 2 M events: a check that it runs")
    parser.add_argument("--dir", type=Path, help="dataset directory (default: a temporary one, removed unless --keep)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workers", type=lambda text: [int(w) for w in text.split(",")], default=[2, 1],
                        help="the clusters, in this order (default 2,1; both 1 and 2 are needed for the table)")
    parser.add_argument("--partition", default="1s", help="read_events partition width (memory per task grows with it)")
    args = parser.parse_args()
    if args.small:
        args.files, args.events = 4, 2_000_000

    import distributed  # noqa: F401  (fail early without the dask extra)

    work = args.dir or Path(tempfile.mkdtemp(prefix="evlib-dask-bench-"))
    cache = work / "index-cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        start = time.perf_counter()
        paths = make_dataset(work / "data", args.files, args.events)
        generated = time.perf_counter() - start
        total = args.files * args.events
        size = sum(os.path.getsize(p) for p in paths)
        print(f"dataset: {args.files} files x {args.events:,} events = {total:,} events, {size / 2**30:.2f} GiB EVT 3.0 "
              f"in {work / 'data'} ({generated:.0f} s to generate or check)")

        shutil.rmtree(cache, ignore_errors=True)
        import distributed as dist

        import evlib.dask as edask

        with dist.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                               env=env) as cluster, dist.Client(cluster) as client:  # fmt: skip
            client.run(lambda: __import__("evlib.dask"))
            start = time.perf_counter()
            edask.read_events(paths, partition=args.partition)
            cold = time.perf_counter() - start
        print(f"cold planning (builds every file's time index, 2 workers): {cold:.1f} s, {total / cold / 1e6:.0f} M events/s")

        runs = {}
        for workers in args.workers:
            runs[workers] = run_stages(paths, workers, work / f"rvt-{workers}", env, args.partition)
            print(f"{workers} worker(s): " + json.dumps(runs[workers]), flush=True)
        if runs[1]["results"] != {**runs[2]["results"], "peak_rss_mib": runs[1]["results"]["peak_rss_mib"]}:
            sys.exit("the two clusters disagree: " + json.dumps({w: r["results"] for w, r in runs.items()}))

        print(f"\n| stage | 1 worker | 2 workers | speed-up |\n|---|---|---|---|")
        for stage in ("plan", "per-pixel", "rate", "rvt"):
            one, two = runs[1]["timings"][stage], runs[2]["timings"][stage]
            rate = "" if stage == "plan" else f" ({total / one / 1e6:.0f} / {total / two / 1e6:.0f} M events/s)"
            print(f"| {stage} | {one:.2f} s | {two:.2f} s | {one / two:.2f}x{rate} |")
        print(f"peak RSS per worker (MiB): 1 worker {runs[1]['results']['peak_rss_mib']}, "
              f"2 workers {runs[2]['results']['peak_rss_mib']}")
        print(f"events counted {runs[2]['results']['events']:,}; RVT windows {runs[2]['results']['rvt_windows']} "
              f"({runs[2]['results']['rvt_bytes'] / 2**20:.0f} MiB of .npy)")
        if args.json:
            args.json.write_text(json.dumps({"files": args.files, "events_per_file": args.events, "cold_plan_s": cold, "runs": runs}, indent=1))
    finally:
        for workers in (1, 2):
            shutil.rmtree(work / f"rvt-{workers}", ignore_errors=True)
        if not args.dir and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
