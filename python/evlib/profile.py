"""Loading profile of one file on this machine: direct against streaming, memory, and advice.

    python -m evlib.profile FILE [--threshold 5000000] [--runs 3] [--plot profile.png] [--json PATH]

or, from Python (the seed's ``benchmark_advanced.py`` API)::

    from evlib.profile import profile_loading_performance
    result = profile_loading_performance("recording.raw", streaming_threshold=5_000_000)
    print(result["advice"])

It measures, each run in a fresh process: the direct load (``evlib.load_events(path).collect()``,
all events in memory) and the streaming one (``evlib.iter_batches(path)``), their throughput and
peak RSS; then, through ``evlib bench FILE --sweep-chunks --json``, the C++ streaming rate and
peak RSS at several chunk sizes and the whole-file read, with the CLI's recommendation of a chunk
size and of the largest file worth reading whole. The advice says whether the given threshold
suits this machine. A plot shows throughput and peak RSS against chunk size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from .compare import datasets
from .compare.measure import command, run_process
from .compare.peers import PEERS

DEFAULT_CHUNK_SIZES = (16_384, 65_536, 262_144, 1_048_576, 4_194_304)


def _python_runs(reader: str, path: str, fmt: str, runs: int, timeout_s: float) -> dict[str, Any]:
    peer = next(p for p in PEERS if p.name == reader)
    rates, peaks, errors = [], [], []
    for _ in range(runs):
        outcome = run_process(command(peer, sys.executable, None, path, fmt, "time"), timeout_s)
        if outcome.result is None or outcome.result["seconds"] <= 0:
            errors.append(outcome.error or "no time")
            continue
        rates.append(outcome.result["events"] / outcome.result["seconds"] / 1e6)
        peaks.append(outcome.peak_rss_bytes)
    if not rates:
        return {"reader": reader, "error": "; ".join(errors)}
    return {"reader": reader, "runs": len(rates), "median_mev_s": statistics.median(rates),
            "min_mev_s": min(rates), "max_mev_s": max(rates), "median_peak_rss_bytes": int(statistics.median(peaks))}


def _sweep(cli: str, path: str, runs: int, chunk_sizes: Sequence[int], timeout_s: float) -> dict[str, Any]:
    args = [cli, "bench", path, "--sweep-chunks", "--json", "--runs", str(runs),
            "--chunk-sizes", ",".join(str(c) for c in chunk_sizes)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout)


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def _advice(events: int, threshold: int, direct: dict, streaming: dict, sweep: dict) -> list[str]:
    lines = []
    if "median_mev_s" in direct and "median_mev_s" in streaming:
        faster = "streaming" if streaming["median_mev_s"] > direct["median_mev_s"] else "loading directly"
        lines.append(
            f"Through Python, loading this file directly ran at {direct['median_mev_s']:.0f} M events/s with a peak of "
            f"{_mib(direct['median_peak_rss_bytes'])}; streaming it ran at {streaming['median_mev_s']:.0f} M events/s "
            f"with a peak of {_mib(streaming['median_peak_rss_bytes'])}: {faster} was faster here.")
    rec = sweep.get("recommendation")
    if rec:
        lines.append(f"Stream in chunks of {rec['chunk_events']:,} events (LoadConfig(chunk_events=...), "
                     f"`--chunk`): larger chunks were no faster on this machine and cost more memory.")
        limit = int(rec["whole_file_max_events"])
        lines.append(f"A whole-file read costs about {rec['whole_file_bytes_per_event']:.0f} bytes per event here, so files "
                     f"of up to about {limit:,} events fit in half of the {_mib(rec['available_memory_bytes'])} "
                     f"available now; stream anything larger.")
        if threshold > limit:
            lines.append(f"Your streaming threshold of {threshold:,} events is above that: lower it to {limit:,} "
                         f"or reads near it may run out of memory.")
        else:
            lines.append(f"Your streaming threshold of {threshold:,} events is safe on this machine "
                         f"(whole-file reads below it need at most {_mib(threshold * rec['whole_file_bytes_per_event'])}).")
    elif sweep.get("error"):
        lines.append(f"No chunk-size sweep: {sweep['error']}.")
    verdict = "stream it" if events > threshold else "load it directly"
    lines.append(f"This file has {events:,} events, {'above' if events > threshold else 'at or below'} the threshold: {verdict}.")
    return lines


def plot_sweep(sweep: dict[str, Any], path: Path) -> Path | None:
    """Throughput (left axis) and peak RSS (right axis, dashed) against chunk size (log x), with
    the whole-file read as flat lines for reference."""
    results = [r for r in sweep.get("results", []) if r.get("mode") == "stream"]
    if not results:
        return None
    from ._charts import line_chart

    chunks = [r["chunk_events"] for r in results]
    speed = {"streaming, M events/s": [r["median_mev_s"] for r in results]}
    memory = {"streaming, peak RSS MiB": [r["median_peak_rss_bytes"] / 2**20 for r in results]}
    whole = next((r for r in sweep["results"] if r.get("mode") == "whole-file"), None)
    if whole:
        speed["whole file, M events/s"] = [whole["median_mev_s"]] * len(chunks)
        memory["whole file, peak RSS MiB"] = [whole["median_peak_rss_bytes"] / 2**20] * len(chunks)
    rec = sweep.get("recommendation", {}).get("chunk_events")
    title = f"{Path(sweep['path']).name}: {sweep['format']}, {sweep['events']:,} events"
    if rec:
        title += f"; recommended chunk {rec:,} events"
    line_chart(chunks, speed, path, xlabel="chunk size, events", ylabel="M events/s", title=title, logx=True,
               right=memory, right_label="peak RSS, MiB", logy_right=True)
    return path


def profile_loading_performance(file_path: str | Path, streaming_threshold: int = 5_000_000, *, runs: int = 3,
                                chunk_sizes: Sequence[int] = DEFAULT_CHUNK_SIZES, plot: str | Path | None = None,
                                cli: str | None = None, timeout_s: float = 600.0) -> dict[str, Any]:
    """Direct against streaming loading of ``file_path``, peak memory, and a recommendation of
    the streaming threshold and chunk size for this machine.

    Returns a JSON-able dict: ``file``, ``format``, ``events``, ``direct`` and ``streaming``
    (Python, fresh processes: median/min/max M events/s, median peak RSS), ``sweep`` (the JSON
    of ``evlib bench --sweep-chunks``; an ``error`` when the CLI is missing), ``recommendation``
    (``chunk_events``, ``streaming_threshold_events``), ``advice`` (sentences) and ``plot``.
    """
    path = str(file_path)
    cli = datasets.find_cli(cli)
    if cli is None:
        from . import open as open_file

        f = open_file(path)
        fmt, events = f.format, f.n_events
        sweep: dict[str, Any] = {"error": "the evlib CLI was not found (build it, or set $EVLIB_CLI)"}
    else:
        ref = datasets.reference(cli, path, timeout_s)
        fmt, events = ref.format, ref.events
        sweep = _sweep(cli, path, runs, chunk_sizes, timeout_s)
    direct = _python_runs("evlib load_events", path, fmt, runs, timeout_s)
    streaming = _python_runs("evlib iter_batches", path, fmt, runs, timeout_s)
    rec = sweep.get("recommendation", {})
    result: dict[str, Any] = {
        "file": path, "format": fmt, "events": events, "streaming_threshold": streaming_threshold,
        "direct": direct, "streaming": streaming, "sweep": sweep,
        "recommendation": {"chunk_events": rec.get("chunk_events"),
                           "streaming_threshold_events": rec.get("whole_file_max_events")},
        "advice": _advice(events, streaming_threshold, direct, streaming, sweep),
        "plot": None,
    }
    if plot is not None and "results" in sweep:
        written = plot_sweep(sweep, Path(plot))
        result["plot"] = str(written) if written else None
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evlib.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--threshold", type=int, default=5_000_000, help="your streaming threshold in events (default 5 M)")
    parser.add_argument("--runs", type=int, default=3, help="fresh-process runs per measurement (default 3)")
    parser.add_argument("--chunk-sizes", default=",".join(str(c) for c in DEFAULT_CHUNK_SIZES))
    parser.add_argument("--plot", type=Path, default=Path("profile.png"), help="the PNG plot (default profile.png)")
    parser.add_argument("--json", type=Path, default=None, help="also write the whole result as JSON")
    parser.add_argument("--evlib", default=None, help="the evlib CLI (default: $EVLIB_CLI, PATH, build/tools/evlib/evlib)")
    args = parser.parse_args(argv)
    if not Path(args.file).is_file():
        print(f"evlib.profile: no such file: {args.file}", file=sys.stderr)
        return 2
    result = profile_loading_performance(args.file, args.threshold, runs=args.runs, plot=args.plot, cli=args.evlib,
                                         chunk_sizes=[int(c) for c in args.chunk_sizes.split(",") if c])
    print(f"{result['file']}: {result['format']}, {result['events']:,} events")
    for name in ("direct", "streaming"):
        r = result[name]
        if "error" in r:
            print(f"  {name}: failed: {r['error']}")
        else:
            print(f"  {name} ({r['reader']}): {r['median_mev_s']:.1f} ({r['min_mev_s']:.1f}-{r['max_mev_s']:.1f}) "
                  f"M events/s, peak RSS {_mib(r['median_peak_rss_bytes'])}")
    for r in result["sweep"].get("results", []):
        print(f"  C++ {r['label']:>10}: {r['median_mev_s']:.0f} M events/s, peak RSS {_mib(r['median_peak_rss_bytes'])}")
    print()
    print("\n".join(result["advice"]))
    if result["plot"]:
        print(f"\nplot: {result['plot']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
