"""The comparison itself: environments, reference decodes, correctness checks, timed rounds."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from . import correctness
from .correctness import Verdict
from .datasets import Reference, link_with_extension, reference
from .measure import Run, command, rotated, run_process, timed_run
from .peers import Peer
from .report import Comparison, FileResult, ReaderResult
from .venvs import EnvironmentUnavailable, ensure, installed_version

Log = Callable[[str], None]


def prepare_environments(peers: Sequence[Peer], cli: str | None, venv_dir: Path, log: Log
                         ) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """The interpreter and version of each usable reader, and the readers dropped with why."""
    pythons: dict[str, str] = {}
    versions: dict[str, str] = {}
    dropped: list[tuple[str, str]] = []
    failed_envs: dict[str, str] = {}
    for peer in peers:
        if peer.is_cli:
            if cli is None:
                dropped.append((peer.name, "the evlib CLI was not found (--evlib, $EVLIB_CLI, PATH or build/tools/evlib/evlib)"))
            else:
                pythons[peer.name] = ""
                versions[peer.name] = _our_version()
            continue
        if peer.env.name in failed_envs:
            dropped.append((peer.name, failed_envs[peer.env.name]))
            continue
        try:
            python = str(ensure(peer.env, venv_dir, log))
        except EnvironmentUnavailable as e:
            failed_envs[peer.env.name] = f"does not install here (pip install {' '.join(peer.env.requirements)}: {e})"
            dropped.append((peer.name, failed_envs[peer.env.name]))
            continue
        pythons[peer.name] = python
        versions[peer.name] = _our_version() if peer.ours else (
            installed_version(Path(python), peer.distribution) if peer.distribution else "")
    return pythons, versions, dropped


def _our_version() -> str:
    from .. import __version__

    return __version__


# Our streaming reader, whose check-set digests stand for the reference's when a peer's order differs.
OUR_SET_READER = Peer("evlib iter_batches (as a set)", frozenset(), child="evlib-batches", ours=True)


def check(peer: Peer, python: str, cli: str | None, path: str, ref: Reference, timeout_s: float,
          reference_set: dict[str, dict]) -> Verdict:
    """One untimed decode that decides the correctness column (it also warms the page cache).
    Our CLI is the reference; its bench run is checked for the event count only. A reader whose
    digest alone differs is decoded once more and compared as a set of events (``reference_set``
    caches ours per file)."""
    outcome = run_process(command(peer, python, cli, path, ref.format, "check"), timeout_s)
    if peer.is_cli:
        if outcome.result is None:
            return Verdict(correctness.FAILED, outcome.error)
        events = int(outcome.result["events"])
        if events != ref.events:
            return Verdict(correctness.WRONG, f"{events} events, not {ref.events}")
        return Verdict(correctness.REFERENCE)
    verdict = correctness.judge(outcome, ref)
    if not correctness.only_order_may_differ(outcome, ref):
        return verdict
    if ref.path not in reference_set:
        ours = run_process(command(OUR_SET_READER, sys.executable, cli, ref.path, ref.format, "check-set"), timeout_s)
        if ours.result is None:
            return verdict
        reference_set[ref.path] = ours.result
    again = run_process(command(peer, python, cli, path, ref.format, "check-set"), timeout_s)
    if again.result is None:
        return verdict
    return correctness.judge_as_set(again.result, reference_set[ref.path])


def compare_file(path: str, ref: Reference, peers: Sequence[Peer], pythons: dict[str, str], versions: dict[str, str],
                 cli: str | None, rounds: int, timeout_s: float, deadline: float, links_dir: Path, log: Log
                 ) -> tuple[FileResult, int]:
    """Checks then times every applicable reader on one file; returns the rounds completed."""
    result = FileResult(ref, [])
    paths: dict[str, str] = {}
    reference_set: dict[str, dict] = {}
    for peer in peers:
        if ref.format not in peer.formats or peer.name not in pythons:
            continue
        if peer.max_events is not None and ref.events > peer.max_events:
            result.skipped.append((peer.name, f"over its limit of {peer.max_events:,} events"))
            continue
        paths[peer.name] = link_with_extension(path, ref.format, links_dir) if peer.needs_extension else path
        verdict = check(peer, pythons[peer.name], cli, paths[peer.name], ref, timeout_s, reference_set)
        log(f"  {peer.name}: {verdict.status}{' (' + verdict.detail + ')' if verdict.detail else ''}")
        result.readers.append(ReaderResult(peer, verdict, versions.get(peer.name, "")))
    timed = [r for r in result.readers if r.verdict.status != correctness.FAILED]
    done = 0
    for round_ in range(rounds):
        if round_ > 0 and time.monotonic() > deadline:
            log(f"  time budget reached after {done} round(s)")
            break
        for r in rotated(timed, round_):
            run: Run = timed_run(r.peer, pythons[r.peer.name], cli, paths[r.peer.name], ref.format, round_, timeout_s)
            r.runs.append(run)
            if run.ok and run.events != ref.events:
                run.error = f"decoded {run.events} events, not {ref.events}"
        done += 1
        log(f"  round {done}/{rounds} done")
    return result, done


def run_comparison(files: Sequence[str], peers: Sequence[Peer], cli: str | None, *, rounds: int, timeout_s: float,
                   budget_s: float, venv_dir: Path, work_dir: Path, settings: dict, log: Log = print) -> Comparison:
    if cli is None:
        raise RuntimeError("the evlib CLI is needed for the reference decodes: build it, or give --evlib / $EVLIB_CLI")
    start = time.monotonic()
    pythons, versions, dropped = prepare_environments(peers, cli, venv_dir, log)
    refs = [reference(cli, path, timeout_s) for path in files]
    results: list[FileResult] = []
    rounds_done: list[int] = []
    for i, (path, ref) in enumerate(zip(files, refs)):
        # Each file gets an equal share of what is left of the budget.
        remaining = budget_s - (time.monotonic() - start)
        deadline = time.monotonic() + max(0.0, remaining) / (len(files) - i)
        log(f"{path} ({ref.format}, {ref.events:,} events)")
        result, done = compare_file(path, ref, peers, pythons, versions, cli, rounds, timeout_s, deadline,
                                    work_dir / "links", log)
        results.append(result)
        rounds_done.append(done)
    settings = {**settings, "rounds": rounds, "rounds_done": min(rounds_done, default=0),
                "timeout_s": timeout_s, "budget_s": budget_s, "elapsed_s": round(time.monotonic() - start, 1)}
    if rounds_done and min(rounds_done) < rounds:
        settings["note"] = (settings.get("note", "") + f" The time budget cut some files to {min(rounds_done)} "
                            f"of {rounds} rounds.").strip()
    return Comparison(results, dropped, settings)
