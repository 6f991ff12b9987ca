"""The comparison's outputs: a Markdown table, a JSON file with every run, PNG charts."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import charts
from .correctness import Verdict
from .datasets import Reference
from .measure import Run
from .peers import Peer

# The targets at 100 M events, one thread: evlib C++ / best correct peer, per format
# (text: against evlib 0.13.2, its only peer with a text reader there).
CPP_TARGETS = {"evt3": 5.0, "evt2": 2.5, "dat": 2.5, "hdf5": 3.0, "aedat4": 3.0, "text": 50.0}
PYTHON_SPEED_TARGET = 20.0  # evlib load_events / evlib 0.13.2 load_events
PYTHON_MEMORY_TARGET = 5.0  # evlib 0.13.2 peak RSS / ours
EVLIB013 = "evlib 0.13.2 load_events"


@dataclass
class Stats:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> "Stats | None":
        return cls(statistics.median(values), min(values), max(values)) if values else None

    def cell(self, digits: int = 0) -> str:
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"


@dataclass
class ReaderResult:
    peer: Peer
    verdict: Verdict
    version: str = ""
    runs: list[Run] = field(default_factory=list)

    @property
    def good_runs(self) -> list[Run]:
        return [r for r in self.runs if r.ok and r.seconds > 0]

    @property
    def throughput(self) -> Stats | None:
        """M events/s."""
        return Stats.of([r.events / r.seconds / 1e6 for r in self.good_runs])

    @property
    def peak_rss(self) -> Stats | None:
        """MiB."""
        return Stats.of([r.peak_rss_bytes / 2**20 for r in self.good_runs])

    @property
    def run_errors(self) -> list[str]:
        return sorted({r.error for r in self.runs if not r.ok})


@dataclass
class FileResult:
    reference: Reference
    readers: list[ReaderResult]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # reader, why not run on this file

    def best_correct_peer(self) -> ReaderResult | None:
        candidates = [r for r in self.readers if not r.peer.ours and r.verdict.correct and r.throughput]
        return max(candidates, key=lambda r: r.throughput.median, default=None)  # type: ignore[union-attr]

    def reader(self, name: str) -> ReaderResult | None:
        return next((r for r in self.readers if r.peer.name == name), None)

    def ratio(self, name: str, against: ReaderResult | None) -> float | None:
        mine = self.reader(name)
        if mine is None or against is None or not mine.throughput or not against.throughput:
            return None
        return mine.throughput.median / against.throughput.median


@dataclass
class Comparison:
    files: list[FileResult]
    dropped: list[tuple[str, str]]  # reader, why it could not run at all
    settings: dict[str, Any]


def _mib(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def file_table(f: FileResult) -> list[str]:
    ref = f.reference
    best = f.best_correct_peer()
    lines = [
        f"#### {ref.format}: {Path(ref.path).name} ({ref.events:,} events, {ref.file_bytes / ref.events:.2f} bytes/event on disk)",
        "",
        "| reader | version | M events/s | peak RSS, MiB | RSS bytes/event | correct | vs best correct peer |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in f.readers:
        speed, rss = r.throughput, r.peak_rss
        ratio = _ratio(f.ratio(r.peer.name, best)) if r.peer.ours else ("best" if r is best else "")
        mode = " (streaming)" if r.peer.streaming and "streaming" not in r.peer.name else ""
        if speed is None:
            why = "; ".join(r.run_errors) or "not timed (check failed)"
            lines.append(f"| {r.peer.name}{mode} | {r.version} | {why} | - | - | {r.verdict.cell()} | |")
            continue
        per_event = rss.median * 2**20 / ref.events if rss and ref.events else 0.0
        lines.append(
            f"| {r.peer.name}{mode} | {r.version} | {speed.cell(1 if speed.median < 10 else 0)} | {rss.cell() if rss else '-'} "
            f"| {per_event:.1f} | {r.verdict.cell()} | {ratio} |"
        )
    for name, why in f.skipped:
        lines.append(f"| {name} | | not run: {why} | | | | |")
    return lines + [""]


def summary_table(comparison: Comparison) -> list[str]:
    lines = [
        "| format | events | best correct peer, M events/s | evlib C++ whole file / peer | evlib C++ streaming / peer | C++ target (100 M) "
        "| load_events / evlib 0.13.2: speed, memory (target 20x, 5x) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in comparison.files:
        best = f.best_correct_peer()
        peer = f"{best.peer.name} {best.throughput.median:.0f}" if best and best.throughput else "none correct"
        whole = f.ratio("evlib C++ (whole file)", best)
        stream = f.ratio("evlib C++ (streaming)", best)
        old = f.reader(EVLIB013)
        ours = f.reader("evlib load_events")
        py = "-"
        if old and ours and old.throughput and ours.throughput and old.peak_rss and ours.peak_rss:
            py = (f"{ours.throughput.median / old.throughput.median:.1f}x, "
                  f"{old.peak_rss.median / ours.peak_rss.median:.1f}x less")
            if not old.verdict.correct:
                py += " (0.13.2 decodes other events)"
        target = CPP_TARGETS.get(f.reference.format)
        lines.append(
            f"| {f.reference.format} | {f.reference.events:,} | {peer} | {_ratio(whole)} | {_ratio(stream)} "
            f"| {'-' if target is None else f'≥ {target:g}x'} | {py} |"
        )
    return lines + [""]


def markdown(comparison: Comparison) -> str:
    s = comparison.settings
    lines = [
        f"`{s['command']}` on {s['date']} (evlib {s['evlib_version']}, {s['machine']}): "
        f"fresh process per run, readers interleaved round by round, median (min-max) of "
        f"{s['rounds_done']} runs, M events/s of the decode alone (imports, opening and start-up not timed), "
        f"peak RSS of the whole child process (interpreter included). {s.get('note', '')}".rstrip(),
        "",
        "Ratios are medians of our reader over the fastest peer whose decoded events match ours "
        "(count, time range and SHA-256 of t/x/y/p in file order).",
        "",
    ]
    lines += summary_table(comparison)
    for f in comparison.files:
        lines += file_table(f)
    if comparison.dropped:
        lines += ["Readers not measured:", ""]
        lines += [f"- {name}: {why}" for name, why in comparison.dropped]
        lines.append("")
    return "\n".join(lines)


def to_json(comparison: Comparison) -> dict[str, Any]:
    files = []
    for f in comparison.files:
        files.append({
            "reference": vars(f.reference),
            "readers": [{
                "reader": r.peer.name, "version": r.version, "ours": r.peer.ours, "streaming": r.peer.streaming,
                "correctness": r.verdict.to_json(),
                "median_mev_s": r.throughput.median if r.throughput else None,
                "median_peak_rss_bytes": int(r.peak_rss.median * 2**20) if r.peak_rss else None,
                "runs": [run.to_json() for run in r.runs],
            } for r in f.readers],
            "skipped": [{"reader": n, "reason": why} for n, why in f.skipped],
        })
    return {"settings": comparison.settings, "files": files,
            "dropped": [{"reader": n, "reason": why} for n, why in comparison.dropped]}


def write_charts(comparison: Comparison, out_dir: Path) -> list[Path]:
    """throughput.png and memory.png: per file (format) a bar per reader timed, log scale."""
    if not charts.available():
        return []
    rows = []
    for f in comparison.files:
        group = f"{f.reference.format} {f.reference.events / 1e6:g} M"
        for r in f.readers:
            if r.throughput and r.peak_rss:
                rows.append({"file": group, "reader": r.peer.name, "correct": r.verdict.correct,
                             "mev_s": r.throughput.median, "peak_rss_mib": r.peak_rss.median})
    if not rows:
        return []
    return [
        charts.grouped_bars(out_dir / "throughput.png", rows, "mev_s", "Decode throughput, median of the runs",
                            "M events/s (log)"),
        charts.grouped_bars(out_dir / "memory.png", rows, "peak_rss_mib", "Peak RSS of the reader's process, median",
                            "MiB (log)"),
    ]


def write_all(comparison: Comparison, out_dir: Path, json_path: Path | None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"markdown": out_dir / "compare.md"}
    written["markdown"].write_text(markdown(comparison))
    written["json"] = json_path or out_dir / "compare.json"
    written["json"].parent.mkdir(parents=True, exist_ok=True)
    written["json"].write_text(json.dumps(to_json(comparison), indent=1) + "\n")
    for png in write_charts(comparison, out_dir):
        written[png.stem] = png
    return written
