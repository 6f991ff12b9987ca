"""evlib.ops against re-implementations, written here, of the references that have no Python
package: RVT's stacked histogram (torch arithmetic: float32 time binning, uint8 or int16
accumulation, count cut-off, x2 nearest-exact downsampling), E2VID's voxel grid (float64
positions, float32 grid, left weights then right weights in event order) and jAER's
SpatioTemporalCorrelationFilter (Java: its per-event loop, transcribed as plain Python)."""

from __future__ import annotations

import numpy as np
import pytest

from evlib import ops
from ops_streams import random_case, random_stream

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


def jaer_stcf(events: np.ndarray, width: int, height: int, dt: int, k: int, include_self: bool,
              let_first_through: bool, jaer_border: bool = True, polarities_must_match: bool = False,
              shot_noise_time_us: int | None = None) -> np.ndarray:
    """jAER's SpatioTemporalCorrelationFilter.filterPacket, one event at a time: out-of-sensor
    events out; a pixel's first event in or out by let_first_through (its time and polarity
    stored); else in when at least k pixels of the neighbourhood (its own unless
    filterHotPixels, here not include_self) hold a time with ts - last < dt and, with
    polaritiesMustMatch, the event's polarity signum; time and polarity stored after the test, in
    or out. jAER's neighbourhood runs from max(x - 1, 0) to x >= sx - 1 ? sx - 1 : x + 1 with
    sx = width - 1 (its NnbRange), so it never reaches its last column or row; its y counts from
    the bottom (evlib's y = height - 1 - jAER's, as evlib reads jAER's files), so the loop runs in
    jAER's coordinates. jaer_border=False clips the neighbourhood to the sensor instead.
    shot_noise_time_us: filterAlternativePolarityShotNoiseEnabled, in its current form: an event that
    passed is dropped when its polarity signum differs from its pixel's last and ts - last is not
    above (int)(shotNoiseCorrelationTimeS * 1e6f), the whole µs given here. Python integers: no
    int32 wrap."""
    last: dict[tuple[int, int], tuple[int, int]] = {}  # pixel: (time, polarity signum)
    keep = np.zeros(len(events), bool)
    x_end, y_end = (width - 2, height - 2) if jaer_border else (width - 1, height - 1)
    columns = (events[c].tolist() for c in ("t", "x", "y", "p"))
    for i, (t, x, evlib_y, p) in enumerate(zip(*columns)):
        if not (0 <= x < width and 0 <= evlib_y < height):
            continue
        y = height - 1 - evlib_y if jaer_border else evlib_y
        signum = 1 if p > 0 else -1
        if (x, y) not in last:
            last[(x, y)] = (t, signum)
            keep[i] = let_first_through
            continue
        correlated = 0
        for xx in range(max(x - 1, 0), min(x + 1, x_end) + 1):
            for yy in range(max(y - 1, 0), min(y + 1, y_end) + 1):
                if (xx, yy) == (x, y) and not include_self:
                    continue
                if (xx, yy) in last and t - last[(xx, yy)][0] < dt:
                    if not polarities_must_match or last[(xx, yy)][1] == signum:
                        correlated += 1
        keep[i] = correlated >= k
        if keep[i] and shot_noise_time_us is not None and signum != last[(x, y)][1]:
            keep[i] = t - last[(x, y)][0] > shot_noise_time_us
        last[(x, y)] = (t, signum)
    return keep


STCF_SETTINGS = ((300, 1, False, True), (2_000, 2, False, False), (50, 3, True, True), (10_000, 8, True, False),
                 (1, 1, False, True))


@pytest.mark.parametrize("seed", SEEDS)
def test_stcf_with_jaer_border_is_jaer_filter(seed: int) -> None:
    events, width, height = random_case(seed)
    rng = np.random.default_rng(seed)
    if seed % 4 == 3:  # times out of order, which jAER takes as they come (a negative age correlates)
        events["t"] = rng.permutation(events["t"])
    for dt, k, include_self, let_first_through in STCF_SETTINGS:
        expected = jaer_stcf(events, width, height, dt, k, include_self, let_first_through)
        got = ops.Stcf((width, height), dt, k, include_self=include_self, let_first_through=let_first_through,
                       jaer_border=True).keep_mask(events)
        np.testing.assert_array_equal(got, expected, err_msg=f"dt={dt} k={k} self={include_self}")


