"""evlib.ops against dv-processing 2.0.4 itself, on seeded random streams: the
background-activity filter's kept events and the TimeSurface frame, identical."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from evlib import ops
from ops_streams import random_case, reference, dv_event_store

SEEDS = range(12)


@pytest.fixture(scope="module")
def dv():  # type: ignore[no-untyped-def]
    return reference("dv_processing", "dv-processing==2.0.4")


event_store = dv_event_store


def store_rows(store) -> np.ndarray:  # type: ignore[no-untyped-def]
    rows = [(e.timestamp(), e.x(), e.y(), int(e.polarity())) for e in store]
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_background_activity_dv_convention_keeps_what_dv_processing_keeps(dv, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    duration = 1 + seed * 233
    reference_filter = dv.noise.BackgroundActivityNoiseFilter(
        (width, height), backgroundActivityDuration=datetime.timedelta(microseconds=duration))
    reference_filter.accept(event_store(dv, events))
    expected = store_rows(reference_filter.generateEvents())
    kept = ops.BackgroundActivity((width, height), duration, convention="dv").filter(events)
    got = np.stack([kept["t"], kept["x"], kept["y"], kept["p"]], 1).astype(np.int64).reshape(-1, 4)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_last_timestamp_frame_is_dv_processing_time_surface_frame(dv, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    surface = dv.TimeSurface((width, height))
    surface.accept(event_store(dv, events))
    expected = surface.generateFrame().image.reshape(height, width)
    timestamps = ops.LastTimestampMap((width, height))
    timestamps.add(events)
    np.testing.assert_array_equal(timestamps.frame(), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_decay_keeps_what_dv_processing_keeps(dv, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    half_life, subdivision, threshold = 200 + seed * 700, 1 + seed % 5, 1.0 + 0.5 * (seed % 4)
    reference_filter = dv.noise.FastDecayNoiseFilter(
        (width, height), halfLife=datetime.timedelta(microseconds=half_life), subdivisionFactor=subdivision,
        noiseThreshold=threshold)
    reference_filter.accept(event_store(dv, events))
    expected = store_rows(reference_filter.generateEvents())
    kept = ops.FastDecay((width, height), half_life, subdivision, threshold).filter(events)
    got = np.stack([kept["t"], kept["x"], kept["y"], kept["p"]], 1).astype(np.int64).reshape(-1, 4)
    np.testing.assert_array_equal(got, expected)
    assert 0 < len(got) or len(events) < 50  # the comparison is not between two empty outputs
