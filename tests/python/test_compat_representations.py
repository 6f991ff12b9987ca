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