@pytest.mark.parametrize("seed", SEEDS)
def test_stcf_with_polarities_must_match_and_jaer_border_is_jaers_current_filter(seed: int) -> None:
    events, width, height = random_case(seed)
    for dt, k, include_self, let_first_through in STCF_SETTINGS:
        for jaer_border in (True, False):
            expected = jaer_stcf(events, width, height, dt, k, include_self, let_first_through, jaer_border, True)
            got = ops.Stcf((width, height), dt, k, include_self=include_self, let_first_through=let_first_through,
                           jaer_border=jaer_border, polarities_must_match=True).keep_mask(events)
            np.testing.assert_array_equal(got, expected, err_msg=f"dt={dt} k={k} self={include_self} {jaer_border}")


@pytest.mark.parametrize("seed", SEEDS)
def test_stcf_shot_noise_test_is_jaers_alternating_polarity_filter(seed: int) -> None:
    events, width, height = random_case(seed)
    rng = np.random.default_rng(seed)
    if seed % 4 == 3:  # times out of order, as jAER takes them
        events["t"] = rng.permutation(events["t"])
    for dt, k, include_self, let_first_through in STCF_SETTINGS:
        shot_us = int(rng.choice([0, 1, 37, 1000, 5000]))
        for jaer_border in (True, False):
            for polarities_must_match in (True, False):
                expected = jaer_stcf(events, width, height, dt, k, include_self, let_first_through, jaer_border,
                                     polarities_must_match, shot_noise_time_us=shot_us)
                options = dict(include_self=include_self, let_first_through=let_first_through,
                               jaer_border=jaer_border, polarities_must_match=polarities_must_match)
                got = ops.Stcf((width, height), dt, k, shot_noise_time=shot_us, **options).keep_mask(events)
                np.testing.assert_array_equal(got, expected, err_msg=f"dt={dt} k={k} shot={shot_us} {options}")
                without = ops.Stcf((width, height), dt, k, **options).keep_mask(events)
                assert not (got & ~without).any(), "the shot-noise test only drops events the correlation kept"


def test_stcf_shot_noise_test_on_times_far_apart_and_out_of_order() -> None:
    # Time steps up to 2^33 µs both ways (the grid moves its base, keeps far times aside, or goes
    # to int64 cells) and shot times of 0 to 2^40 µs, against the jAER transcription.
    rng = np.random.default_rng(11)
    events = random_stream(rng, 3_000, 5, 4, 30)
    jumps = rng.choice([0, 1, 2**20, 2**31, 2**33], len(events)) * rng.choice([-1, 1, 1, 1], len(events))
    events["t"] = 2**40 + np.cumsum(jumps) + events["t"]
    for correlation_us in (1_000, 2**32):
        for shot_us in (0, 1, 2**20, 2**31 + 5, 2**40):
            for polarities_must_match in (True, False):
                expected = jaer_stcf(events, 5, 4, correlation_us, 1, False, True, False, polarities_must_match,
                                     shot_noise_time_us=shot_us)
                stcf = ops.Stcf((5, 4), correlation_us, 1, polarities_must_match=polarities_must_match,
                                shot_noise_time=shot_us)
                got = np.concatenate([stcf.keep_mask(part) for part in np.array_split(events, 7)])
                np.testing.assert_array_equal(got, expected,
                                              err_msg=f"dt={correlation_us} shot={shot_us} {polarities_must_match}")
                assert expected.any() and not expected.all()


