"""evlib.plot: the rate and per-pixel count data against a direct NumPy computation on the
loaded events (bins, windows, edge rules), every kind of source, and the plotted artists."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import evlib

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

import evlib.plot  # noqa: E402
from conftest import DEMO, skip_or_fail  # noqa: E402

FULL = evlib.scan_events(DEMO).collect()


@pytest.fixture(autouse=True)
def close_figures() -> Any:
    yield
    plt.close("all")


def reference_rate(t: np.ndarray, p: np.ndarray, width: int, t0: int | None = None,
                   t1: int | None = None) -> pl.DataFrame:
    """Bin by bin, the events in [begin, end) counted by comparison (no floor division)."""
    keep = np.ones(len(t), bool)
    if t0 is not None:
        keep &= t >= t0
    if t1 is not None:
        keep &= t < t1
    t, p = t[keep], p[keep]
    rows = []
    if len(t) or (t0 is not None and t1 is not None):
        origin = t0 if t0 is not None else int(t[0])
        begin = origin if t0 is not None else origin + width * math.floor((int(t.min()) - origin) / width)
        last = t1 if t1 is not None else int(t.max()) + 1
        while begin < last:
            end = begin + width if t1 is None else min(begin + width, t1)
            inside = (t >= begin) & (t < end)
            on, off = int(np.sum(inside & (p != 0))), int(np.sum(inside & (p == 0)))
            rows.append((begin, end, end - begin, on, off, on + off))
            begin += width
    frame = pl.DataFrame(rows, schema=["t_start_us", "t_end_us", "duration_us", "on", "off", "events"], orient="row")
    per_s = {f"{name}_per_s": frame[column] * 1e6 / frame["duration_us"]
             for name, column in (("on", "on"), ("off", "off"), ("events", "events"))}
    return frame.with_columns(**per_s).cast(
        {c: pl.Int64 for c in ("t_start_us", "t_end_us", "duration_us", "on", "off", "events")})


def assert_same_rate(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert got.columns == expected.columns
    counts = ["t_start_us", "t_end_us", "duration_us", "on", "off", "events"]
    assert got.select(counts).equals(expected.select(counts))
    for column in ("on_per_s", "off_per_s", "events_per_s"):
        np.testing.assert_allclose(got[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12)


def demo_columns() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return tuple(FULL[c].to_numpy() for c in ("t", "x", "y", "p"))  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# rate_data


@pytest.mark.parametrize("width", [7, 1000, 7777, 10_000, 250_000])  # 7 µs: thousands of bins per batch
def test_rate_matches_numpy_on_the_demo_recording(width: int) -> None:
    t, _, _, p = demo_columns()
    got = evlib.plot.rate_data(evlib.open(DEMO, chunk_events=4096), width)  # many batches
    assert_same_rate(got, reference_rate(t, p, width))
    assert got["events"].sum() == len(t)


@pytest.mark.parametrize(("t_start", "t_end"), [("5.002s", "5.0105s"), (None, "5.0105s"), ("5.002s", None),
                                                  (0, 5_020_000)])
def test_rate_window_is_pushed_down_and_bounds_the_bins(t_start: Any, t_end: Any) -> None:
    t, _, _, p = demo_columns()
    got = evlib.plot.rate_data(DEMO, "1ms", t_start=t_start, t_end=t_end)
    t0 = None if t_start is None else evlib._times.to_microseconds(t_start)
    t1 = None if t_end is None else evlib._times.to_microseconds(t_end)
    assert_same_rate(got, reference_rate(t, p, 1000, t0, t1))
    if t1 is not None:
        assert got["t_end_us"][-1] == t1
    if t0 is not None:
        assert got["t_start_us"][0] == t0


def test_rate_bins_are_half_open_and_the_last_one_is_cut_at_t_end() -> None:
    events = pl.DataFrame({"t": [100, 109, 110, 119, 120, 135], "x": [0] * 6, "y": [0] * 6, "p": [1, 0, 1, 1, 0, 1]},
                          schema=evlib._source.NATIVE_SCHEMA)
    got = evlib.plot.rate_data(events, 10)
    assert got["t_start_us"].to_list() == [100, 110, 120, 130]
    assert got["on"].to_list() == [1, 2, 0, 1]
    assert got["off"].to_list() == [1, 0, 1, 0]
    assert got["events_per_s"].to_list() == [200_000.0, 200_000.0, 100_000.0, 100_000.0]
    cut = evlib.plot.rate_data(events, 10, t_end=125)
    assert cut["t_end_us"].to_list() == [110, 120, 125]
    assert cut["duration_us"].to_list() == [10, 10, 5]
    assert cut["events_per_s"].to_list() == [200_000.0, 200_000.0, 200_000.0]  # 1 event in 5 µs


def test_rate_with_a_window_beyond_the_events_has_empty_bins() -> None:
    events = pl.DataFrame({"t": [15], "x": [0], "y": [0], "p": [1]}, schema=evlib._source.NATIVE_SCHEMA)
    got = evlib.plot.rate_data(events, 10, t_start=0, t_end=40)
    assert got["t_start_us"].to_list() == [0, 10, 20, 30]
    assert got["events"].to_list() == [0, 1, 0, 0]


def test_rate_of_one_event_is_one_bin() -> None:
    events = pl.DataFrame({"t": [5_000_123], "x": [1], "y": [2], "p": [0]}, schema=evlib._source.NATIVE_SCHEMA)
    got = evlib.plot.rate_data(events, "10ms")
    assert got.rows() == [(5_000_123, 5_010_123, 10_000, 0, 1, 1, 0.0, 100.0, 100.0)]


def test_rate_of_no_events(tmp_path: Path) -> None:
    empty = tmp_path / "empty.raw"
    evlib.save({"t": np.zeros(0, np.int64), "x": np.zeros(0, np.uint16), "y": np.zeros(0, np.uint16),
                "p": np.zeros(0, np.uint8)}, empty, width=640, height=480)
    assert evlib.plot.rate_data(empty).height == 0
    assert evlib.plot.rate_data(DEMO, t_start="100s", t_end="100s").height == 0
    assert evlib.plot.rate_data(DEMO, t_start="100s").height == 1  # the bin at t_start, empty
    window = evlib.plot.rate_data(empty, "10ms", t_start="1s", t_end="1.025s")
    assert window["events"].to_list() == [0, 0, 0] and window["duration_us"].to_list() == [10_000, 10_000, 5_000]


def test_rate_bins_events_before_the_first_one_when_time_is_not_sorted() -> None:
    events = pl.DataFrame({"t": [50, 10, 70], "x": [0] * 3, "y": [0] * 3, "p": [1, 0, 1]},
                          schema=evlib._source.NATIVE_SCHEMA)
    got = evlib.plot.rate_data(events, 20)
    assert got["t_start_us"].to_list() == [10, 30, 50, 70]
    assert got["off"].to_list() == [1, 0, 0, 0] and got["on"].to_list() == [0, 0, 1, 1]


def test_rate_of_sorted_and_shuffled_events_agree_with_many_bins_per_batch() -> None:
    head = FULL.head(5000)  # one batch of about 2000 one-µs bins: the segment-sum path
    t, p = head["t"].to_numpy(), head["p"].to_numpy()
    expected = reference_rate(t, p, 1)
    assert expected.height > 1000
    assert_same_rate(evlib.plot.rate_data(head, 1), expected)
    shuffled = head.sample(fraction=1.0, shuffle=True, seed=3)  # the per-event binning path
    assert evlib.plot.rate_data(shuffled, 1, t_start=int(t[0])).equals(evlib.plot.rate_data(head, 1))


def test_rate_is_the_same_from_every_kind_of_source() -> None:
    expected = evlib.plot.rate_data(DEMO, "2ms", t_start="5.001s")
    sources = [str(DEMO), DEMO, evlib.open(DEMO), FULL, evlib.scan_events(DEMO), FULL.lazy(),
               evlib.load_events(str(DEMO)), evlib.load_events(str(DEMO)).collect()]
    for source in sources:
        assert evlib.plot.rate_data(source, "2ms", t_start="5.001s").equals(expected), type(source)


def test_rate_refuses_bad_bins() -> None:
    with pytest.raises(ValueError, match="bin must be positive"):
        evlib.plot.rate_data(DEMO, 0)
    with pytest.raises(ValueError, match="cannot read"):
        evlib.plot.rate_data(DEMO, "ten ms")
    with pytest.raises(ValueError, match="choose a larger bin"):
        evlib.plot.rate_data(pl.DataFrame({"t": [0, 10**12], "p": [0, 1]}), 1)


# ---------------------------------------------------------------------------------------------
# xy_data


def reference_counts(x: np.ndarray, y: np.ndarray, width: int, height: int) -> np.ndarray:
    counts = np.zeros((height, width), np.uint64)
    inside = (x < width) & (y < height)
    np.add.at(counts, (y[inside], x[inside]), 1)
    return counts


def test_xy_counts_match_numpy_with_the_header_geometry() -> None:
    t, x, y, p = demo_columns()
    f = evlib.open(DEMO, chunk_events=4096)
    counts = evlib.plot.xy_data(f)
    assert counts.shape == (f.height, f.width) and counts.dtype == np.uint64
    np.testing.assert_array_equal(counts, reference_counts(x, y, f.width, f.height))


def test_xy_window_polarity_and_smaller_sensor() -> None:
    t, x, y, p = demo_columns()
    keep = (t >= 5_003_000) & (t < 5_011_000) & (p == 1)
    counts = evlib.plot.xy_data(DEMO, t_start="5.003s", t_end="5.011s", polarity=1, width=300, height=200)
    np.testing.assert_array_equal(counts, reference_counts(x[keep], y[keep], 300, 200))
    off = evlib.plot.xy_data(FULL.lazy(), polarity=0, width=1280, height=720)
    np.testing.assert_array_equal(off, reference_counts(x[p == 0], y[p == 0], 1280, 720))


def test_xy_infers_the_geometry_of_frames_and_of_files_without_one(tmp_path: Path) -> None:
    _, x, y, _ = demo_columns()
    extent = (int(x.max()) + 1, int(y.max()) + 1)
    assert evlib.plot.xy_data(FULL).shape == (extent[1], extent[0])
    no_geometry = tmp_path / "events.npy"
    evlib.save(FULL, no_geometry)
    assert evlib.open(no_geometry).width is None
    np.testing.assert_array_equal(evlib.plot.xy_data(no_geometry), reference_counts(x, y, *extent))
    with pytest.raises(ValueError, match="give width= and height="):
        evlib.plot.xy_data(FULL.head(0))
    with pytest.raises(ValueError, match="polarity"):
        evlib.plot.xy_data(DEMO, polarity=2)


# ---------------------------------------------------------------------------------------------
# The plots: what is drawn is the data


def test_rate_plot_draws_the_rates_with_labels_and_legend() -> None:
    ax = evlib.plot.rate(DEMO, "5ms")
    data = evlib.plot.rate_data(DEMO, "5ms")
    assert ax.evlib_data.equals(data)
    stairs = {line.get_label(): line for line in ax.get_lines()}
    assert set(stairs) == {"ON", "OFF", "all events"}
    for label, column in (("ON", "on_per_s"), ("OFF", "off_per_s"), ("all events", "events_per_s")):
        x, y = stairs[label].get_data()  # steps: up from 0 at the first edge, down to 0 at the last
        assert y[0] == y[-1] == 0
        np.testing.assert_array_equal(y[1:-1:2], data[column].to_numpy())
        np.testing.assert_array_equal(y[2:-1:2], data[column].to_numpy())
        np.testing.assert_allclose(x[0:-2:2], data["t_start_us"].to_numpy() / 1e6)
        np.testing.assert_array_equal(x[0::2], x[1::2])
        assert x[-1] == data["t_end_us"][-1] / 1e6
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "events/s"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["all events", "ON", "OFF"]
    assert "demo_evt3.raw" in ax.get_title() and "50,000 events" in ax.get_title()


def test_rate_plot_of_no_events_says_so() -> None:
    ax = evlib.plot.rate(FULL.head(0))
    assert [t.get_text() for t in ax.texts] == ["no events"]


def test_xy_plot_shows_the_counts_with_a_colour_bar() -> None:
    fig, ax = plt.subplots()
    assert evlib.plot.xy(DEMO, ax=ax) is ax
    counts = evlib.plot.xy_data(DEMO)
    (image,) = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), counts)
    assert isinstance(image.norm, LogNorm) and image.norm.vmax == counts.max()
    colour_bar = image.colorbar
    assert colour_bar is not None and colour_bar.ax.get_ylabel() == "events per pixel (log scale)"
    assert ax.get_xlabel() == "x (pixel)" and ax.get_ylabel() == "y (pixel)"
    linear = evlib.plot.xy(DEMO, log=False, polarity=0)
    assert not isinstance(linear.get_images()[0].norm, LogNorm) and "OFF events" in linear.get_title()


# ---------------------------------------------------------------------------------------------
# Real recordings (EVLIB_RECORDINGS)


@pytest.mark.parametrize("name", ["evt2/evt2_sample.raw", "aedat4/tonic_sample.aedat4", "dat/NCARS_obj_004397_td.dat"])
def test_real_recordings_match_numpy(recordings: Path, name: str) -> None:
    path = recordings / name
    if not path.is_file():
        skip_or_fail(f"missing real recording {name} (set EVLIB_RECORDINGS)")
    f = evlib.open(path, chunk_events=65_536)
    events = evlib.scan_events(path).collect()
    t, x, y, p = (events[c].to_numpy() for c in ("t", "x", "y", "p"))
    assert_same_rate(evlib.plot.rate_data(f, "20ms"), reference_rate(t, p, 20_000))
    sensor = (f.width or int(x.max()) + 1, f.height or int(y.max()) + 1)  # NCARS states no geometry
    np.testing.assert_array_equal(evlib.plot.xy_data(f), reference_counts(x, y, *sensor))


def test_evlib_plot_is_imported_on_first_use_and_imports_matplotlib_only_to_draw() -> None:
    code = ("import sys, evlib; assert 'evlib.plot' not in sys.modules; "
            "frame = evlib.plot.rate_data('data/demo_evt3.raw'); assert 'matplotlib' not in sys.modules, 'matplotlib'; "
            "print(frame['events'].sum())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=DEMO.parents[1])
    assert done.returncode == 0 and done.stdout.strip() == "50000", done.stderr


def test_xy_plot_of_no_events_is_a_blank_sensor(tmp_path: Path) -> None:
    empty = tmp_path / "empty.raw"
    evlib.save({"t": np.zeros(0, np.int64), "x": np.zeros(0, np.uint16), "y": np.zeros(0, np.uint16),
                "p": np.zeros(0, np.uint8)}, empty, width=64, height=48)
    ax = evlib.plot.xy(empty)
    (image,) = ax.get_images()
    assert image.get_array().shape == (48, 64) and not image.get_array().any()
    assert not isinstance(image.norm, LogNorm) and "0 on 64x48" in ax.get_title()
    ax.figure.savefig(tmp_path / "xy.png")


def test_titles_name_the_window_in_exact_seconds() -> None:
    assert "demo_evt3.raw [5.0105 s, end): event rate" in evlib.plot.rate(DEMO, t_start="5.0105s").get_title()
    assert "[start, 5.02 s): ON events per pixel" in evlib.plot.xy(DEMO, t_end=5_020_000, polarity=1).get_title()
