"""evlib.ops against numpy re-implementations, written here, of the formulas of the two
references that have no package: RVT's stacked histogram (torch arithmetic: float32 time
binning, uint8 or int16 accumulation, count cut-off, x2 nearest-exact downsampling) and E2VID's
voxel grid (float64 positions, float32 grid, left weights then right weights in event order)."""

from __future__ import annotations

import numpy as np
import pytest

from evlib import ops
from ops_streams import random_case

SEEDS = range(16)


def rvt_stacked_histogram(events: np.ndarray, width: int, height: int, bins: int, cutoff: int,
                          fastmode: bool) -> np.ndarray:
    counts = np.zeros(2 * bins * height * width, np.uint8 if fastmode else np.int16)
    if len(events):
        t = events["t"].astype(np.int64)
        span = np.float32(max(int(t[-1] - t[0]), 1))
        position = (((t - t[0]).astype(np.float32) / span).astype(np.float32) * np.float32(bins)).astype(np.float32)
        time_bin = np.minimum(np.floor(position), bins - 1).astype(np.int64)
        x, y, p = (events[k].astype(np.int64) for k in ("x", "y", "p"))
        np.add.at(counts, x + width * y + height * width * time_bin + bins * height * width * p, 1)
    return np.clip(counts, 0, cutoff).astype(np.uint8).reshape(2 * bins, height, width)


def e2vid_voxel_grid(events: np.ndarray, width: int, height: int, bins: int) -> np.ndarray:
    grid = np.zeros(bins * height * width, np.float32)
    t = events["t"].astype(np.float64)
    duration = t[-1] - t[0] if t[-1] != t[0] else 1.0
    position = (bins - 1) * (t - t[0]) / duration
    left = position.astype(np.int64)
    fraction = position - left
    polarity = np.where(events["p"] > 0, 1.0, -1.0)
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    inside = left < bins
    np.add.at(grid, (x + y * width + left * width * height)[inside], (polarity * (1.0 - fraction))[inside])
    inside = left + 1 < bins
    np.add.at(grid, (x + y * width + (left + 1) * width * height)[inside], (polarity * fraction)[inside])
    return grid.reshape(bins, height, width)


def e2vid_normalize(grid: np.ndarray) -> np.ndarray:
    nonzero = grid != 0
    count = nonzero.sum()
    mean = grid.sum(dtype=np.float64) / count
    std = np.sqrt((grid.astype(np.float64) ** 2).sum() / count - mean**2)
    return (nonzero * (grid - mean) / std).astype(np.float32)


@pytest.mark.parametrize("seed", SEEDS)
def test_stacked_histogram_is_rvt_formula(seed: int) -> None:
    events, width, height = random_case(seed)
    bins = 1 + seed % 10
    for fastmode in (True, False):
        for cutoff in (10, 255):
            expected = rvt_stacked_histogram(events, width, height, bins, cutoff, fastmode)
            got = ops.stacked_histogram(events, (width, height), bins=bins, count_cutoff=cutoff, fastmode=fastmode)
            np.testing.assert_array_equal(got, expected)
            down = ops.stacked_histogram(events, (width, height), bins=bins, count_cutoff=cutoff, fastmode=fastmode,
                                         downsample_by_2=True)
            np.testing.assert_array_equal(down, expected[:, 1::2, 1::2][:, : height // 2, : width // 2])


def test_stacked_histogram_fastmode_wraps_at_256_before_the_cutoff() -> None:
    events = {"t": np.arange(300, dtype=np.int64), "x": np.zeros(300, np.uint16), "y": np.zeros(300, np.uint16),
              "p": np.ones(300, np.uint8)}
    fast = ops.stacked_histogram(events, (1, 1), bins=1, count_cutoff=255, fastmode=True)
    exact = ops.stacked_histogram(events, (1, 1), bins=1, count_cutoff=255, fastmode=False)
    assert fast[1, 0, 0] == 44
    assert exact[1, 0, 0] == 255


def test_stacked_histogram_bins_times_as_rvt_float32_division_on_long_windows() -> None:
    rng = np.random.default_rng(7)
    events = np.zeros(5000, [("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "u1")])
    events["t"] = np.sort(rng.integers(0, 3_000_000, 5000))
    events["x"], events["y"], events["p"] = rng.integers(0, 8, 5000), rng.integers(0, 6, 5000), rng.integers(0, 2, 5000)
    expected = rvt_stacked_histogram(events, 8, 6, 20, 255, False)
    np.testing.assert_array_equal(ops.stacked_histogram(events, (8, 6), bins=20, fastmode=False), expected)


def test_rvt_time_window_includes_both_ends() -> None:
    t = np.array([0, 100, 200, 200, 300], np.int64)
    assert ops.rvt_time_window(t, 200, 100) == slice(1, 4)
    assert ops.rvt_count_window(t, 200, 2) == slice(2, 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_e2vid_voxel_grid_is_e2vid_formula(seed: int) -> None:
    events, width, height = random_case(seed)
    bins = 1 + seed % 9
    expected = e2vid_voxel_grid(events, width, height, bins)
    got = ops.voxel_grid(events, (width, height), bins)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    if np.count_nonzero(expected) and np.ptp(expected[expected != 0]) > 0:
        normalized = ops.voxel_grid(events, (width, height), bins, normalize=True)
        np.testing.assert_allclose(normalized, e2vid_normalize(expected), rtol=1e-5, atol=1e-5)
