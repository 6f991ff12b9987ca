"""Predicates pushed into the C++ scan give the same rows as filtering after a full load, and
the scan's counters show that a pushed time window decodes less."""

from __future__ import annotations

import datetime
import functools
import operator

import polars as pl
from polars.testing import assert_frame_equal
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evlib
from evlib import _source
from conftest import DEMO

FULL = evlib.scan_events(DEMO).collect()
COMPAT_FULL = _source.scan_frame(DEMO, layout="compat", polarity_values=(-1, 1)).collect()
T0, T1 = FULL["t"].min(), FULL["t"].max()
# Small files decode in one piece; these options make the source stream in many small chunks.
STREAMED = {"streaming_threshold": 0, "chunk_events": 3_000}


def comparisons(column: str, lo: int, hi: int) -> st.SearchStrategy[pl.Expr]:
    value = st.integers(lo - 5, hi + 5)
    ops = st.sampled_from([operator.ge, operator.gt, operator.lt, operator.le, operator.eq])
    compare = st.builds(lambda op, v: op(pl.col(column), v), ops, value)
    flipped = st.builds(lambda op, v: op(pl.lit(v), pl.col(column)), ops, value)
    between = st.builds(
        lambda a, b, closed: pl.col(column).is_between(min(a, b), max(a, b), closed=closed),
        value, value, st.sampled_from(["both", "left", "right", "none"]),
    )  # fmt: skip
    floats = st.builds(lambda op, v: op(pl.col(column), v + 0.5), ops, value)
    return st.one_of(compare, flipped, between, floats)


