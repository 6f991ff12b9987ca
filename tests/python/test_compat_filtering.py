"""evlib.filtering against evlib 0.13.2's on the same frames: same rows in the same order, same
schema, same return type, same errors. Where 0.13.2 is wrong the test shows its result next to
ours (docs/compatibility.md, "Filtering")."""

from __future__ import annotations

from typing import Any

import evlib
import evlib.filtering as filtering
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from reference import support
from reference.frames import HEIGHT, WIDTH, compat_frame, synthetic
from reference.harness import Reference

reference = support.reference  # fixture
samples = support.samples  # fixture

EVENTS = synthetic()


def same_as_reference(reference: Reference, name: str, events: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    """Runs ``name`` in both packages on ``events`` (as a LazyFrame, and as a DataFrame) and
    checks that both return a LazyFrame holding the same rows in the same order."""
    ours: pl.DataFrame | None = None
    for as_dataframe in (False, True):
        ref = reference.on_events(f"filtering.{name}", events, as_dataframe=as_dataframe, **kwargs)
        assert ref.ok, ref.raw
        assert ref.raw["python_type"] == "LazyFrame"
        given = events if as_dataframe else events.lazy()
        result = getattr(filtering, name)(given, **kwargs)
        assert isinstance(result, pl.LazyFrame)
        ours = result.collect()
        assert ref.frame is not None
        assert_frame_equal(ours, ref.frame)
    assert ours is not None
    return ours


@pytest.mark.parametrize(
    "bounds",
    [{"t_start": 0.05, "t_end": 0.4}, {"t_start": 0.2}, {"t_end": 0.1}, {}, {"t_start": 0.3, "t_end": 0.2},
     {"t_start": 0, "t_end": 1}, {"t_start": -1e300, "t_end": 1e300}, {"t_end": 0.0001235}],
)  # fmt: skip
def test_filter_by_time_keeps_the_same_events_as_evlib_0132(reference: Reference, bounds: dict[str, float]) -> None:
    same_as_reference(reference, "filter_by_time", EVENTS, **bounds)


def test_filter_by_time_includes_both_bounds_like_evlib_0132(reference: Reference) -> None:
    events = compat_frame([999_999, 1_000_000, 1_500_000, 2_000_000, 2_000_001], [1] * 5, [2] * 5, [1] * 5)
    kept = same_as_reference(reference, "filter_by_time", events, t_start=1.0, t_end=2.0)
    assert kept["t"].dt.total_microseconds().to_list() == [1_000_000, 1_500_000, 2_000_000]


@pytest.mark.parametrize(
    ("bound", "ref_kept", "our_kept"),
    [({"t_start": 0.000123}, [200, 249, 250], [123, 200, 249, 250]),
     ({"t_end": 0.000249}, [122, 123, 200], [122, 123, 200, 249])],
)  # fmt: skip
def test_filter_by_time_bounds_are_exact_microseconds_where_evlib_0132_rounds_them_away(
    reference: Reference, bound: dict[str, float], ref_kept: list[int], our_kept: list[int]
) -> None:
    # 0.000123 s * 1e6 is 123.00000000000001 and 0.000249 s * 1e6 is 248.99999999999997 in floats:
    # with one bound, 0.13.2 drops the event at exactly 123 or 249 µs, which its bounds include.
    events = compat_frame([122, 123, 200, 249, 250], [1] * 5, [2] * 5, [1] * 5)
    ref = reference.on_events("filtering.filter_by_time", events, **bound)
    assert ref.frame is not None and ref.frame["t"].dt.total_microseconds().to_list() == ref_kept
    ours = filtering.filter_by_time(events, **bound).collect()
    assert ours["t"].dt.total_microseconds().to_list() == our_kept


@pytest.mark.parametrize("roi", [(2, 8, 1, 5), (0, 0, 0, 0), (7, 7, 4, 4), (0, WIDTH, 0, HEIGHT)])
def test_filter_by_roi_keeps_the_same_events_as_evlib_0132(reference: Reference, roi: tuple[int, ...]) -> None:
    x_min, x_max, y_min, y_max = roi
    kept = same_as_reference(reference, "filter_by_roi", EVENTS, x_min=x_min, x_max=x_max, y_min=y_min, y_max=y_max)
    assert kept["x"].is_between(x_min, x_max).all() and kept["y"].is_between(y_min, y_max).all()


@pytest.mark.parametrize("roi", [{"x_min": 5, "x_max": 4, "y_min": 0, "y_max": 3},
                                 {"x_min": 0, "x_max": 4, "y_min": 3, "y_max": 2}])  # fmt: skip
def test_filter_by_roi_rejects_an_inverted_roi_like_evlib_0132(reference: Reference, roi: dict[str, int]) -> None:
    ref = reference.on_events("filtering.filter_by_roi", EVENTS, **roi)
    assert not ref.ok and ref.error_type == "ValueError"
    with pytest.raises(ValueError) as error:
        filtering.filter_by_roi(EVENTS, **roi)
    assert str(error.value) == ref.error_message


@pytest.mark.parametrize("rois", [[(0, 3, 0, 3), (6, 11, 5, 8)], [(2, 2, 4, 4)], [], [(5, 4, 0, 8), (1, 1, 0, 8)]])
def test_filter_multiple_rois_keeps_the_same_events_as_evlib_0132(reference: Reference, rois: list[tuple[int, ...]]) -> None:
    same_as_reference(reference, "filter_multiple_rois", EVENTS, rois=[list(roi) for roi in rois])


@pytest.mark.parametrize("polarity", [1, -1, [1, -1], [0], 1.0])
def test_filter_by_polarity_keeps_the_same_events_as_evlib_0132(reference: Reference, polarity: Any) -> None:
    same_as_reference(reference, "filter_by_polarity", EVENTS, polarity=polarity)


@pytest.mark.parametrize("percentile", [None, 99.9, 95.0, 50.0, 0.0, 100.0])
def test_filter_hot_pixels_drops_the_same_pixels_as_evlib_0132(reference: Reference, percentile: float | None) -> None:
    kept = same_as_reference(reference, "filter_hot_pixels", EVENTS, threshold_percentile=percentile)
    if percentile == 95.0:
        assert kept.filter((pl.col("y") == 4) & pl.col("x").is_in([1, 7, 11])).height == 0


@pytest.mark.parametrize("period", [None, 1000.0, 1.0, 0.0, 5000])
def test_filter_noise_keeps_the_same_events_as_evlib_0132(reference: Reference, period: float | None) -> None:
    same_as_reference(reference, "filter_noise", EVENTS, method="refractory", refractory_period_us=period)


def test_filter_noise_measures_from_the_previous_event_kept_or_not_like_evlib_0132(reference: Reference) -> None:
    # One pixel firing every 600 µs with a 1000 µs period: each event is 600 µs after the one
    # before it, so only the first passes (a filter measuring from the last kept event would
    # keep every other one).
    events = compat_frame([0, 600, 1200, 1800, 2400, 5000], [3] * 6, [3] * 6, [1, -1, 1, -1, 1, 1])
    kept = same_as_reference(reference, "filter_noise", events)
    assert kept["t"].dt.total_microseconds().to_list() == [0, 5000]


def test_filter_noise_sorts_by_time_like_evlib_0132(reference: Reference) -> None:
    shuffled = EVENTS.sample(fraction=1.0, shuffle=True, seed=3)
    shuffled = shuffled.unique(subset=["t", "x", "y"], keep="first", maintain_order=True)  # no tie to order
    kept = same_as_reference(reference, "filter_noise", shuffled)
    assert kept["t"].is_sorted()


def test_filter_noise_keeps_the_first_of_two_simultaneous_events_where_evlib_0132_may_keep_either() -> None:
    # 0.13.2 sorts with Polars' unstable sort: which of two events with the same time at a pixel
    # survives is not defined there. Here the input's first one does, whatever the input size.
    n = 50_000
    rng = np.random.default_rng(1)
    t = rng.integers(0, 10_000_000, n)
    events = compat_frame(np.repeat(t, 2), np.repeat(rng.integers(0, 640, n), 2), np.zeros(2 * n), np.tile([1, -1], n))
    kept = filtering.filter_noise(events, refractory_period_us=0).collect()
    assert kept["polarity"].to_list() == [1] * kept.height


def test_filter_noise_rejects_an_unknown_method_like_evlib_0132(reference: Reference) -> None:
    ref = reference.on_events("filtering.filter_noise", EVENTS, method="baf")
    assert not ref.ok and ref.error_type == "ValueError"
    with pytest.raises(ValueError) as error:
        filtering.filter_noise(EVENTS, method="baf")
    assert str(error.value) == ref.error_message


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"t_start": 0.01, "t_end": 0.5, "roi": [1, 10, 0, 8], "polarity": 1},
        {"remove_hot_pixels": False, "refractory_period_us": 300.0},
        {"denoise": False, "hot_pixel_threshold": 90.0, "polarity": [-1]},
    ],
)
def test_preprocess_events_gives_the_same_events_as_evlib_0132(reference: Reference, options: dict[str, Any]) -> None:
    same_as_reference(reference, "preprocess_events", EVENTS, **options)


