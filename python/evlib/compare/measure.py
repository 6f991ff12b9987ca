"""Fresh-process runs: one decode per process, its own timing, the child's peak RSS, a timeout.

Every timed run is a new process, so no reader profits from a warm allocator or a cache another
run left; the readers of a file take turns round by round (rotating who goes first), so that the
drift of a shared machine falls on all of them alike.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from .peers import CHILD_SCRIPT, Peer


@dataclass
class Outcome:
    """What one child process printed (its last line, JSON), or why it gave nothing."""

    result: dict[str, Any] | None
    peak_rss_bytes: int
    wall_s: float
    error: str = ""


@dataclass
class Run:
    """One timed decode, as written to the JSON file."""

    file: str
    format: str
    reader: str
    round: int
    events: int
    seconds: float
    peak_rss_bytes: int
    wall_s: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# Linux keeps a process's peak RSS across fork and exec: a reader forked straight from this
# (large) Python would report at least this process's size. A small shell in between forks the
# reader from its own small image, so the reader's own ru_maxrss (which _child.py and
# `evlib bench` report) is its real peak. The trailing `exit` stops the shell from exec'ing the
# command in its place.
_FRESH_IMAGE = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


def run_process(command: list[str], timeout_s: float) -> Outcome:
    """Runs ``command`` to its end or the timeout (then kills its process group). The peak RSS
    is what the command reports as ``peak_rss_bytes``, else the ``wait4`` figure of the shell
    and its child (an upper bound: it includes the size of this process)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([*_FRESH_IMAGE, *command], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=tempfile.gettempdir(), start_new_session=True)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        peak = int(usage.ru_maxrss) * 1024  # KiB on Linux
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if timed_out.is_set():
        return Outcome(None, peak, wall, f"timed out after {timeout_s:g} s")
    if proc.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        return Outcome(None, peak, wall, f"exit {proc.returncode}: {lines[-1] if lines else 'no message'}")
    result = _last_json_object(stdout)
    if result is None:
        return Outcome(None, peak, wall, f"no JSON on stdout: {stdout[-200:]!r}")
    return Outcome(result, int(result.get("peak_rss_bytes", peak)), wall)


def _last_json_object(stdout: str) -> dict[str, Any] | None:
    """The last line that is a JSON object (a peer's library may print after our child does)."""
    for line in reversed(stdout.splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def command(peer: Peer, python: str, cli: str | None, path: str, fmt: str, mode: str) -> list[str]:
    """The command of one run of ``peer``; ``mode`` is ``time`` or ``check``."""
    if peer.is_cli:
        assert cli is not None
        return [cli, "bench", path, *peer.cli_args]
    isolate = [] if peer.env.ours else ["-I"]  # -I: no user site, no PYTHONPATH, no script dir
    if peer.script:
        return [python, *isolate, peer.script, mode, path, fmt]
    return [python, *isolate, str(CHILD_SCRIPT), peer.child, mode, path, fmt]


def timed_run(peer: Peer, python: str, cli: str | None, path: str, fmt: str, round_: int, timeout_s: float) -> Run:
    outcome = run_process(command(peer, python, cli, path, fmt, "time"), timeout_s)
    if outcome.result is None:
        return Run(path, fmt, peer.name, round_, 0, 0.0, outcome.peak_rss_bytes, outcome.wall_s, outcome.error)
    r = outcome.result
    if peer.is_cli:  # evlib bench's own JSON
        events, seconds = int(r["events"]), float(r["median_s"])
    else:
        events, seconds = int(r["events"]), float(r["seconds"])
    return Run(path, fmt, peer.name, round_, events, seconds, outcome.peak_rss_bytes, outcome.wall_s)


def rotated(items: list[Any], round_: int) -> list[Any]:
    """``items`` starting at position ``round_`` (so each reader takes its turn going first)."""
    if not items:
        return items
    k = round_ % len(items)
    return items[k:] + items[:k]
