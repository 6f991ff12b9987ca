"""evlib.representations against evlib 0.13.2's on the same frames: same long-format frames
(values, dtypes, column order, row order where 0.13.2 sorts them) and the same dense tensors.
Names still pending raise NotImplementedError (test_compat_formats.py)."""

from __future__ import annotations

from typing import Any

import evlib.representations as representations
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from reference import support
from reference.harness import Reference
from reference.frames import compat_frame, synthetic

reference = support.reference  # fixture

# Smaller than the events' 12 x 9 coordinates, so that the sensor bounds drop some.
WIDTH, HEIGHT = 11, 8
EVENTS = synthetic()
ONE_EVENT = compat_frame([5000], [3], [2], [1])
ONE_TIME = compat_frame([7000] * 4, [1, 1, 2, 3], [1, 1, 2, 3], [1, -1, 1, 1])
UNSIGNED = EVENTS.with_columns((pl.col("polarity") > 0).cast(pl.Int8))

# Voxel contributions are sums of float64 terms that Polars' group-by (ours and 0.13.2's) adds in
# no fixed order: equal up to a few ULPs of the sum (710.2611999999991 against ...0004 seen once).
SUM_RTOL = 1e-13


def reference_frame(reference: Reference, name: str, events: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    """evlib 0.13.2's ``name`` on ``events`` (which returns a collected DataFrame)."""
    ref = reference.on_events(f"representations.{name}", events, **kwargs)
    assert ref.ok, ref.raw
    assert ref.raw["python_type"] == "DataFrame" and ref.frame is not None
    return ref.frame


def same_as_reference(reference: Reference, name: str, events: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    expected = reference_frame(reference, name, events, **kwargs)
    for given in (events, events.lazy()):
        ours = getattr(representations, name)(given, **kwargs)
        assert isinstance(ours, pl.DataFrame)
        assert_frame_equal(ours, expected)
    return expected


@pytest.mark.parametrize("events", [EVENTS, UNSIGNED, ONE_EVENT, ONE_TIME], ids=["signed", "unsigned", "one", "one_time"])
@pytest.mark.parametrize("options", [{}, {"bins": 3, "window_duration_ms": 0.25}, {"bins": 40, "window_duration_ms": 20.0}])
def test_create_stacked_histogram_counts_like_evlib_0132(
    reference: Reference, events: pl.DataFrame, options: dict[str, Any]
) -> None:
    hist = same_as_reference(reference, "create_stacked_histogram", events, height=HEIGHT, width=WIDTH, **options)
    assert hist.height > 0


@pytest.mark.parametrize("name", ["preprocess_for_detection", "benchmark_vs_rvt"])
def test_stacked_histogram_aliases_are_evlib_0132s(reference: Reference, name: str) -> None:
    same_as_reference(reference, name, EVENTS, height=HEIGHT, width=WIDTH)


@pytest.mark.parametrize("events", [EVENTS, UNSIGNED, ONE_EVENT, ONE_TIME], ids=["signed", "unsigned", "one", "one_time"])
@pytest.mark.parametrize("n_time_bins", [10, 1, 7, 333])
def test_create_event_frame_bins_the_whole_input_like_evlib_0132(
    reference: Reference, events: pl.DataFrame, n_time_bins: int
) -> None:
    frame = same_as_reference(reference, "create_event_frame", events, height=HEIGHT, width=WIDTH, n_time_bins=n_time_bins)
    assert set(frame["polarity"].to_list()) <= {0, 1}


def test_create_event_frame_drops_the_last_event_past_the_last_bin_like_evlib_0132(reference: Reference) -> None:
    events = compat_frame([0, 10, 20, 31], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1])  # bin width 31 // 3 = 10
    frame = same_as_reference(reference, "create_event_frame", events, height=4, width=4, n_time_bins=3)
    assert frame["time_bin"].to_list() == [0, 1, 2]


@pytest.mark.parametrize("n_time_bins", [10, 4])
def test_densify_event_frame_gives_evlib_0132s_tensor(reference: Reference, n_time_bins: int) -> None:
    long = representations.create_event_frame(EVENTS, HEIGHT, WIDTH, n_time_bins)
    args = {"n_time_bins": n_time_bins, "n_polarities": 2, "height": HEIGHT, "width": WIDTH}
    ref = reference.on_events("representations.densify_event_frame", long, as_dataframe=True, **args)
    assert ref.ok, ref.raw
    dense = representations.densify_event_frame(long, **args)
    assert str(dense.dtype) == ref.value["dtype"] and list(dense.shape) == ref.value["shape"]
    assert dense.ravel().tolist() == ref.value["values"]
    assert dense.sum() == long["count"].sum()


@pytest.mark.parametrize(
    ("name", "keys"), [("event_histogram", ["x", "y", "polarity"]), ("create_mixed_density_stack", ["x", "y"])]
)
@pytest.mark.parametrize("events", [EVENTS, UNSIGNED], ids=["signed", "unsigned"])
def test_pixel_aggregates_are_evlib_0132s_with_rows_in_a_defined_order(
    reference: Reference, name: str, keys: list[str], events: pl.DataFrame
) -> None:
    expected = reference_frame(reference, name, events, height=HEIGHT, width=WIDTH)
    for given in (events, events.lazy()):
        ours = getattr(representations, name)(given, height=HEIGHT, width=WIDTH)
        assert_frame_equal(ours, expected.sort(keys))
        assert_frame_equal(ours, ours.sort(keys))


def test_stacked_histogram_counts_sum_to_the_events_kept() -> None:
    hist = representations.create_stacked_histogram(EVENTS, HEIGHT, WIDTH, bins=1000, window_duration_ms=1000.0)
    on_sensor = EVENTS.filter((pl.col("x") < WIDTH) & (pl.col("y") < HEIGHT))
    assert hist["count"].sum() == on_sensor.height
    assert np.array_equal(np.sort(hist["time_bin"].unique().to_numpy()), np.array([0], dtype=np.int32))


@pytest.mark.parametrize("name", ["create_stacked_histogram", "create_event_frame", "event_histogram",
                                  "create_mixed_density_stack"])  # fmt: skip
def test_representations_of_an_empty_frame_are_evlib_0132s(reference: Reference, name: str) -> None:
    empty = same_as_reference(reference, name, EVENTS.clear(), height=HEIGHT, width=WIDTH)
    assert empty.height == 0


def assert_within_ulps(ours: np.ndarray, expected: np.ndarray, ulps: int) -> None:
    """Equal shapes, and values within ``ulps`` units in the last place (exact for zeros)."""
    assert ours.shape == expected.shape
    spacing = np.spacing(np.maximum(np.abs(ours), np.abs(expected)))
    assert np.all(np.abs(ours - expected) <= ulps * spacing)


@pytest.mark.parametrize("events", [EVENTS, UNSIGNED, ONE_EVENT, ONE_TIME], ids=["signed", "unsigned", "one", "one_time"])
@pytest.mark.parametrize(("name", "n_time_bins"), [("create_voxel_grid", 5), ("create_voxel_grid", 1),
                                                   ("create_voxel_grid", 9), ("voxel_grid", 3)])  # fmt: skip
def test_voxel_grid_is_evlib_0132s_with_rows_in_a_defined_order(
    reference: Reference, events: pl.DataFrame, name: str, n_time_bins: int
) -> None:
    # 0.13.2 sums each cell's contributions (±1 each, of both signs) in a Polars group_by, whose
    # order of addition is not defined: a sum that cancels to near 0 can then differ in its last
    # bits, so values are compared within 1e-12 (the rounding bound of such sums here), rows
    # after sorting.
    keys = ["x", "y", "time_bin"]
    expected = reference_frame(reference, name, events, height=HEIGHT, width=WIDTH, n_time_bins=n_time_bins).sort(keys)
    for given in (events, events.lazy()):
        ours = getattr(representations, name)(given, height=HEIGHT, width=WIDTH, n_time_bins=n_time_bins)
        assert ours.schema == expected.schema
        assert_frame_equal(ours.select(keys), expected.select(keys))
        np.testing.assert_allclose(ours["contribution"].to_numpy(), expected["contribution"].to_numpy(), rtol=SUM_RTOL, atol=1e-12)
        assert_frame_equal(ours, ours.sort(keys))


def test_voxel_grid_events_at_the_last_time_add_nothing_like_evlib_0132(reference: Reference) -> None:
    events = compat_frame([0, 50, 100], [1, 2, 3], [1, 1, 1], [1, 1, 1])
    ref = reference_frame(reference, "create_voxel_grid", events, height=4, width=4, n_time_bins=2).sort("x", "time_bin")
    ours = representations.create_voxel_grid(events, 4, 4, 2)
    assert_frame_equal(ours, ref)
    assert 3 not in ours["x"].to_list()


def test_densify_voxel_grid_gives_evlib_0132s_tensor(reference: Reference) -> None:
    long = representations.create_voxel_grid(EVENTS, HEIGHT, WIDTH, 5)
    args = {"n_time_bins": 5, "height": HEIGHT, "width": WIDTH}
    ref = reference.on_events("representations.densify_voxel_grid", long, as_dataframe=True, **args)
    assert ref.ok, ref.raw
    dense = representations.densify_voxel_grid(long, **args)
    assert str(dense.dtype) == ref.value["dtype"] and list(dense.shape) == ref.value["shape"]
    assert dense.ravel().tolist() == ref.value["values"]


TIME_SURFACE_OPTIONS = [{"dt": 50_000.0, "tau": 30_000.0}, {"dt": 1234.5, "tau": 500.0}, {"dt": 10_000_000.0, "tau": 1e6}]


@pytest.mark.parametrize("events", [EVENTS, UNSIGNED, ONE_EVENT, ONE_TIME], ids=["signed", "unsigned", "one", "one_time"])
@pytest.mark.parametrize("options", TIME_SURFACE_OPTIONS)
def test_create_time_surface_is_evlib_0132s(reference: Reference, events: pl.DataFrame, options: dict[str, float]) -> None:
    same_as_reference(reference, "create_time_surface", events, height=HEIGHT, width=WIDTH, **options)


@pytest.mark.parametrize("options", TIME_SURFACE_OPTIONS[:2])
def test_densify_time_surface_gives_evlib_0132s_tensor_within_one_ulp(reference: Reference, options: dict[str, float]) -> None:
    long = representations.create_time_surface(EVENTS, HEIGHT, WIDTH, **options)
    start_t = float(EVENTS["t"].dt.total_microseconds().min())
    args = {"n_slices": int(long["slice"].max()) + 1, "n_polarities": 2, "height": HEIGHT, "width": WIDTH,
            "start_t": start_t, **options}  # fmt: skip
    ref = reference.on_events("representations.densify_time_surface", long, as_dataframe=True, **args)
    assert ref.ok, ref.raw
    dense = representations.densify_time_surface(long, **args)
    assert str(dense.dtype) == ref.value["dtype"] and list(dense.shape) == ref.value["shape"]
    assert_within_ulps(dense.ravel(), np.asarray(ref.value["values"]), 1)
    assert (dense > 0).any() and (dense == 0).any()


def test_time_surface_works_where_evlib_0132_raises_on_its_own_frames(reference: Reference) -> None:
    ref = reference.on_events("representations.time_surface", EVENTS, height=HEIGHT, width=WIDTH, tau=5000.0)
    assert not ref.ok and "exp" in (ref.error_message or "")
    ours = representations.time_surface(EVENTS, HEIGHT, WIDTH, tau=5000.0)
    assert ours.columns == ["x", "y", "polarity", "last_timestamp", "event_count", "surface_value"]
    latest = EVENTS["t"].max()
    newest = ours.filter(pl.col("last_timestamp") == latest)
    assert newest.height >= 1 and newest["surface_value"].to_list() == [1.0] * newest.height
    assert ours["event_count"].sum() == EVENTS.filter((pl.col("x") < WIDTH) & (pl.col("y") < HEIGHT)).height
    t_us = ours["last_timestamp"].dt.total_microseconds().to_numpy().astype(np.float64)
    age = float(t_us.max()) - t_us  # the latest event is on the sensor here
    # Polars' exp, a few ULPs from NumPy's
    np.testing.assert_allclose(ours["surface_value"].to_numpy(), np.exp(-age / 5000.0), rtol=1e-14, atol=0)


REAL = ["evt2/evt2_sample.raw", "evt3/evt3_test_pedestrians.raw", "aedat4/tonic_sample.aedat4"]


@pytest.mark.parametrize("relative", REAL)
def test_representations_of_real_recordings_are_evlib_0132s(reference: Reference, relative: str) -> None:
    loaded = reference.call("load_events", str(support.recording(relative))).frame
    assert loaded is not None and loaded.height > 0
    height, width = int(loaded["y"].max()) + 1, int(loaded["x"].max()) + 1
    for name, kwargs in (("create_stacked_histogram", {"bins": 4, "window_duration_ms": 10.0}),
                         ("create_event_frame", {"n_time_bins": 6}),
                         ("create_time_surface", {"dt": 20_000.0, "tau": 5000.0})):  # fmt: skip
        same_as_reference(reference, name, loaded, height=height, width=width, **kwargs)
    keys = ["x", "y", "time_bin"]
    expected = reference_frame(reference, "create_voxel_grid", loaded, height=height, width=width).sort(keys)
    ours = representations.create_voxel_grid(loaded, height, width)
    assert_frame_equal(ours.select(keys), expected.select(keys))
    np.testing.assert_allclose(ours["contribution"].to_numpy(), expected["contribution"].to_numpy(), rtol=SUM_RTOL, atol=1e-12)
