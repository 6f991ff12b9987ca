"""evlib.ops.FastDecay against dv-processing 2.0.4's FastDecayNoiseFilter itself: identical kept
events on seeded random streams (several half-lives, subdivisions and thresholds, small and
large timestamps) and on real recordings (EVLIB_RECORDINGS), and the same flags whatever the
batch boundaries."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

from evlib import ops
from ops_streams import random_case, random_stream, reference
from test_ops_dv import event_store, store_rows
from test_ops_recordings import REAL, first_events

SEEDS = range(16)


@pytest.fixture(scope="module")
def dv():  # type: ignore[no-untyped-def]
    return reference("dv_processing", "dv-processing==2.0.4")


def rows(kept: dict[str, np.ndarray] | np.ndarray) -> np.ndarray:
    return np.stack([kept["t"], kept["x"], kept["y"], kept["p"]], 1).astype(np.int64).reshape(-1, 4)


def dv_kept(dv, events: np.ndarray, sensor: tuple[int, int], half_life: int, subdivision: int,  # type: ignore[no-untyped-def]
            threshold: float) -> np.ndarray:
    reference_filter = dv.noise.FastDecayNoiseFilter(sensor, halfLife=datetime.timedelta(microseconds=half_life),
                                                     subdivisionFactor=subdivision, noiseThreshold=threshold)
    reference_filter.accept(event_store(dv, events))
    return store_rows(reference_filter.generateEvents())


def parameters(seed: int) -> tuple[int, int, float]:
    rng = np.random.default_rng(1000 + seed)
    return int(rng.integers(1, 20000)), int(rng.integers(1, 6)), float(rng.uniform(0.5, 8))


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_decay_keeps_what_dv_processing_keeps(dv, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    half_life, subdivision, threshold = parameters(seed)
    got = rows(ops.fast_decay(events, (width, height), half_life, subdivision, threshold))
    np.testing.assert_array_equal(got, dv_kept(dv, events, (width, height), half_life, subdivision, threshold))


@pytest.mark.parametrize("seed", range(4))
def test_fast_decay_matches_dv_processing_at_large_timestamps(dv, seed: int) -> None:  # type: ignore[no-untyped-def]
    # Gaps above 2^24 µs lose precision in the float conversion: both must lose the same.
    rng = np.random.default_rng(seed)
    events = random_stream(rng, 3000, 12, 9, 40_000_000 if seed % 2 else 3000, t0=1_700_000_000_000_000)
    got = rows(ops.fast_decay(events, (12, 9), 5000, 2, 1.5))
    np.testing.assert_array_equal(got, dv_kept(dv, events, (12, 9), 5000, 2, 1.5))


def test_fast_decay_defaults_are_dv_processings(dv) -> None:  # type: ignore[no-untyped-def]
    events = random_stream(np.random.default_rng(5), 5000, 32, 24, 3)
    reference_filter = dv.noise.FastDecayNoiseFilter((32, 24))
    reference_filter.accept(event_store(dv, events))
    np.testing.assert_array_equal(rows(ops.fast_decay(events, (32, 24))),
                                  store_rows(reference_filter.generateEvents()))


@pytest.mark.parametrize("seed", range(6))
def test_fast_decay_gives_the_same_flags_whatever_the_batches(seed: int) -> None:
    events, width, height = random_case(seed)
    half_life, subdivision, threshold = parameters(seed)
    whole = ops.FastDecay((width, height), half_life, subdivision, threshold).keep_mask(events)
    batched = ops.FastDecay((width, height), half_life, subdivision, threshold)
    cuts = np.sort(np.random.default_rng(seed).integers(0, len(events) + 1, 5))
    pieces = [batched.keep_mask(part) for part in np.split(events, cuts)]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_fast_decay_edge_cases() -> None:
    empty = np.zeros(0, dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    assert len(ops.fast_decay(empty, (4, 4))) == 0
    one_pixel = {"t": np.zeros(10, np.int64), "x": np.full(10, 3, np.uint16), "y": np.full(10, 3, np.uint16),
                 "p": np.ones(10, np.uint8)}
    # Counter 1, 2, ..., 10 at one time: kept from the 7th (> 6.0).
    np.testing.assert_array_equal(ops.FastDecay((4, 4)).keep_mask(one_pixel), np.arange(1, 11) > 6)
    outside = {"t": np.zeros(8, np.int64), "x": np.full(8, 4, np.uint16), "y": np.zeros(8, np.uint16),
               "p": np.ones(8, np.uint8)}
    assert not ops.FastDecay((4, 4), noise_threshold=0.5).keep_mask(outside).any()
    with pytest.raises(ValueError, match="half-life"):
        ops.FastDecay((4, 4), half_life=0)


@pytest.mark.parametrize("name", REAL)
def test_fast_decay_on_real_recordings_matches_dv_processing(dv, name: str, recordings: Path) -> None:  # type: ignore[no-untyped-def]
    events, sensor = first_events(recordings, name)
    for half_life, subdivision, threshold in [(10000, 4, 6.0), (1000, 2, 3.0)]:
        expected = dv_kept(dv, events, sensor, half_life, subdivision, threshold)
        np.testing.assert_array_equal(rows(ops.fast_decay(events, sensor, half_life, subdivision, threshold)), expected)
    batched = ops.FastDecay(sensor)
    whole = ops.FastDecay(sensor).keep_mask(events)
    np.testing.assert_array_equal(np.concatenate([batched.keep_mask(b) for b in np.array_split(events, 13)]), whole)