def test_preprocess_events_with_every_step_off_returns_a_lazyframe_where_evlib_0132_returns_its_input(
    reference: Reference,
) -> None:
    off = {"remove_hot_pixels": False, "denoise": False}
    ref = reference.on_events("filtering.preprocess_events", EVENTS, as_dataframe=True, **off)
    assert ref.raw["python_type"] == "DataFrame"
    ours = filtering.preprocess_events(EVENTS, **off)
    assert isinstance(ours, pl.LazyFrame)
    assert ref.frame is not None
    assert_frame_equal(ours.collect(), ref.frame)


def test_filters_run_on_what_load_events_returns(reference: Reference, samples: dict[str, support.Sample]) -> None:
    path = samples["evt3"].path
    ours = filtering.preprocess_events(evlib.load_events(path), t_start=1.0001, roi=(0, 320, 0, 240)).collect()
    ref = reference.call("load_events", str(path)).frame
    assert ref is not None
    expected = reference.on_events("filtering.preprocess_events", ref, t_start=1.0001, roi=[0, 320, 0, 240]).frame
    assert expected is not None and expected.height > 0
    assert_frame_equal(ours, expected)


def test_filters_on_an_empty_frame_return_it_empty(reference: Reference) -> None:
    empty = EVENTS.clear()
    for name, kwargs in (("filter_hot_pixels", {}), ("filter_noise", {}), ("preprocess_events", {"t_start": 0.0})):
        kept = same_as_reference(reference, name, empty, **kwargs)
        assert kept.height == 0 and kept.schema == EVENTS.schema


@pytest.mark.parametrize("relative", ["evt2/evt2_sample.raw", "evt3/evt3_test_pedestrians.raw", "aedat4/tonic_sample.aedat4"])
def test_filters_on_real_recordings_keep_evlib_0132s_events(reference: Reference, relative: str) -> None:
    loaded = reference.call("load_events", str(support.recording(relative))).frame
    assert loaded is not None and loaded.height > 0
    t0 = loaded["t"].min().total_seconds()  # type: ignore[union-attr]
    kept = same_as_reference(reference, "preprocess_events", loaded)
    assert 0 < kept.height < loaded.height
    same_as_reference(reference, "filter_hot_pixels", loaded, threshold_percentile=99.0)
    same_as_reference(reference, "filter_noise", loaded, refractory_period_us=5000.0)
    same_as_reference(reference, "filter_by_time", loaded, t_start=t0 + 0.01, t_end=t0 + 0.02)
