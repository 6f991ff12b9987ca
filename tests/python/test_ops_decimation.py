"""evlib.ops.Decimation against tonic 1.7.0's Decimation (decimate_numpy): identical kept
events on seeded random streams and real recordings (EVLIB_RECORDINGS), and the same flags
whatever the batch boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evlib import ops
from ops_streams import TONIC_DTYPE, random_case, reference
from test_ops_recordings import REAL, first_events

SEEDS = range(16)


@pytest.fixture(scope="module")
def functional():  # type: ignore[no-untyped-def]
    return reference("tonic.functional", "tonic==1.7.0")


def tonic_decimated(functional, events: np.ndarray, n: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    kept = functional.decimate_numpy(events.copy(), n)
    return kept if kept.dtype == events.dtype else events[:0]  # tonic returns a float64 [] when nothing is kept


@pytest.mark.parametrize("seed", SEEDS)
def test_decimation_keeps_what_tonic_keeps(functional, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = random_case(seed)
    n = 1 + seed % 7
    expected = tonic_decimated(functional, events, n)
    np.testing.assert_array_equal(ops.decimate(events, n), expected)
    np.testing.assert_array_equal(ops.Decimation((width, height), n).filter(events), expected)


@pytest.mark.parametrize("seed", range(6))
def test_decimation_gives_the_same_flags_whatever_the_batches(seed: int) -> None:
    events, width, height = random_case(seed)
    whole = ops.Decimation((width, height), 3).keep_mask(events)
    batched = ops.Decimation((width, height), 3)
    cuts = np.sort(np.random.default_rng(seed).integers(0, len(events) + 1, 5))
    np.testing.assert_array_equal(np.concatenate([batched.keep_mask(part) for part in np.split(events, cuts)]), whole)


def test_decimation_edge_cases() -> None:
    one_pixel = {"t": np.arange(10, dtype=np.int64), "x": np.full(10, 2, np.uint16), "y": np.zeros(10, np.uint16),
                 "p": np.zeros(10, np.uint8)}
    np.testing.assert_array_equal(ops.decimate(one_pixel, 3)["t"], [2, 5, 8])  # tonic's documented example
    assert len(ops.decimate({k: v[:0] for k, v in one_pixel.items()}, 3)["t"]) == 0
    assert not ops.Decimation((2, 1), 1).keep_mask(one_pixel).any()  # x = 2 is outside a 2-wide sensor
    with pytest.raises(ValueError, match="n must be"):
        ops.Decimation((4, 4), 0)


@pytest.mark.parametrize("name", REAL)
def test_decimation_on_real_recordings_matches_tonic(functional, name: str, recordings: Path) -> None:  # type: ignore[no-untyped-def]
    events, sensor = first_events(recordings, name)
    for n in (2, 5):
        np.testing.assert_array_equal(ops.Decimation(sensor, n).filter(events), tonic_decimated(functional, events, n))


def test_decimate_sizes_the_sensor_from_the_coordinates_on_it() -> None:
    # A tonic-style signed -1 is off every sensor: it is dropped, and the sensor is sized from the
    # other events (before, it became x = 65535: a 65536 x 65536 count grid, 16 GiB, and was kept).
    events = np.zeros(3, TONIC_DTYPE)
    events["x"], events["y"], events["t"] = [-1, 3, 2], [-1, 3, 2], [0, 1, 2]
    np.testing.assert_array_equal(ops.decimate(events, 1)["t"], [1, 2])
    assert len(ops.decimate(events[:1], 1)) == 0
