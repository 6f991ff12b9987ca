"""Predicates pushed into the C++ scan give the same rows as filtering after a full load, and
the scan's counters show that a pushed time window decodes less."""

from __future__ import annotations

import datetime
import functools
import operator

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evlib
from evlib import _source
from conftest import DEMO

FULL = evlib.scan_events(DEMO).collect()
COMPAT_FULL = _source.scan_frame(DEMO, layout="compat", polarity_values=(-1, 1)).collect()
T0, T1 = FULL["t"].min(), FULL["t"].max()


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
@given(st.lists(NATIVE_TERMS, min_size=1, max_size=4), st.sampled_from([None, ["t"], ["x", "p"], ["y"]]))
def test_native_pushdown_equals_filter_after_load(terms: list[pl.Expr], columns: list[str] | None) -> None:
    predicate = functools.reduce(operator.and_, terms)
    lazy = evlib.scan_events(DEMO).filter(predicate)
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
@given(st.lists(COMPAT_TERMS, min_size=1, max_size=4), st.booleans())
def test_compat_pushdown_equals_filter_after_load(terms: list[pl.Expr], sort: bool) -> None:
    predicate = functools.reduce(operator.and_, terms)
    lazy = _source.scan_frame(DEMO, layout="compat", polarity_values=(-1, 1), sort=sort).filter(predicate)
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


def test_time_window_decodes_fewer_words_than_the_whole_file(generate) -> None:
    path = generate("evt3", 3_000_000, 5)
    whole = evlib.scan_events(path).collect()  # builds the time index on the way
    full_words = _source.recent_scans()[-1].stats["words"]
    t_lo, t_hi = whole["t"].quantile(0.40), whole["t"].quantile(0.45)
    window = evlib.scan_events(path).filter(pl.col("t").is_between(t_lo, t_hi)).collect()
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
