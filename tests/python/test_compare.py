"""python -m evlib.compare on tiny files with a minimal set of readers: two of ours, a correct
stand-in peer, a deliberately wrong one and a broken one (scripts written here, run in fresh
processes like real peers). No timing is asserted: only what was run, judged and written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from evlib.compare import __main__ as compare_main
from evlib.compare import correctness, peers, venvs
from evlib.compare.datasets import link_with_extension, reference
from evlib.compare.measure import run_process
from evlib.compare.report import markdown, write_all
from evlib.compare.runner import run_comparison

# A stand-in peer with _child.py's command line (MODE PATH FORMAT): it decodes with our
# iter_batches and, as SHIFT says, adds 1 µs to every time (a wrong reader), swaps the first two
# events (of equal time in these files: a reader that only orders them differently) or exits
# with an error (a broken one).
FAKE_PEER = r'''
import hashlib, json, sys, time
import numpy as np
import evlib

SHIFT = {shift!r}
mode, path, fmt = sys.argv[1:]
if SHIFT == "crash":
    sys.exit("fake peer: cannot read " + path)
rows = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
start = time.perf_counter()
parts = []
for batch in evlib.iter_batches(path):
    c = batch.to_numpy()
    r = np.empty(len(batch), dtype=rows)
    r["t"], r["x"], r["y"], r["p"] = c["t"] + (SHIFT if SHIFT != "swap" else 0), c["x"], c["y"], c["p"]
    parts.append(r)
r = np.concatenate(parts)
if SHIFT == "swap":
    assert r["t"][0] == r["t"][1]
    r[[0, 1]] = r[[1, 0]]
out = {{"events": len(r), "t_min": int(r["t"].min()), "t_max": int(r["t"].max()),
        "digest": hashlib.sha256(r.tobytes()).hexdigest()}}
if mode == "time":
    out = {{"events": len(r), "seconds": time.perf_counter() - start}}
elif mode == "check-set":
    out["t_digest"] = hashlib.sha256(np.ascontiguousarray(r["t"]).tobytes()).hexdigest()
    r.sort(order=["t", "x", "y", "p"])
    out["sorted_digest"] = hashlib.sha256(r.tobytes()).hexdigest()
print(json.dumps(out))
'''


def fake_peer(tmp_path: Path, name: str, shift: object) -> peers.Peer:
    script = tmp_path / f"{name}.py"
    script.write_text(FAKE_PEER.format(shift=shift))
    return peers.Peer(name, frozenset({"evt3", "hdf5"}), script=str(script), note="test stand-in")


@pytest.fixture(scope="module")
def files(generate) -> list[str]:
    return [str(generate("evt3", 30_000)), str(generate("hdf5", 30_000))]


@pytest.fixture(scope="module")
def comparison(files: list[str], cli: Path, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("compare")
    chosen = [*peers.by_name(["evlib C++ (whole file)", "evlib C++ (streaming)", "evlib iter_batches"]),
              fake_peer(tmp, "good peer", 0), fake_peer(tmp, "wrong peer", 1), fake_peer(tmp, "broken peer", "crash"),
              fake_peer(tmp, "reordering peer", "swap")]
    settings = {"command": "test", "date": "today", "machine": "test machine", "evlib_version": "test"}
    result = run_comparison(files, chosen, str(cli), rounds=2, timeout_s=120, budget_s=600,
                            venv_dir=tmp / "venvs", work_dir=tmp, settings=settings, log=lambda _: None)
    return result, tmp


def readers_of(comparison, file_index: int) -> dict:
    return {r.peer.name: r for r in comparison.files[file_index].readers}


def test_each_reader_is_judged_against_the_reference(comparison) -> None:
    result, _ = comparison
    for i in range(2):
        readers = readers_of(result, i)
        assert readers["evlib C++ (whole file)"].verdict.status == correctness.REFERENCE
        assert readers["evlib iter_batches"].verdict.status == correctness.SAME
        assert readers["good peer"].verdict.status == correctness.SAME
        wrong = readers["wrong peer"].verdict
        assert wrong.status == correctness.WRONG and "digest differs" in wrong.detail and "t 1.." in wrong.detail
        broken = readers["broken peer"].verdict
        assert broken.status == correctness.FAILED and "cannot read" in broken.detail
        reordered = readers["reordering peer"].verdict
        assert reordered.status == correctness.REORDERED and reordered.correct
        assert reordered.detail == "events of equal time in another order"


def test_every_working_reader_is_timed_in_every_round_and_a_broken_one_never(comparison, files) -> None:
    result, _ = comparison
    assert result.settings["rounds_done"] == 2
    for i, f in enumerate(result.files):
        readers = readers_of(result, i)
        assert readers["broken peer"].runs == []
        for name in ("evlib C++ (whole file)", "evlib C++ (streaming)", "evlib iter_batches", "good peer", "wrong peer",
                     "reordering peer"):
            runs = readers[name].runs
            assert [r.round for r in runs] == [0, 1], name
            assert all(r.ok and r.events == f.reference.events and r.seconds > 0 and r.peak_rss_bytes > 0 for r in runs), name


def test_the_best_correct_peer_is_never_a_wrong_one(comparison) -> None:
    result, _ = comparison
    for f in result.files:
        assert f.best_correct_peer().peer.name in ("good peer", "reordering peer")


def test_markdown_json_and_charts_hold_the_runs(comparison) -> None:
    result, tmp = comparison
    written = write_all(result, tmp / "out", None)
    text = written["markdown"].read_text()
    assert "| wrong peer |" in text and "**WRONG**" in text and "**FAILED**" in text
    assert "vs best correct peer" in text
    doc = json.loads(written["json"].read_text())
    runs = [run for f in doc["files"] for r in f["readers"] for run in r["runs"]]
    assert len(runs) == 2 * 2 * 6  # files x rounds x timed readers
    assert {r["reader"] for r in doc["files"][0]["readers"]} >= {"wrong peer", "broken peer"}
    wrong = next(r for r in doc["files"][0]["readers"] if r["reader"] == "wrong peer")
    assert wrong["correctness"]["status"] == "wrong"
    pytest.importorskip("matplotlib")
    for name in ("throughput", "memory"):
        assert written[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_peer_limited_in_events_is_skipped_with_the_reason(files, cli, tmp_path) -> None:
    limited = peers.Peer("small reader", frozenset({"evt3"}), child="evlib-batches", max_events=1000)
    result = run_comparison(files[:1], [limited], str(cli), rounds=1, timeout_s=60, budget_s=60,
                            venv_dir=tmp_path, work_dir=tmp_path, settings={}, log=lambda _: None)
    assert result.files[0].readers == []
    assert result.files[0].skipped == [("small reader", "over its limit of 1,000 events")]


def test_a_peer_that_does_not_install_is_dropped_with_pips_reason(files, cli, tmp_path) -> None:
    missing = venvs.Environment("nothing", ("--no-index", "evlib-compare-no-such-package==1.0"))
    peer = peers.Peer("uninstallable", frozenset({"evt3"}), missing, "evlib-batches")
    result = run_comparison(files[:1], [peer], str(cli), rounds=1, timeout_s=60, budget_s=60,
                            venv_dir=tmp_path / "venvs", work_dir=tmp_path, settings={"command": "c", "date": "d",
                            "machine": "m", "evlib_version": "v"}, log=lambda _: None)
    assert len(result.dropped) == 1
    name, why = result.dropped[0]
    assert name == "uninstallable" and "does not install here" in why and "no-such-package" in why
    assert "uninstallable: does not install here" in markdown(result)
    assert not (tmp_path / "venvs" / "nothing").exists()


def test_a_line_a_peer_library_prints_after_the_result_does_not_hide_it() -> None:
    code = "import json; print(json.dumps({'events': 3, 'seconds': 0.5})); print('library: bye')"
    outcome = run_process([sys.executable, "-c", code], timeout_s=60)
    assert outcome.error == "" and outcome.result == {"events": 3, "seconds": 0.5}


def test_a_hung_reader_is_killed_at_the_timeout() -> None:
    outcome = run_process([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.5)
    assert outcome.result is None and outcome.error == "timed out after 0.5 s" and outcome.wall_s < 30


def test_peers_that_need_an_extension_get_a_link(files, tmp_path) -> None:
    h5 = files[1]
    linked = link_with_extension(h5, "evt3", tmp_path)
    assert linked.endswith(".raw") and Path(linked).resolve() == Path(h5).resolve()
    assert link_with_extension(files[0], "evt3", tmp_path) == files[0]


def test_the_reference_is_the_cli_digest(files, cli, cli_info) -> None:
    ref = reference(str(cli), files[0], 60)
    info = cli_info(files[0])
    assert (ref.events, ref.digest, ref.format) == (info["events"], info["digest"], "evt3")


def test_the_command_line_quick_run_writes_its_outputs(cli, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = compare_main.main(["--quick", "--events", "20000", "--formats", "evt3,text", "--runs", "1",
                              "--readers", "evlib C++ (whole file),evlib load_events",
                              "--out", str(out), "--json", str(tmp_path / "runs.json"), "--evlib", str(cli)])
    assert code == 0
    doc = json.loads((tmp_path / "runs.json").read_text())
    assert [f["reference"]["format"] for f in doc["files"]] == ["evt3", "text"]
    for f in doc["files"]:
        load = next(r for r in f["readers"] if r["reader"] == "evlib load_events")
        assert load["correctness"]["status"] == "same" and len(load["runs"]) == 1
    assert "python -m evlib.compare --quick" in (out / "compare.md").read_text()
    assert "evlib load_events" in capsys.readouterr().out


def test_unknown_readers_and_formats_are_usage_errors(tmp_path) -> None:
    assert compare_main.main(["--readers", "nobody", "--out", str(tmp_path)]) == 2
    assert compare_main.main(["--formats", "evt9", "--out", str(tmp_path)]) == 2