def test_jaers_earlier_float_seconds_shot_test_equals_whole_microseconds_up_to_16_s() -> None:
    # jAER's current filter compares ts - last > (int)(shotNoiseCorrelationTimeS * 1e6f), whole µs
    # as evlib does. Its earlier one compared 1e-6f * (ts - last) > shotNoiseCorrelationTimeS in
    # float32: the same rule for every time up to 16 s given as the float of its µs (checked here
    # for all up to 3 s and around 16 s), not past it (docs/processing.md).
    us = np.concatenate([np.arange(0, 3_000_000), np.arange(15_990_000, 16_000_001)]).astype(np.int64)
    seconds = (us * 1e-6).astype(np.float32)
    for offset in (-1, 0, 1):
        earlier_signal = np.float32(1e-6) * (us + offset).astype(np.float32) > seconds
        np.testing.assert_array_equal(earlier_signal, us + offset > us)
    past = np.float32(np.float32(1e-6) * np.float32(16_000_002)) > np.float32(16_000_001 * 1e-6)
    assert not past, "past 16 s the float32 rule drops an event one µs beyond the time"


def test_stcf_shot_noise_time_must_not_be_negative() -> None:
    with pytest.raises((ValueError, OverflowError), match="shot_noise_time"):
        ops.Stcf((4, 4), 100, 1, shot_noise_time=-1)


@pytest.mark.parametrize("seed", SEEDS)
def test_stcf_default_is_jaer_loop_on_the_neighbourhood_clipped_to_the_sensor(seed: int) -> None:
    events, width, height = random_case(seed)
    for dt, k, include_self, let_first_through in STCF_SETTINGS:
        expected = jaer_stcf(events, width, height, dt, k, include_self, let_first_through, jaer_border=False)
        got = ops.Stcf((width, height), dt, k, include_self=include_self,
                       let_first_through=let_first_through).keep_mask(events)
        np.testing.assert_array_equal(got, expected, err_msg=f"dt={dt} k={k} self={include_self}")


def test_jaer_border_differs_only_next_to_the_last_column_and_the_first_row() -> None:
    events = random_stream(np.random.default_rng(3), 20_000, 16, 12, 30)
    ours = ops.Stcf((16, 12), 1_000, 2).keep_mask(events)
    jaer = ops.Stcf((16, 12), 1_000, 2, jaer_border=True).keep_mask(events)
    near_edge = (events["x"] >= 14) | (events["y"] <= 1)
    assert (ours != jaer).any()
    assert not (ours != jaer)[~near_edge].any()
    # In the top-right corner of a 4 x 3 sensor (jAER's last column and row: its y counts from the
    # bottom), the second event of (3, 0) has (3, 1) as a recent neighbour; jAER's loop looks at
    # (2, 1) alone there.
    corner = np.zeros(3, events.dtype)
    corner["t"], corner["x"], corner["y"] = [0, 5, 10], [3, 3, 3], [0, 1, 0]
    assert ops.Stcf((4, 3), 100, 1).keep_mask(corner).tolist() == [True, True, True]
    assert ops.Stcf((4, 3), 100, 1, jaer_border=True).keep_mask(corner).tolist() == [True, True, False]


def test_stcf_is_jaer_filter_on_sensors_one_to_three_pixels_wide_and_high() -> None:
    for width in (1, 2, 3):
        for height in (1, 2, 3):
            events = random_stream(np.random.default_rng(10 * width + height), 400, width, height, 20)
            for jaer_border in (False, True):
                for include_self in (False, True):
                    expected = jaer_stcf(events, width, height, 100, 1, include_self, True, jaer_border, True)
                    got = ops.Stcf((width, height), 100, 1, include_self=include_self, jaer_border=jaer_border,
                                   polarities_must_match=True).keep_mask(events)
                    np.testing.assert_array_equal(got, expected, err_msg=f"{width}x{height} {jaer_border} {include_self}")


def test_stcf_is_jaer_filter_with_events_outside_the_sensor() -> None:
    rng = np.random.default_rng(7)
    events = random_stream(rng, 3000, 12, 9, 40)
    events["x"][::17] = 12  # one past the last column
    events["y"][::23] = -1
    for jaer_border in (False, True):
        expected = jaer_stcf(events, 12, 9, 500, 2, False, True, jaer_border)
        np.testing.assert_array_equal(ops.Stcf((12, 9), 500, 2, jaer_border=jaer_border).keep_mask(events), expected)
        assert not expected[::17].any() and expected.any() and not expected.all()
