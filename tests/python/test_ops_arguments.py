"""Arguments of evlib.ops that do not fit a kernel binding's C++ type get an error that names the
argument (not nanobind's dump of the binding's signature, not an AttributeError, not garbage)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from evlib import ops

SENSOR = (16, 12)


def _events() -> dict[str, np.ndarray]:
    n = 50
    return {"t": np.arange(n, dtype=np.int64) * 100, "x": (np.arange(n) % 16).astype(np.uint16),
            "y": (np.arange(n) % 12).astype(np.uint16), "p": (np.arange(n) % 2).astype(np.uint8)}


E = _events()

# (call, the exception type, a word the message must hold)
BAD_CALLS: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "decimate n negative": (lambda: ops.decimate(E, -1, SENSOR), ValueError, "n must be at least 1"),
    "decimate n past uint32": (lambda: ops.decimate(E, 2**40, SENSOR), ValueError, "n must be at most"),
    "drop_event index_offset negative": (lambda: ops.drop_event(E, 0.5, seed=1, index_offset=-5), ValueError,
                                         "index_offset"),
    "time_jitter index_offset past uint64": (lambda: ops.time_jitter(E, 1.0, seed=1, index_offset=2**64), ValueError,
                                             "index_offset"),
    "spatial_jitter clip_outliers not a bool": (lambda: ops.spatial_jitter(E, SENSOR, clip_outliers="yes"), TypeError,
                                                "clip_outliers"),
    "Stcf include_self 2": (lambda: ops.Stcf(SENSOR, include_self=2), TypeError, "include_self"),
    "Stcf min_correlated past int32": (lambda: ops.Stcf(SENSOR, 100, 2**40), ValueError, "min_correlated"),
    "Stcf correlation_time fraction": (lambda: ops.Stcf(SENSOR, 100.5), ValueError, "correlation_time"),
    "Refractory period past int64": (lambda: ops.Refractory(SENSOR, 2**63), ValueError, "period"),
    "Refractory period NaN": (lambda: ops.Refractory(SENSOR, float("nan")), ValueError, "period"),
    "Refractory convention unknown": (lambda: ops.Refractory(SENSOR, 10, convention="jaer"), ValueError,
                                      "'tonic', 'dv', 'evlib'"),
    "BackgroundActivity duration a string": (lambda: ops.BackgroundActivity(SENSOR, "10"), TypeError, "duration"),
    "TimeSurface polarities negative": (lambda: ops.TimeSurface(SENSOR, 10, 5.0, polarities=-1), ValueError,
                                        "polarities"),
    "TimeSurface include_incomplete None": (lambda: ops.TimeSurface(SENSOR, 10, 5.0, include_incomplete=None),
                                            TypeError, "include_incomplete"),
    "time_surface tau a string": (lambda: ops.time_surface(E, SENSOR, 10, "5"), TypeError, "tau"),
    "LastTimestampMap split_polarity a tuple": (lambda: ops.LastTimestampMap(SENSOR, split_polarity=(1,)), TypeError,
                                                "split_polarity"),
    "fast_decay subdivision_factor negative": (lambda: ops.fast_decay(E, SENSOR, subdivision_factor=-4), ValueError,
                                               "subdivision_factor"),
    "event_frame convention unknown": (lambda: ops.event_frame(E, SENSOR, time_window=100, convention="rvt"),
                                       ValueError, "convention"),
    "event_frame overflow unknown": (lambda: ops.event_frame(E, SENSOR, overflow="clip"), ValueError, "overflow"),
    "event_frame polarities negative": (lambda: ops.event_frame(E, SENSOR, polarities=-1), ValueError, "polarities"),
    "event_frame out not an array": (lambda: ops.event_frame(E, SENSOR, out=[0, 0]), TypeError, "out"),
    "slice_events start_time past int64": (lambda: ops.slice_events(E, time_window=100, start_time=2**63), ValueError,
                                           "start_time"),
    "slice_events include_incomplete a string": (lambda: ops.slice_events(E, time_window=100, include_incomplete="no"),
                                                 TypeError, "include_incomplete"),
    "rvt_count_window count negative": (lambda: ops.rvt_count_window(E["t"], 1000, -1), ValueError, "count"),
    "rvt_time_window times in seconds": (lambda: ops.rvt_time_window(E["t"] / 1e6, 1, 1), TypeError, "integers"),
    "stacked_histogram bins past uint32": (lambda: ops.stacked_histogram(E, SENSOR, bins=2**32), ValueError, "bins"),
    "stacked_histogram fastmode None": (lambda: ops.stacked_histogram(E, SENSOR, fastmode=None), TypeError,
                                        "fastmode"),
    "stacked_histogram out a list": (lambda: ops.stacked_histogram(E, SENSOR, out=[]), TypeError, "out"),
    "voxel_grid polarity unknown": (lambda: ops.voxel_grid(E, SENSOR, 3, polarity="on"), ValueError, "polarity"),
    "voxel_grid n_time_bins negative": (lambda: ops.voxel_grid(E, SENSOR, -1), ValueError, "n_time_bins"),
    "prophesee_histo layout unknown": (lambda: ops.prophesee_histo(E, SENSOR, layout="NCHW"), ValueError, "layout"),
    "prophesee_diff out an int": (lambda: ops.prophesee_diff(E, SENSOR, out=0), TypeError, "out"),
    "prophesee_event_cube delta_t past int64": (lambda: ops.prophesee_event_cube(E, SENSOR, 2**64, 2), ValueError,
                                                "delta_t"),
    "prophesee_event_cube num_utbins negative": (lambda: ops.prophesee_event_cube(E, SENSOR, 100, -1), ValueError,
                                                 "num_utbins"),
    "drop_by_time origin unknown": (lambda: ops.drop_by_time(E, 0.2, seed=1, origin="last"), ValueError, "origin"),
    "uniform_noise n negative": (lambda: ops.uniform_noise(E, SENSOR, -3, seed=1), ValueError, "n must be at least 0"),
    "time_skew NaN coefficient": (lambda: ops.time_skew(E, float("nan")), ValueError, "int64 range"),
    "time_skew past int64": (lambda: ops.time_skew(E, 1e30), ValueError, "int64 range"),
    "two-dimensional x column": (lambda: ops.voxel_grid(dict(E, x=E["x"].reshape(5, 10)), SENSOR, 2), ValueError,
                                 "one-dimensional"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_an_argument_that_does_not_fit_gets_an_error_naming_it(case: str) -> None:
    call, error, words = BAD_CALLS[case]
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    assert words in message
    assert "incompatible function arguments" not in message


def test_whole_numbers_given_as_floats_or_numpy_integers_are_taken() -> None:
    by_int = ops.voxel_grid(E, SENSOR, 3)
    np.testing.assert_array_equal(ops.voxel_grid(E, SENSOR, 3.0), by_int)
    np.testing.assert_array_equal(ops.voxel_grid(E, SENSOR, np.int64(3)), by_int)
    kept = ops.Refractory(SENSOR, 1e3).keep_mask(E)
    np.testing.assert_array_equal(kept, ops.Refractory(SENSOR, 1000).keep_mask(E))


def test_flags_given_as_numpy_bools_or_zero_and_one_are_taken() -> None:
    with_true = ops.time_surface(E, SENSOR, 1000, 500.0, include_incomplete=True)
    np.testing.assert_array_equal(ops.time_surface(E, SENSOR, 1000, 500.0, include_incomplete=np.True_), with_true)
    np.testing.assert_array_equal(ops.time_surface(E, SENSOR, 1000, 500.0, include_incomplete=1), with_true)
    assert ops.LastTimestampMap(SENSOR, split_polarity=0).timestamps().shape == (12, 16)


def test_time_reversal_refuses_times_whose_span_passes_int64() -> None:
    lowest, highest = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    events = {"t": np.array([lowest, 0, highest]), "x": np.zeros(3, np.uint16), "y": np.zeros(3, np.uint16),
              "p": np.ones(3, np.uint8)}
    with pytest.raises(ValueError, match="2\\^63"):
        ops.time_reversal(events, 1.0, seed=1)
    near_top = dict(events, t=np.array([highest - 10, highest - 5, highest]))
    np.testing.assert_array_equal(ops.time_reversal(near_top, 1.0, seed=1)["t"], [0, 5, 10])


def test_time_jitter_refuses_to_move_a_time_past_int64() -> None:
    events = {"t": np.array([0, np.iinfo(np.int64).max - 5]), "x": np.zeros(2, np.uint16),
              "y": np.zeros(2, np.uint16), "p": np.ones(2, np.uint8)}
    with pytest.raises(OverflowError, match="int64"):
        ops.time_jitter(events, 1.0, seed=1)


def test_zero_dimensional_arrays_decimals_and_fractions_are_taken_as_numbers() -> None:
    from decimal import Decimal
    from fractions import Fraction

    by_int = ops.voxel_grid(E, SENSOR, 3)
    for three in (np.array(3), np.array(3.0), Decimal("3"), Fraction(6, 2)):
        np.testing.assert_array_equal(ops.voxel_grid(E, SENSOR, three), by_int)
    kept = ops.Refractory(SENSOR, 1000).keep_mask(E)
    np.testing.assert_array_equal(ops.Refractory(SENSOR, np.array(1000)).keep_mask(E), kept)
    surfaces = ops.time_surface(E, SENSOR, 1000, 500.0)
    np.testing.assert_array_equal(ops.time_surface(E, SENSOR, 1000, np.array(500.0)), surfaces)
    np.testing.assert_array_equal(ops.time_surface(E, SENSOR, 1000, 500.0, include_incomplete=np.array(False)),
                                  surfaces)
    with pytest.raises(ValueError, match="whole number"):
        ops.voxel_grid(E, SENSOR, Fraction(7, 2))


def test_an_integral_float_count_cutoff_reaches_the_kernel_as_an_int() -> None:
    np.testing.assert_array_equal(ops.stacked_histogram(E, SENSOR, count_cutoff=10.0),
                                  ops.stacked_histogram(E, SENSOR, count_cutoff=10))


def test_time_skew_takes_a_result_of_exactly_minus_two_to_the_63() -> None:
    events = dict(E, t=np.array([-(2**62)] * len(E["t"]), dtype=np.int64))
    assert (ops.time_skew(events, 2.0)["t"] == np.iinfo(np.int64).min).all()