NATIVE_TERMS = st.one_of(
    comparisons("t", T0, T1),
    comparisons("x", 0, 1280),
    comparisons("y", 0, 720),
    comparisons("p", 0, 1),
    st.just(pl.col("x") % 3 == 1),  # not pushable: still applied
    st.builds(lambda v: (pl.col("x") < v) | (pl.col("y") < v), st.integers(0, 700)),
    st.builds(lambda v: ~(pl.col("t") < v), st.integers(T0, T1)),
    st.builds(lambda v: pl.col("x").cast(pl.Int32) >= v, st.integers(0, 1300)),
    st.builds(lambda v: pl.col("p").is_in([v]), st.integers(0, 1)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(NATIVE_TERMS, min_size=1, max_size=4),
    st.sampled_from([None, ["t"], ["x", "p"], ["y"]]),
    st.sampled_from([{}, STREAMED]),
)
def test_native_pushdown_equals_filter_after_load(terms: list[pl.Expr], columns: list[str] | None, how: dict) -> None:
    predicate = functools.reduce(operator.and_, terms)
    lazy = evlib.scan_events(DEMO, **how).filter(predicate)
    expected = FULL.filter(predicate)
    if columns is not None:
        lazy, expected = lazy.select(columns), expected.select(columns)
    assert lazy.collect().equals(expected)


COMPAT_TERMS = st.one_of(
    st.builds(lambda v: pl.col("t").dt.total_microseconds() >= v, st.integers(T0 - 5, T1 + 5)),
    st.builds(lambda v: pl.col("t").dt.total_microseconds() <= v, st.integers(T0 - 5, T1 + 5)),
    st.builds(lambda v: pl.col("t") < datetime.timedelta(microseconds=v), st.integers(T0 - 5, T1 + 5)),
    st.builds(lambda v: pl.col("t") >= pl.duration(milliseconds=v), st.integers(T0 // 1000, T1 // 1000 + 1)),
    comparisons("x", -3, 1280),
    comparisons("y", -3, 720),
    comparisons("polarity", -2, 2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COMPAT_TERMS, min_size=1, max_size=4), st.booleans(), st.sampled_from([{}, STREAMED]))
def test_compat_pushdown_equals_filter_after_load(terms: list[pl.Expr], sort: bool, how: dict) -> None:
    predicate = functools.reduce(operator.and_, terms)
    lazy = _source.scan_frame(DEMO, layout="compat", polarity_values=(-1, 1), sort=sort, **how).filter(predicate)
    assert lazy.collect().equals(COMPAT_FULL.filter(predicate))


def test_bounds_found_in_a_predicate_reach_the_scan() -> None:
    predicate = (pl.col("t") >= T0 + 1000) & (pl.col("t") < T0 + 2000) & pl.col("x").is_between(10, 19) & (pl.col("p") == 1)
    evlib.scan_events(DEMO).filter(predicate).collect()
    pushed = _source.recent_scans()[-1].selection
    assert (pushed.t0, pushed.t1, pushed.x0, pushed.x1, pushed.polarities) == (T0 + 1000, T0 + 2000, 10, 20, frozenset({1}))


def test_a_disjunction_pushes_nothing_but_is_applied() -> None:
    predicate = (pl.col("x") < 5) | (pl.col("y") < 5)
    result = evlib.scan_events(DEMO).filter(predicate).collect()
    assert _source.recent_scans()[-1].selection == _source.Selection()
    assert result.equals(FULL.filter(predicate))


def test_projection_decodes_only_the_columns_asked_for() -> None:
    frame = evlib.scan_events(DEMO).select("x").collect()
    assert frame.columns == ["x"] and frame.height == FULL.height
    assert _source.recent_scans()[-1].columns == ("x",)


def test_head_stops_the_scan_early(generate) -> None:
    path = generate("evt3", 2_000_000, 3)
    evlib.scan_events(path).head(10).collect()
    assert _source.recent_scans()[-1].bytes_done < path.stat().st_size / 2


@pytest.mark.parametrize("how", [{}, STREAMED], ids=["one-piece", "streamed"])
def test_time_window_decodes_fewer_words_than_the_whole_file(how: dict, generate) -> None:
    path = generate("evt3", 3_000_000, 5)
    whole = evlib.scan_events(path, **how).collect()  # builds the time index on the way
    full_words = _source.recent_scans()[-1].stats["words"]
    t_lo, t_hi = whole["t"].quantile(0.40), whole["t"].quantile(0.45)
    window = evlib.scan_events(path, **how).filter(pl.col("t").is_between(t_lo, t_hi)).collect()
    record = _source.recent_scans()[-1]
    assert window.equals(whole.filter(pl.col("t").is_between(t_lo, t_hi)))
    assert record.stats["words"] < full_words / 5
    assert record.events < whole.height / 5


def test_load_events_time_window_decodes_only_its_index_segments(generate) -> None:
    path = generate("evt3", 3_000_000, 6)
    evlib.scan_events(path).select(pl.len()).collect()
    full_words = _source.recent_scans()[-1].stats["words"]
    whole = _source.scan_frame(path, layout="compat").collect()
    t_mid = whole["t"].dt.total_microseconds().median() / 1e6
    frame = evlib.load_events(str(path), t_start=t_mid, t_end=t_mid + 0.001).collect()
    assert frame.height > 0
    assert _source.recent_scans()[-1].stats["words"] < full_words / 10


@pytest.mark.parametrize("polarity", [0, 1])
def test_polarity_argument_keeps_one_polarity(polarity: int) -> None:
    frame = evlib.scan_events(DEMO, polarity=polarity).collect()
    assert frame.equals(FULL.filter(pl.col("p") == polarity))


def test_roi_and_time_arguments_are_half_open() -> None:
    frame = evlib.scan_events(DEMO, t_start=T0 + 100, t_end="5.01s", roi=(100, 200, 300, 400)).collect()
    expected = FULL.filter(
        (pl.col("t") >= T0 + 100) & (pl.col("t") < 5_010_000) & pl.col("x").is_between(100, 299) & pl.col("y").is_between(200, 399)
    )
    assert frame.equals(expected)


@pytest.mark.parametrize("how", [{}, STREAMED], ids=["one-piece", "streamed"])
def test_sort_marks_t_sorted_without_sorting_a_file_in_time_order(how: dict) -> None:
    frame = _source.scan_frame(DEMO, layout="compat", sort=True, **how).collect()
    assert _source.recent_scans()[-1].t_sorted
    assert frame["t"].flags["SORTED_ASC"]
    assert frame.equals(COMPAT_FULL.with_columns(pl.col("polarity").replace_strict({-1: 0, 1: 1}, return_dtype=pl.Int8)))


@pytest.mark.parametrize("how", [{}, {"streaming_threshold": 0, "chunk_events": 2}], ids=["one-piece", "streamed"])
def test_sort_sorts_stably_a_file_whose_time_goes_back(how: dict, tmp_path) -> None:
    rows = [(30, 1, 1, 1), (10, 2, 2, 0), (30, 3, 3, 0), (20, 4, 4, 1), (10, 5, 5, 1)]
    path = tmp_path / "shuffled.csv"
    path.write_text("".join(f"{t},{x},{y},{p}\n" for t, x, y, p in rows))
    frame = _source.scan_frame(path, layout="compat", polarity_values=(-1, 1), sort=True, **how).collect()
    assert not _source.recent_scans()[-1].t_sorted
    assert frame["t"].dt.total_microseconds().to_list() == [10, 10, 20, 30, 30]
    assert frame["x"].to_list() == [2, 5, 4, 1, 3]  # equal times keep the file's order
    assert frame["t"].flags["SORTED_ASC"]
    unsorted = _source.scan_frame(path, layout="compat", sort=False).collect()
    assert unsorted["x"].to_list() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("predicate", [
    pl.col("t") < 1e19, pl.col("t") > 2**63 - 1, pl.col("t") >= -1e19, pl.col("t").is_between(-1e30, 1e30),
    pl.col("t") < float("inf"), pl.col("t") > 5_840_000.5,
])
def test_time_bounds_past_int64_or_fractional_push_down_as_the_predicate_filters(predicate: pl.Expr) -> None:
    # The bound reached the scan unclamped (or as a float): nanobind's signature dump on a valid query.
    pushed = evlib.scan_events(DEMO).filter(predicate).collect()
    assert_frame_equal(pushed, evlib.scan_events(DEMO).collect().filter(predicate))
