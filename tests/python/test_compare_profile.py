"""evlib.profile: direct against streaming loading, the chunk-size sweep and the advice, on a
small file (values are not asserted, only that each part was measured and reported)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evlib.profile import main, profile_loading_performance


def test_profile_measures_both_paths_and_recommends(generate, cli: Path, tmp_path: Path) -> None:
    path = generate("evt3", 200_000)
    plot = tmp_path / "profile.png"
    result = profile_loading_performance(path, streaming_threshold=100_000, runs=1, chunk_sizes=(16_384, 65_536),
                                         plot=plot, cli=str(cli))
    assert (result["format"], result["events"]) == ("evt3", 200_000)
    for name, reader in (("direct", "evlib load_events"), ("streaming", "evlib iter_batches")):
        assert result[name]["reader"] == reader and result[name]["runs"] == 1
        assert result[name]["median_mev_s"] > 0 and result[name]["median_peak_rss_bytes"] > 0
    labels = [r["label"] for r in result["sweep"]["results"]]
    assert labels == ["16384", "65536", "whole file"]
    assert result["recommendation"]["chunk_events"] in (16_384, 65_536)
    assert result["recommendation"]["streaming_threshold_events"] > 0
    advice = " ".join(result["advice"])
    assert "Stream in chunks of" in advice and "above the threshold: stream it" in advice
    json.dumps(result)  # JSON-able as documented
    pytest.importorskip("matplotlib")
    assert result["plot"] == str(plot) and plot.read_bytes()[:4] == b"\x89PNG"


def test_profile_without_the_cli_still_compares_the_python_paths(generate, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("evlib.compare.datasets.find_cli", lambda explicit=None: None)
    result = profile_loading_performance(generate("evt3", 50_000), runs=1, plot=tmp_path / "p.png")
    assert result["sweep"] == {"error": "the evlib CLI was not found (build it, or set $EVLIB_CLI)"}
    assert result["direct"]["runs"] == 1 and result["plot"] is None
    assert any("No chunk-size sweep" in line for line in result["advice"])
    assert "at or below the threshold: load it directly" in result["advice"][-1]


def test_the_command_line_prints_the_advice(generate, cli: Path, tmp_path: Path, capsys) -> None:
    path = generate("hdf5", 100_000)
    code = main([str(path), "--runs", "1", "--chunk-sizes", "65536", "--plot", str(tmp_path / "p.png"),
                 "--json", str(tmp_path / "p.json"), "--evlib", str(cli)])
    assert code == 0
    out = capsys.readouterr().out
    assert "hdf5, 100,000 events" in out and "direct (evlib load_events)" in out and "Stream in chunks of" in out
    assert json.loads((tmp_path / "p.json").read_text())["events"] == 100_000
    assert main([str(tmp_path / "missing.raw")]) == 2
