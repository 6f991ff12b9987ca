"""evlib.ops on inputs that a cast would turn into wrong results: coordinates past uint16,
polarities past uint8, float times, an ``out=`` of another dtype, and times near the int64
limits (which used to wrap window ends and grid bases into memory corruption)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from evlib import ops

MAX = np.iinfo(np.int64).max
MIN = np.iinfo(np.int64).min


def events(t: list[int], x: list[int], y: list[int], p: list[int] | None = None) -> dict[str, np.ndarray]:
    return {"t": np.array(t, np.int64), "x": np.array(x), "y": np.array(y),
            "p": np.array(p if p is not None else [1] * len(t))}


def test_coordinates_outside_uint16_are_left_out_not_wrapped_onto_the_sensor() -> None:
    # 65537 would wrap to x = 1, -65535 to x = 1: both are off any sensor.
    frame = ops.event_frame(events([0, 1, 2], [65_537, -65_535, 1], [0, 0, 0]), (4, 1), polarities=1)
    assert frame.tolist() == [[[0, 1, 0, 0]]]
    cols = ops.columns(events([0, 1], [70_000, -1], [-2, 1]))
    assert cols[1].tolist() == [65_535, 65_535] and cols[2].tolist() == [65_535, 1]


def test_polarities_past_uint8_stay_out_of_polarity_planes_and_negatives_are_off() -> None:
    p = ops.columns(events([0, 1, 2, 3], [0] * 4, [0] * 4, [256, -1, 1, 2]))[3]
    assert p.tolist() == [255, 0, 1, 2]  # 256 no longer wraps to OFF; -1 does not make 2 ON
    frame = ops.event_frame(events([0, 1, 2, 3], [0] * 4, [0] * 4, [256, -1, 1, 2]), (1, 1))
    assert frame[:, 0, 0].tolist() == [1, 1]


@pytest.mark.parametrize("column", ["t", "x", "p"])
def test_float_columns_are_refused_instead_of_truncated(column: str) -> None:
    e = events([0, 1], [0, 1], [0, 0])
    e[column] = e[column].astype(np.float64) / 10
    with pytest.raises(TypeError, match=f"{column} must hold integers"):
        ops.columns(e)


def test_an_out_of_another_dtype_is_refused_and_out_sets_the_default_dtype() -> None:
    e = events([0] * 40_000, [0] * 40_000, [0] * 40_000)
    with pytest.raises(TypeError, match="int32, not the int16"):
        ops.event_frame(e, (1, 1), polarities=1, dtype=np.int16, out=np.zeros((1, 1, 1), np.int32))
    counts = ops.event_frame(e, (1, 1), polarities=1, out=np.zeros((1, 1, 1), np.int32))
    assert counts.dtype == np.int32 and counts[0, 0, 0] == 40_000
    with pytest.raises(TypeError, match="float64, not the float32"):
        ops.voxel_grid(e, (1, 1), 2, dtype=np.float32, out=np.zeros((2, 1, 1)))
    with pytest.raises(TypeError, match="uint8"):
        ops.stacked_histogram(e, (1, 1), bins=1, out=np.zeros((2, 1, 1), np.int16))


def test_time_surfaces_whose_windows_end_past_int64_are_made_without_writing_past_them() -> None:
    one = {"x": np.zeros(2, np.uint16), "y": np.zeros(2, np.uint16), "p": np.ones(2, np.uint8)}
    near_top = {"t": np.array([MAX - 10, MAX - 1], np.int64), **one}
    assert ops.time_surface(near_top, (1, 1), dt=3, tau=5.0).shape == (3, 2, 1, 1)
    assert ops.time_surface(near_top, (1, 1), dt=2**62, tau=5.0, include_incomplete=True).shape == (1, 2, 1, 1)
    whole = {"t": np.array([MIN, MAX], np.int64), **one}
    assert ops.time_surface(whole, (1, 1), dt=MAX, tau=5.0).shape == (2, 2, 1, 1)
    with pytest.raises(ValueError, match="more than memory can hold"):
        ops.time_surface(whole, (1, 1), dt=1, tau=5.0)


def test_a_tiny_window_over_a_long_recording_is_refused_up_front_with_its_size() -> None:
    # 1 µs windows over 10 days: 8.6e11 windows. Before, slice_events (and event_frame and
    # time_surface through it) allocated for seconds, then failed as a bare std::bad_alloc.
    long_span = events([0, 864_000_000_000], [0, 0], [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"8.64e\+11 windows: more than memory can hold .*this machine has"):
        ops.slice_events(long_span, time_window=1)
    with pytest.raises(ValueError, match="more than memory can hold"):
        ops.event_frame(long_span, (1, 1), time_window=1)
    with pytest.raises(ValueError, match="more than memory can hold"):
        ops.time_surface(long_span, (640, 480), dt=1_000, tau=5.0)


@pytest.mark.parametrize("make", [lambda: ops.Stcf((3, 3), 1, 1),
                                  lambda: ops.BackgroundActivity((3, 3), 1, convention="jaer")])
def test_neighbourhood_filters_over_times_2_pow_63_apart_give_the_one_batch_result(make) -> None:
    first = events([0, MAX - 10], [1, 2], [1, 1], [0, 0])
    second = events([0, 5], [2, 1], [2, 2], [0, 0])
    split = make()
    got = np.concatenate([split.keep_mask(first), split.keep_mask(second)])
    whole = make().keep_mask({k: np.concatenate([first[k], second[k]]) for k in first})
    assert got.tolist() == whole.tolist()


@pytest.mark.parametrize("arguments, message", [
    ({"time_window": 100.5}, "time_window must be a whole number"),
    ({"time_window": 100, "overlap": 9.9}, "overlap must be a whole number of µs"),
    ({"event_count": 10, "overlap": 2.5}, "overlap must be a whole number of events"),
    ({"n_time_bins": 2.5}, "n_time_bins must be a whole number"),
    ({"time_window": 2**70}, "below 2\\^63"),
    ({"time_window": 0}, "positive"),
    ({"time_window": 2**60, "overlap": 2**53 + 1}, "below 2\\^53"),
    ({"time_window": float("nan")}, "time_window must be a whole number"),
    ({"time_window": float("inf")}, "time_window must be a whole number"),
    ({"time_window": 100, "overlap": float("nan")}, "overlap must be a whole number"),
    ({"time_window": 100, "overlap": "5"}, "overlap must be a whole number"),
])
def test_slicing_parameters_that_would_be_truncated_are_refused(arguments: dict, message: str) -> None:
    # tonic slices with float windows; truncating them silently gave other windows than tonic's.
    with pytest.raises(ValueError, match=message):
        ops.slice_events(np.arange(0, 1000, 7), **arguments)


def test_a_boolean_window_and_unequal_columns_and_a_bare_width_are_refused_naming_them() -> None:
    with pytest.raises(TypeError, match="time_window must be a whole number"):
        ops.slice_events(np.arange(10), time_window=np.True_)  # np.bool_ was taken as 1 µs
    uneven = {"t": np.arange(3), "x": np.zeros(3, int), "y": np.zeros(2, int), "p": np.zeros(3, int)}
    with pytest.raises(ValueError, match="columns differ in length: 3, 3, 2, 3"):
        ops.drop_event(uneven, 0.5, seed=1)  # an IndexError from inside before
    with pytest.raises(ValueError, match="sensor_size must be \\(width, height\\), got 640"):
        ops.event_frame(events([0, 1], [0, 1], [0, 0]), 640, time_window=1)  # len() of an int before


def test_time_windows_past_2_pow_53_keep_every_microsecond() -> None:
    # Passed as float64 before, 2^62 + 1 became 2^62.
    t = np.array([0, 2**62, 2**62 + 1])
    assert ops.slice_events(t, time_window=2**62 + 1, convention="clean").tolist() == [[0, 2]]


def test_sizes_and_cutoffs_out_of_range_say_so_instead_of_a_binding_signature() -> None:
    e = events([0, 1], [0, 1], [0, 0])
    with pytest.raises(ValueError, match="sensor_size must be 1..65536"):
        ops.event_frame(e, (-4, 4))
    with pytest.raises(ValueError, match="sensor_size width must be a whole number"):
        ops.event_frame(e, (4.5, 4))  # truncated to 4 before
    assert ops.event_frame(e, (np.uint16(4), 4.0)).shape == ops.event_frame(e, (4, 4)).shape
    with pytest.raises(ValueError, match="count_cutoff must be 0..255"):
        ops.stacked_histogram(e, (4, 4), count_cutoff=-1)


def test_probabilities_seeds_dtypes_and_masks_that_make_no_sense_are_refused_naming_them() -> None:
    e = events([0, 1, 2], [0, 1, 2], [0, 0, 1], [0, 1, 1])
    for bad in (5, float("nan"), -0.5):  # p = 5 always flipped, NaN never, before
        with pytest.raises(ValueError, match="p must be in \\[0, 1\\]"):
            ops.flip_polarity(e, p=bad, seed=1)
        with pytest.raises(ValueError, match="p must be in \\[0, 1\\]"):
            ops.time_reversal(e, p=bad, seed=1)
        with pytest.raises(ValueError, match="p must be in \\[0, 1\\]"):
            ops.flip_lr(e, (4, 4), p=bad, seed=1)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        ops.drop_event(e, 0.5, seed=1.7)  # truncated to seed 1 before
    with pytest.raises(TypeError, match="p must be a number"):
        ops.drop_event(e, "0.5", seed=1)
    with pytest.raises(TypeError, match="dtype must be a number type of at most 8 bytes in the machine's byte order"):
        ops.event_frame(e, (4, 4), dtype=">i4")
    with pytest.raises(TypeError, match="dtype must be a number type"):
        ops.voxel_grid(e, (4, 4), 2, dtype=object)
    with pytest.raises(TypeError, match="dtype must be a number type"):
        ops.event_frame(e, (4, 4), dtype=np.longdouble)
    with pytest.raises(ValueError, match="mask must have the sensor's shape"):
        ops.HotPixels((4, 4), np.zeros(16))
    with pytest.raises(ValueError, match="max_incr_per_pixel must be a finite number"):
        ops.prophesee_histo(e, (4, 4), max_incr_per_pixel=float("nan"))


def test_a_null_in_a_polars_column_is_named_as_a_null() -> None:
    frame = pl.DataFrame({"t": [0, None, 2], "x": [0, 1, 2], "y": [0, 0, 0], "p": [1, 0, 1]})
    with pytest.raises(ValueError, match="the t column holds 1 null"):  # "times in seconds?" before
        ops.event_frame(frame, (4, 4))
