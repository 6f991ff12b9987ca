"""evlib.ops augmentations: the deterministic cores against tonic 1.7.0 given the same
parameters (tonic's draws taken from a seeded np.random and injected), the random parts by
their distributions, reproducibility from the seed, and the same result whatever the batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from evlib import ops
from ops_streams import TONIC_DTYPE, random_case, random_stream, reference

SEEDS = range(10)


@pytest.fixture(scope="module")
def tonic():  # type: ignore[no-untyped-def]
    return reference("tonic", "tonic==1.7.0")


def tonic_events(seed: int) -> tuple[np.ndarray, int, int]:
    events, width, height = random_case(seed)
    events["p"] = events["p"].astype(bool)  # tonic's own polarities are booleans
    return events, width, height


def with_draws(seed: int, draws: Callable[[], Any], transform: Callable[[], Any]) -> tuple[Any, Any]:
    """tonic's random parameters from np.random seeded with `seed`, and tonic's result of the same
    seed: the parameters its transform drew."""
    np.random.seed(seed)
    parameters = draws()
    np.random.seed(seed)
    return parameters, transform()


@pytest.mark.parametrize("seed", SEEDS)
def test_crop_is_tonics_random_crop_at_its_origin(tonic, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = tonic_events(seed)
    target = (max(1, width // 2), max(1, height - 1))
    (x0, y0), expected = with_draws(
        seed, lambda: (int(np.random.rand() * (width - target[0])), int(np.random.rand() * (height - target[1]))),
        lambda: tonic.transforms.RandomCrop((width, height, 2), target)(events.copy()))
    np.testing.assert_array_equal(ops.crop(events, x0, y0, *target), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_drop_box_is_tonics_drop_by_area_at_its_box(tonic, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = tonic_events(seed)
    ratio = 0.1 + 0.08 * seed
    box_w, box_h = int(width * ratio), int(height * ratio)
    (x0, y0), expected = with_draws(
        seed, lambda: (np.random.randint(0, width - box_w), np.random.randint(0, height - box_h)),
        lambda: tonic.transforms.DropEventByArea((width, height, 2), ratio)(events.copy()))
    np.testing.assert_array_equal(ops.drop_box(events, x0, y0, box_w, box_h), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_drop_time_window_is_tonics_drop_by_time_at_its_window(tonic, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, _, _ = tonic_events(seed)
    ratio = 0.05 + 0.09 * seed
    t_end = events["t"].max()
    duration = t_end * ratio
    start, expected = with_draws(seed, lambda: np.random.uniform(0.0, t_end - duration),
                                 lambda: tonic.transforms.DropEventByTime(ratio)(events.copy()))
    np.testing.assert_array_equal(ops.drop_time_window(events, start, duration), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_certain_flips_and_reversal_and_skew_are_tonics(tonic, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = tonic_events(seed)
    transforms = tonic.transforms
    np.testing.assert_array_equal(ops.flip_lr(events, (width, height), p=1, seed=seed),
                                  transforms.RandomFlipLR((width, height, 2), p=1)(events.copy()))
    np.testing.assert_array_equal(ops.flip_ud(events, (width, height), p=1, seed=seed),
                                  transforms.RandomFlipUD((width, height, 2), p=1)(events.copy()))
    np.testing.assert_array_equal(ops.flip_polarity(events, p=1, seed=seed),
                                  transforms.RandomFlipPolarity(p=1)(events.copy()))
    for flip in (True, False):
        np.testing.assert_array_equal(ops.time_reversal(events, p=1, flip_polarities=flip, seed=seed),
                                      transforms.RandomTimeReversal(p=1, flip_polarities=flip)(events.copy()))
    coefficient, offset = 0.37 + seed, 1000 * seed - 3
    np.testing.assert_array_equal(ops.time_skew(events, coefficient, offset),
                                  tonic.functional.time_skew_numpy(events.copy(), coefficient, offset))
    np.testing.assert_array_equal(ops.time_jitter(events, std=0, seed=seed),
                                  tonic.functional.time_jitter_numpy(events.copy(), 0))


def test_probabilities_zero_change_nothing() -> None:
    events, width, height = tonic_events(3)
    for result in (ops.flip_lr(events, (width, height), p=0, seed=1), ops.flip_polarity(events, p=0, seed=1),
                   ops.time_reversal(events, p=0, seed=1), ops.drop_event(events, 0, seed=1)):
        np.testing.assert_array_equal(result, events)
    assert len(ops.drop_event(events, 1, seed=1)) == 0


def test_decisions_follow_their_probability() -> None:
    events, width, height = tonic_events(4)
    flips = [not np.array_equal(ops.flip_lr(events, (width, height), p=0.3, seed=s), events) for s in range(2000)]
    assert abs(np.mean(flips) - 0.3) < 0.04
    reversals = [not np.array_equal(ops.time_reversal(events, p=0.7, seed=s), events) for s in range(2000)]
    assert abs(np.mean(reversals) - 0.7) < 0.04


def test_drop_event_drops_each_event_with_probability_p() -> None:
    events = random_stream(np.random.default_rng(0), 200_000, 64, 48, 3)
    kept = ops.drop_event(events, 0.25, seed=7)
    assert abs(len(kept) / len(events) - 0.75) < 0.005
    assert np.all(np.diff(kept["t"]) >= 0)  # order preserved
    rates = [1 - len(ops.drop_event(events[:20000], (0.1, 0.5), seed=s)) / 20000 for s in range(200)]
    assert 0.1 <= min(rates) and max(rates) < 0.5 + 0.02 and abs(np.mean(rates) - 0.3) < 0.03


def test_spatial_jitter_has_the_covariance_and_tonics_truncation(tonic) -> None:  # type: ignore[no-untyped-def]
    n = 200_000
    events = np.zeros(n, TONIC_DTYPE)
    events["x"], events["y"] = 50, 60
    wide = ops.spatial_jitter(events, (100, 120), var_x=100, var_y=50, sigma_xy=30, seed=3)
    covariance = np.cov(wide["x"].astype(float), wide["y"].astype(float))
    np.testing.assert_allclose(covariance, [[100, 30], [30, 50]], rtol=0.05)
    # Unit variance: truncation toward zero puts as many events at -1 as at 0 (tonic's bias).
    ours = ops.spatial_jitter(events, (100, 120), seed=4)["x"].astype(int) - 50
    np.random.seed(4)
    theirs = tonic.functional.spatial_jitter_numpy(events.copy(), (100, 120, 2))["x"].astype(int) - 50
    for delta in (-2, -1, 0, 1):
        assert abs(np.mean(ours == delta) - np.mean(theirs == delta)) < 0.01


def test_spatial_jitter_clips_outliers_and_keeps_them_otherwise() -> None:
    events = {"t": np.arange(1000, dtype=np.int64), "x": np.zeros(1000, np.uint16), "y": np.zeros(1000, np.uint16),
              "p": np.ones(1000, np.uint8)}
    free = ops.spatial_jitter(events, (4, 4), seed=1)
    assert free["x"].dtype == np.int32 and free["x"].min() < 0
    clipped = ops.spatial_jitter(events, (4, 4), clip_outliers=True, seed=1)
    assert clipped["x"].min() >= 0 and clipped["y"].min() >= 0 and 0 < len(clipped["t"]) < 1000
    with pytest.raises(ValueError, match="covariance"):
        ops.spatial_jitter(events, (4, 4), var_x=1, var_y=1, sigma_xy=2)


def test_time_jitter_distribution_clipping_and_sorting() -> None:
    events = random_stream(np.random.default_rng(1), 100_000, 16, 16, 10, t0=10_000)
    jittered = ops.time_jitter(events, std=50, seed=2)
    shifts = jittered["t"] - events["t"]
    assert abs(shifts.mean()) < 1 and abs(shifts.std() - 50) < 1
    early = ops.time_jitter(events[:1000], std=20000, seed=3, sort_timestamps=True)
    assert early["t"].min() >= 0 and np.all(np.diff(early["t"]) >= 0) and len(early) < 1000


def test_uniform_noise_covers_the_sensor_with_both_polarities(tonic) -> None:  # type: ignore[no-untyped-def]
    events, _, _ = tonic_events(5)
    noisy = ops.uniform_noise(events, (30, 20), 20000, seed=9)
    assert len(noisy) == len(events) + 20000 and np.all(np.diff(noisy["t"]) >= 0)
    rows = Counter(map(tuple, np.stack([noisy[k].astype(np.int64) for k in ("t", "x", "y", "p")], 1).tolist()))
    inputs = Counter(map(tuple, np.stack([events[k].astype(np.int64) for k in ("t", "x", "y", "p")], 1).tolist()))
    assert not inputs - rows  # every input event is still there
    added = np.array(list((rows - inputs).elements()))
    assert added[:, 1].min() == 0 and added[:, 1].max() == 29 and added[:, 2].min() == 0 and added[:, 2].max() == 19
    assert events["t"].min() <= added[:, 0].min() and added[:, 0].max() < events["t"].max()
    assert abs(noisy["p"].astype(bool).mean() - 0.5) < 0.02
    # tonic's bug our default fixes: with its own events_struct (boolean p) nearly all of its
    # noise is ON (a float in [0, 2) cast to bool).
    boolean = np.zeros(len(events), [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    for k in ("x", "y", "t", "p"):
        boolean[k] = events[k]
    np.random.seed(9)
    theirs = tonic.functional.uniform_noise_numpy(boolean, (30, 20, 2), 20000)
    assert theirs["p"].astype(bool).mean() > 0.95


def test_drop_by_area_tuple_ratio_is_drawn_in_its_range(tonic) -> None:  # type: ignore[no-untyped-def]
    events = np.zeros(100 * 100, TONIC_DTYPE)
    events["x"], events["y"] = (grid.ravel() for grid in np.meshgrid(np.arange(100), np.arange(100)))
    ours_side = [(1e4 - len(ops.drop_by_area(events, (100, 100), (0.1, 0.3), seed=s))) ** 0.5 / 100
                 for s in range(100)]
    assert 0.1 - 0.011 <= min(ours_side) and max(ours_side) < 0.3
    # tonic 1.7 draws uniform(0.3, 1) instead (its `uniform(r0 and r1)`).
    np.random.seed(0)
    theirs = [(1e4 - len(tonic.functional.drop_by_area_numpy(events.copy(), (100, 100, 2), (0.1, 0.3)))) ** 0.5 / 100
              for _ in range(100)]
    assert min(theirs) >= 0.29


def test_drop_by_time_window_lies_in_the_data() -> None:
    events = random_stream(np.random.default_rng(2), 10000, 8, 8, 5, t0=1_700_000_000_000)
    for seed in range(20):
        kept = ops.drop_by_time(events, 0.3, seed=seed)
        assert 0.6 * len(events) < len(kept) < 0.8 * len(events)
    # tonic's origin at time 0 makes a window of 30 % of the absolute time: it misses the data here.
    for seed in range(5):
        assert len(ops.drop_by_time(events, 0.3, seed=seed, origin="zero")) == len(events)


def test_drop_by_time_measures_from_the_first_event_exactly_at_nanosecond_epoch_times() -> None:
    # 1000 events 1 apart at 1.7e18 (ns since 1970): float64 steps there are 256, so comparing
    # absolute times in float64 dropped 104-257 events for a 10 % window. Offsets from the first
    # event are exact: 100 or 101 (both ends of the window count).
    events = {"t": np.int64(1_700_000_000_000_000_000) + np.arange(1000), "x": np.zeros(1000, np.uint16),
              "y": np.zeros(1000, np.uint16), "p": np.zeros(1000, np.uint8)}
    for seed in range(10):
        assert 100 <= 1000 - len(ops.drop_by_time(events, 0.1, seed=seed)["t"]) <= 101
    top = np.iinfo(np.int64).max
    near_top = {name: column[:4] for name, column in events.items()} | {"t": np.arange(top - 3, top + 1, dtype=np.int64)}
    assert len(ops.drop_by_time(near_top, 0.25, seed=1)["t"]) >= 3
    whole_range = {name: column[:2] for name, column in events.items()} | {"t": np.array([-(2**63), top])}
    assert len(ops.drop_by_time(whole_range, 0.25, seed=1)["t"]) == 2


@pytest.mark.parametrize("augment", [
    lambda e, s, o: ops.drop_event(e, 0.4, seed=s, index_offset=o),
    lambda e, s, o: ops.time_jitter(e, 30, clip_negative=False, seed=s, index_offset=o),
    lambda e, s, o: ops.spatial_jitter(e, (40, 30), 2, 3, 1, seed=s, index_offset=o),
])
def test_per_event_draws_do_not_depend_on_the_batches(augment: Callable[[Any, int, int], Any]) -> None:
    events, _, _ = random_case(7)
    whole = augment(events, 11, 0)
    cuts = [0, 5, 5, 300, len(events) // 2, len(events)]
    pieces = [augment(events[a:b], 11, a) for a, b in zip(cuts, cuts[1:])]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_same_seed_same_result_and_empty_input() -> None:
    events, width, height = random_case(8)
    calls: list[Callable[[Any, int], Any]] = [
        lambda e, s: ops.drop_event(e, 0.5, seed=s), lambda e, s: ops.drop_by_time(e, (0.1, 0.5), seed=s),
        lambda e, s: ops.drop_by_area(e, (width, height), (0.2, 0.6), seed=s),
        lambda e, s: ops.random_crop(e, (width, height), (width // 2 + 1, height // 2 + 1), seed=s),
        lambda e, s: ops.spatial_jitter(e, (width, height), seed=s), lambda e, s: ops.time_jitter(e, 10, seed=s),
        lambda e, s: ops.uniform_noise(e, (width, height), (5, 50), seed=s),
        lambda e, s: ops.time_skew(e, (0.5, 2.0), (0, 100), seed=s),
    ]
    for call in calls:
        np.testing.assert_array_equal(call(events, 42), call(events, 42))
        assert len(call(events[:0], 42)) == 0
    assert not np.array_equal(ops.drop_event(events, 0.5, seed=1), ops.drop_event(events, 0.5, seed=2))


def test_every_input_kind_gives_its_own_kind_back() -> None:
    import polars as pl

    events, width, height = random_case(9)
    as_dict = {k: np.ascontiguousarray(events[k]).astype(dtype)
               for k, dtype in (("t", np.int64), ("x", np.uint16), ("y", np.uint16), ("p", np.uint8))}
    frame = pl.DataFrame(as_dict)
    for augment in (lambda e: ops.flip_ud(e, (width, height), p=1, seed=0), lambda e: ops.drop_event(e, 0.5, seed=0),
                    lambda e: ops.fast_decay(e, (width, height), 1000, 2, 1.5)):
        structured, columns, polars = augment(events), augment(as_dict), augment(frame)
        assert structured.dtype == events.dtype and isinstance(columns, dict) and isinstance(polars, pl.DataFrame)
        for k in ("t", "x", "y", "p"):
            np.testing.assert_array_equal(columns[k], structured[k])
            np.testing.assert_array_equal(polars[k].to_numpy(), structured[k])


def test_flips_drop_events_off_the_sensor_and_ops_lists_the_tier2_names() -> None:
    events = {"t": np.arange(3, dtype=np.int64), "x": np.array([0, 3, 4], np.uint16), "y": np.zeros(3, np.uint16),
              "p": np.ones(3, np.uint8)}
    np.testing.assert_array_equal(ops.flip_lr(events, (4, 1), p=1, seed=0)["x"], [3, 0])
    assert {"FastDecay", "decimate", "drop_event", "prophesee_event_cube"} <= set(ops.__all__)


def test_augmentations_carry_a_structured_arrays_other_fields_with_their_events() -> None:
    # A label field (each event's number from 1) follows its event through every augmentation;
    # added noise events get 0. Before, the result was built in uninitialised memory.
    base, width, height = random_case(4)
    events = np.zeros(len(base), np.dtype(TONIC_DTYPE.descr + [("label", "<i4")]))
    for name in ("t", "x", "y", "p"):
        events[name] = base[name]
    events["label"] = np.arange(1, len(events) + 1)
    labels = events["label"]
    sensor = (width, height)
    inside = (events["x"] >= 1) & (events["x"] < width) & (events["y"] < height - 1)
    same_order = {
        "flip_lr": ops.flip_lr(events, sensor, p=1.0, seed=1),
        "flip_ud": ops.flip_ud(events, sensor, p=1.0, seed=1),
        "flip_polarity": ops.flip_polarity(events, p=1.0, seed=1),
        "time_skew": ops.time_skew(events, 1.5, 10),
        "spatial_jitter": ops.spatial_jitter(events, sensor, seed=1),
        "time_jitter": ops.time_jitter(events, 0.0, seed=1),
    }
    for name, out in same_order.items():
        np.testing.assert_array_equal(out["label"], labels, err_msg=name)
    np.testing.assert_array_equal(ops.flip_lr(events, sensor, p=1.0, seed=1)["x"], width - 1 - events["x"])
    np.testing.assert_array_equal(ops.time_reversal(events, p=1.0, seed=1)["label"], labels[::-1])
    np.testing.assert_array_equal(ops.crop(events, 1, 0, width - 1, height - 1)["label"], labels[inside])
    jittered = ops.time_jitter(events, 500.0, sort_timestamps=True, seed=2)
    assert len(set(jittered["label"])) == len(jittered) and set(jittered["label"]) <= set(labels)
    np.testing.assert_array_equal(jittered["p"], events["p"][jittered["label"] - 1])
    noisy = ops.uniform_noise(events, sensor, 25, seed=3)
    np.testing.assert_array_equal(noisy["label"][noisy["label"] != 0], labels)
    assert np.count_nonzero(noisy["label"] == 0) == 25
    kept = noisy["label"] != 0
    np.testing.assert_array_equal(noisy["t"][kept], events["t"])
