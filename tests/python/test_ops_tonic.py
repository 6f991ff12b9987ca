"""evlib.ops against tonic 1.7.0 itself, on seeded random streams (docs/processing.md gives the
rules reproduced): integer outputs and keep decisions identical, float outputs identical except
the time surfaces, which may differ by 1 ULP where the exp implementations do."""

from __future__ import annotations

import numpy as np
import pytest

from evlib import ops
from ops_streams import random_case, reference

SEEDS = range(12)


@pytest.fixture(scope="module")
def tonic_functional():  # type: ignore[no-untyped-def]
    return reference("tonic.functional", "tonic==1.7.0")


@pytest.mark.parametrize("seed", SEEDS)
def test_refractory_keeps_what_tonic_keeps(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    for period in (0, 1 + seed * 97):
        expected = tonic_functional.refractory_period_numpy(events.copy(), period)
        got = ops.Refractory((width, height), period, convention="tonic").filter(events)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_background_activity_tonic_convention_is_tonic_denoise(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    filter_time = 1 + seed * 211
    expected = tonic_functional.denoise_numpy(events.copy(), filter_time)
    got = ops.BackgroundActivity((width, height), filter_time, convention="tonic").filter(events)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_hot_pixels_by_rate_drops_the_pixels_tonic_identifies(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    from tonic.functional.drop_pixel import identify_hot_pixel

    events, width, height = random_case(seed)
    rate = 1.0 + seed * 400.0
    expected = np.zeros((height, width), np.uint8)
    for x, y in identify_hot_pixel(events, rate):
        expected[y, x] = 1
    hot = ops.HotPixels.by_rate((width, height), events, rate)
    np.testing.assert_array_equal(hot.mask, expected)
    kept = hot.filter(events)
    np.testing.assert_array_equal(kept, events[expected[events["y"], events["x"]] == 0])


def frame_cases(events: np.ndarray, seed: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed + 1000)
    n = len(events)
    span = int(events["t"][-1] - events["t"][0])
    window = int(rng.integers(1, max(2, span // 3 + 2)))
    count = int(rng.integers(1, n + 5))
    return [
        {"time_window": window},
        {"time_window": window, "overlap": int(rng.integers(0, window)), "include_incomplete": True},
        {"event_count": count, "overlap": int(rng.integers(0, count)), "include_incomplete": bool(seed % 2)},
        {"n_time_bins": int(rng.integers(1, 12)), "overlap": float(rng.choice([0.0, 0.25, 0.5]))},
        {"n_event_bins": int(rng.integers(1, 12)), "overlap": float(rng.choice([0.0, 0.25, 0.5]))},
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_event_frame_matches_tonic_to_frame_for_every_slicing(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    for case in frame_cases(events, seed):
        expected = tonic_functional.to_frame_numpy(events.copy(), (width, height, 2), **case)
        got = ops.event_frame(events, (width, height), dtype=np.int16, overflow="wrap", **case)  # type: ignore[arg-type]
        assert got.dtype == expected.dtype, case
        np.testing.assert_array_equal(got, expected, err_msg=str(case))


def test_event_frame_wraps_int16_counts_as_tonic_does(tonic_functional) -> None:  # type: ignore[no-untyped-def]
    events = np.zeros(40_000, np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")]))
    events["t"] = np.arange(40_000)
    expected = tonic_functional.to_frame_numpy(events.copy(), (1, 1, 2), n_event_bins=1)
    got = ops.event_frame(events, (1, 1), n_event_bins=1, dtype=np.int16, overflow="wrap")
    np.testing.assert_array_equal(got, expected)
    assert got[0, 0, 0, 0] == -25536
    assert ops.event_frame(events, (1, 1), n_event_bins=1, dtype=np.int16)[0, 0, 0, 0] == 32767


@pytest.mark.parametrize("seed", SEEDS)
def test_tonic_voxel_grid_matches_tonic_for_integer_and_boolean_polarities(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    if events["t"][-1] == events["t"][0]:
        pytest.skip("tonic divides by a zero duration")
    bins = 1 + seed % 9
    expected = tonic_functional.to_voxel_grid_numpy(events.copy(), (width, height, 2), bins)
    got = ops.voxel_grid(events, (width, height), bins, convention="tonic")
    assert got.dtype == np.float64
    assert expected.shape == (bins, 1, height, width)  # tonic's extra channel axis
    np.testing.assert_array_equal(got, expected[:, 0])

    boolean = np.zeros(len(events), [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    for name in ("x", "y", "t"):
        boolean[name] = events[name]
    boolean["p"] = events["p"] != 0
    expected = tonic_functional.to_voxel_grid_numpy(boolean.copy(), (width, height, 2), bins)
    got = ops.voxel_grid(boolean, (width, height), bins, convention="tonic", polarity="all_on")
    np.testing.assert_array_equal(got, expected[:, 0])


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.reshape(-1).view(np.int64) - b.reshape(-1).view(np.int64)).max(initial=0))


@pytest.mark.parametrize("seed", SEEDS)
def test_time_surface_matches_tonic_within_one_ulp(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    rng = np.random.default_rng(seed + 2000)
    span = int(events["t"][-1] - events["t"][0])
    dt = int(rng.integers(1, max(2, span // 2 + 2)))
    tau = float(rng.uniform(10, 5000))
    expected = tonic_functional.to_timesurface_numpy(events.copy(), (width, height, 2), dt, tau)
    got = ops.time_surface(events, (width, height), dt, tau)
    assert got.shape == expected.shape
    assert ulps(got, expected) <= 1


@pytest.mark.parametrize("seed", SEEDS)
def test_slice_events_gives_tonic_slicers_windows(tonic_functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    from tonic.slicers import slice_events_by_count, slice_events_by_time

    events, _, _ = random_case(seed)
    for case in frame_cases(events, seed)[:3]:
        if "time_window" in case:
            expected = slice_events_by_time(events, case["time_window"], overlap=case.get("overlap", 0),
                                            include_incomplete=case.get("include_incomplete", False))
        else:
            expected = slice_events_by_count(events, case["event_count"], overlap=case["overlap"],
                                             include_incomplete=case["include_incomplete"])
        windows = ops.slice_events(events, **case)  # type: ignore[arg-type]
        assert len(windows) == len(expected), case
        for (begin, end), piece in zip(windows, expected):
            np.testing.assert_array_equal(events[begin:end], piece)
