"""evlib._charts: PNGs written atomically, decodable, of the requested size, with the data passed
in drawn as the figure's artists."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

from evlib import _charts  # noqa: E402

THROUGHPUT = pl.DataFrame({
    "format": ["evt3", "evt3", "evt2", "evt2", "hdf5"],
    "reader": ["evlib", "expelliarmus", "evlib", "expelliarmus", "evlib"],
    "events_per_s": [1.2e9, 3.1e7, 8.0e8, 2.5e7, 2.2e8],
})


def png_size(path: Path) -> tuple[int, int]:
    image = imread(path)
    return image.shape[1], image.shape[0]


def bar_heights(figure: matplotlib.figure.Figure) -> dict[str, list[float]]:
    ax = figure.axes[0]
    return {container.get_label(): [bar.get_height() for bar in container] for container in ax.containers}


def test_grouped_bar_chart_on_a_log_scale(tmp_path: Path) -> None:
    out = tmp_path / "throughput.png"
    figure = _charts.bar_chart(THROUGHPUT, "events_per_s", "format", out, series="reader", title="Throughput",
                               ylabel="events/s", size=(6, 4), dpi=50)
    assert png_size(out) == (300, 200)
    ax = figure.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "Throughput" and ax.get_ylabel() == "events/s"
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["evt3", "evt2", "hdf5"]
    heights = bar_heights(figure)
    assert heights["evlib"] == [1.2e9, 8.0e8, 2.2e8]
    assert heights["expelliarmus"][:2] == [3.1e7, 2.5e7] and math.isnan(heights["expelliarmus"][2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["evlib", "expelliarmus"]
    labels = [text.get_text() for text in ax.texts]
    assert "1.2 G" in labels and "31 M" in labels


def test_bar_chart_takes_rows_or_columns_and_a_linear_scale(tmp_path: Path) -> None:
    rows = [{"chunk": "64 Ki", "mib": 12.5}, {"chunk": "1 Mi", "mib": 0.0}, {"chunk": "16 Mi", "mib": 210.0}]
    columns = {"chunk": ["64 Ki", "1 Mi", "16 Mi"], "mib": [12.5, 0.0, 210.0]}
    for i, table in enumerate((rows, columns)):
        figure = _charts.bar_chart(table, "mib", "chunk", tmp_path / f"memory{i}.png", log=False)
        assert figure.axes[0].get_yscale() == "linear"
        assert list(bar_heights(figure).values()) == [[12.5, 0.0, 210.0]]
        assert png_size(tmp_path / f"memory{i}.png") == (800, 450)
    log = _charts.bar_chart(rows, "mib", "chunk", tmp_path / "memory-log.png")  # 0 has no place on a log scale
    assert math.isnan(list(bar_heights(log).values())[0][1])


def test_line_chart_with_a_second_axis(tmp_path: Path) -> None:
    chunks = [4096, 65536, 1 << 20, 1 << 24]
    out = tmp_path / "profile.png"
    figure = _charts.line_chart(chunks, {"events/s": [1e8, 6e8, 9e8, None]}, out, xlabel="chunk (events)",
                                ylabel="events/s", logx=True, right={"peak RSS (MiB)": [40, 45, 90, 400]},
                                right_label="MiB", title="Chunk size")
    assert png_size(out) == (800, 450)
    left, right = figure.axes
    assert left.get_xscale() == "log" and left.get_xlabel() == "chunk (events)" and right.get_ylabel() == "MiB"
    (throughput,) = left.get_lines()
    np.testing.assert_array_equal(throughput.get_xdata(), chunks)
    np.testing.assert_array_equal(throughput.get_ydata(), [1e8, 6e8, 9e8, np.nan])
    (memory,) = right.get_lines()
    np.testing.assert_array_equal(memory.get_ydata(), [40, 45, 90, 400])
    assert throughput.get_color() != memory.get_color()
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["events/s", "peak RSS (MiB)"]


def test_charts_refuse_bad_input_and_leave_no_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no column 'speed'"):
        _charts.bar_chart(THROUGHPUT, "speed", "format", tmp_path / "a.png")
    with pytest.raises(ValueError, match="3 values for 4 x values"):
        _charts.line_chart([1, 2, 3, 4], {"s": [1, 2, 3]}, tmp_path / "b.png")
    with pytest.raises(ValueError, match="cannot write a xyz image"):
        _charts.bar_chart(THROUGHPUT, "events_per_s", "format", tmp_path / "c.xyz")
    with pytest.raises(FileNotFoundError):
        _charts.bar_chart(THROUGHPUT, "events_per_s", "format", tmp_path / "missing" / "d.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_svg_and_pdf_are_written_too(tmp_path: Path) -> None:
    for name in ("chart.svg", "chart.pdf"):
        _charts.line_chart([1, 2], {"a": [1, 2]}, tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "chart.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "chart.pdf").read_bytes().startswith(b"%PDF")
