"""Where evlib 0.13.2 loses or corrupts data, or refuses a file it could read, evlib does the
correct thing. Each test shows evlib 0.13.2's result next to ours; docs/compatibility.md lists
them (one section per test)."""

from __future__ import annotations

import pathlib
from pathlib import Path

import evlib
import numpy as np
import polars as pl
import pytest
from reference import fixtures, support
from reference.harness import Reference
from reference.support import native_microseconds, recording

reference = support.reference  # fixture

EVENTS = [(1000, 10, 20, 1), (1005, 11, 21, 0), (1100, 300, 250, 1), (70000, 0, 0, 0), (70001, 345, 259, 1)]


def rows(frame: pl.DataFrame) -> list[tuple[int, int, int, int]]:
    """(t µs, x, y, polarity) rows of a compat frame."""
    f = native_microseconds(frame)
    return list(zip(f["t"].to_list(), f["x"].to_list(), f["y"].to_list(), f["polarity"].to_list(), strict=True))


def signed(events: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    return [(t, x, y, 1 if on else -1) for t, x, y, on in events]


def test_text_times_are_exact_where_evlib_0132_truncates_them_1us_low(reference: Reference, tmp_path: Path) -> None:
    path = tmp_path / "times.txt"
    path.write_text("0.000001 1 1 1\n1.000001 2 2 0\n0.000003 3 3 1\n0.0000015 4 4 0\n")
    ref = reference.call("load_events", str(path), sort=False).frame
    assert ref is not None
    assert [r[0] for r in rows(ref)] == [1, 1_000_000, 3, 1]
    ours = evlib.load_events(path, sort=False).collect()
    assert [r[0] for r in rows(ours)] == [1, 1_000_001, 3, 2]


def _hdf5(reference: Reference, path: Path, t: list[int], p: list[int]) -> Path:
    """events/{t int64 µs, x, y uint16, p int8}, written by h5py in the reference environment."""
    xy = list(range(len(t)))
    datasets = {
        "events/t": ["int64", t],
        "events/x": ["uint16", xy],
        "events/y": ["uint16", xy],
        "events/p": ["int8", p],
    }
    assert reference.call("write_hdf5", str(path), datasets).ok
    return path


def test_hdf5_stored_minus_one_stays_off_where_evlib_0132_makes_it_on(reference: Reference, tmp_path: Path) -> None:
    path = _hdf5(reference, tmp_path / "signed.h5", [5, 6, 7], [-1, 1, -1])
    ref = reference.call("load_events", str(path), sort=False).frame
    assert ref is not None and ref["polarity"].to_list() == [1, 1, 1]
    assert evlib.load_events(path, sort=False).collect()["polarity"].to_list() == [-1, 1, -1]


def test_hdf5_float_seconds_are_read_as_seconds_where_evlib_0132_truncates_them_to_us(
    reference: Reference, tmp_path: Path
) -> None:
    path = tmp_path / "saved_by_evlib_0132.h5"
    xs, ys = np.array([1, 2, 3], np.int64), np.array([4, 5, 6], np.int64)
    ts, ps = np.array([0.5, 1.000001, 2.75]), np.array([-1, 1, 0], np.int64)
    assert reference.save("save_events_to_hdf5", xs, ys, ts, ps, path).ok
    ref = reference.call("load_events", str(path), sort=False).frame
    assert ref is not None
    assert rows(ref) == [(0, 1, 4, 1), (1, 2, 5, 1), (2, 3, 6, -1)]
    assert rows(evlib.load_events(path, sort=False).collect()) == [
        (500_000, 1, 4, -1),
        (1_000_001, 2, 5, 1),
        (2_750_000, 3, 6, -1),
    ]


def test_empty_hdf5_keeps_the_schema_where_evlib_0132_returns_no_columns(reference: Reference, tmp_path: Path) -> None:
    path = _hdf5(reference, tmp_path / "empty.h5", [], [])
    unsorted = reference.call("load_events", str(path), sort=False).frame
    assert unsorted is not None and unsorted.columns == []
    sorted_by_default = reference.call("load_events", str(path))
    assert not sorted_by_default.ok and sorted_by_default.stage == "collect"
    assert sorted_by_default.error_type == "ColumnNotFoundError"
    for sort in (False, True):
        ours = evlib.load_events(path, sort=sort).collect()
        assert ours.columns == ["x", "y", "t", "polarity"] and ours.height == 0


def test_aedat2_is_named_and_decoded_where_evlib_0132_calls_it_aedat31_and_reads_nothing(
    reference: Reference, tmp_path: Path
) -> None:
    path = fixtures.write_aedat2_davis346(tmp_path / "davis346.aedat", EVENTS)
    assert reference.call("detect_format", str(path)).value[0] == "AEDAT 3.1"
    ref = reference.call("load_events", str(path), sort=False).frame
    assert ref is not None and ref.height == 0
    assert evlib.detect_format(path)[0] == "AEDAT 2.0"
    assert rows(evlib.load_events(path, sort=False).collect()) == signed(EVENTS)


def test_real_aedat2_recording_decodes_where_evlib_0132_fails_on_its_bit_layout(reference: Reference) -> None:
    path = recording("aedat2/IMU_translBoxes.aedat")
    ref = reference.call("load_events", str(path))
    assert not ref.ok and "Coordinate out of bounds" in (ref.error_message or "")
    ours = evlib.load_events(path, sort=False).collect()
    assert ours.height == 162_771
    assert max(ours["x"].to_list()) < 240 and max(ours["y"].to_list()) < 180


def test_aedat31_is_decoded_where_evlib_0132_reads_nothing(reference: Reference, tmp_path: Path) -> None:
    path = fixtures.write_aedat31(tmp_path / "davis346.aedat", EVENTS)
    ref = reference.call("load_events", str(path), sort=False).frame
    assert ref is not None and ref.height == 0
    assert evlib.detect_format(path)[0] == "AEDAT 3.1"
    assert rows(evlib.load_events(path, sort=False).collect()) == signed(EVENTS)


def test_time_bound_between_microseconds_is_not_truncated(reference: Reference, tmp_path: Path) -> None:
    path = tmp_path / "edges.txt"
    path.write_text("0.000001 1 1 1\n0.000002 2 2 0\n0.000003 3 3 1\n")
    ref = reference.call("load_events", str(path), t_start=1.5e-6, t_end=2.5e-6).frame
    assert ref is not None and [r[0] for r in rows(ref)] == [1, 2]
    assert [r[0] for r in rows(evlib.load_events(path, t_start=1.5e-6, t_end=2.5e-6).collect())] == [2]


@pytest.mark.parametrize(
    "relative, events",
    [("dat/NCARS_obj_004397_td.dat", 4407), ("npy/NCARS_obj_004397_td.expelliarmus.npy", 4407)],
)
def test_dat_and_numpy_files_load_where_evlib_0132_fails(reference: Reference, relative: str, events: int) -> None:
    path = recording(relative)
    assert not reference.call("load_events", str(path)).ok
    ours = evlib.load_events(path, sort=False).collect()
    assert ours.height == events
    assert set(ours["polarity"].unique()) == {-1, 1}
    assert evlib.detect_format(path)[0] in ("DAT", "NumPy")


@pytest.mark.parametrize(
    "content",
    [
        "timestamp x y polarity\n0.1 1 2 1\n",  # a header row without '#'
        "0.1 1 2 1\n   \n0.2 3 4 0\n",  # a line of blanks
        "0.1,1,2,1\n0.2,3,4,0\n",  # commas
    ],
)
def test_text_that_evlib_0132_refuses_loads(reference: Reference, tmp_path: Path, content: str) -> None:
    path = tmp_path / "events.txt"
    path.write_text(content)
    ref = reference.call("load_events", str(path))
    assert not ref.ok and ref.error_type == "OSError"
    ours = evlib.load_events(path).collect()
    assert ours.height == content.count("0.") and ours["x"].to_list()[0] == 1


def test_path_objects_are_accepted_where_evlib_0132_wanted_str(reference: Reference, tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("0.1 1 2 1\n")
    assert reference.call("load_events", str(path)).ok
    assert evlib.load_events(pathlib.Path(path)).collect().height == 1
    assert evlib.detect_format(pathlib.Path(path))[0] == "Text"


def test_text_polarity_other_than_0_1_and_minus_1_is_read_as_on_or_off(reference: Reference, tmp_path: Path) -> None:
    path = tmp_path / "odd_polarity.txt"
    path.write_text("0.1 1 1 2\n0.2 2 2 0\n0.3 3 3 5\n")
    ref = reference.call("load_events", str(path), sort=False).frame
    assert ref is not None and ref["polarity"].to_list() == [2, 0, 5]
    assert evlib.load_events(path, sort=False).collect()["polarity"].to_list() == [1, 0, 1]


def test_sort_keeps_file_order_among_equal_times(reference: Reference, tmp_path: Path) -> None:
    path = tmp_path / "unsorted.txt"
    lines = [(0.3, 1), (0.1, 2), (0.2, 3), (0.1, 4), (0.2, 5), (0.1, 6)]
    path.write_text("".join(f"{t} {x} 0 1\n" for t, x in lines))
    ours = evlib.load_events(path).collect()
    assert ours["x"].to_list() == [2, 4, 6, 3, 5, 1]
    ref = reference.call("load_events", str(path)).frame
    assert ref is not None
    assert sorted(rows(ref)) == sorted(rows(ours))


def test_writers_take_any_array_like(tmp_path: Path) -> None:
    evlib.save_events_to_text([1, 2], [3, 4], [0.5, 0.25], [1, -1], tmp_path / "lists.txt")
    arrays = (np.array([1, 2]), np.array([3, 4]), np.array([0.5, 0.25]), np.array([1, -1]))
    evlib.save_events_to_text(*arrays, tmp_path / "arrays.txt")
    assert (tmp_path / "lists.txt").read_bytes() == (tmp_path / "arrays.txt").read_bytes()
    assert (tmp_path / "lists.txt").read_text().splitlines()[1] == "0.500000000000 1 3 1"


def test_aedat4_from_a_sensor_wider_than_1024_loads_where_evlib_0132_refuses_it(
    reference: Reference, tmp_path: Path
) -> None:
    native = tmp_path / "wide.txt"
    native.write_text("# t x y p\n1000 1279 719 1\n1001 1024 0 0\n1002 5 5 1\n")
    path = tmp_path / "wide.aedat4"
    evlib.convert(native, path, to="aedat4", width=1280, height=720)
    ref = reference.call("load_events", str(path))
    assert not ref.ok and "Coordinate out of bounds" in (ref.error_message or "")
    assert rows(evlib.load_events(path, sort=False).collect()) == [
        (1000, 1279, 719, 1),
        (1001, 1024, 0, -1),
        (1002, 5, 5, 1),
    ]


def test_text_evlib_0132_cannot_read_keeps_the_unit_its_layout_states(tmp_path: Path) -> None:
    prophesee = tmp_path / "prophesee.csv"
    prophesee.write_text("%geometry:640,480\n5,6,1,1000\n7,8,0,1500\n")
    assert rows(evlib.load_events(prophesee, sort=False).collect()) == [(1000, 5, 6, 1), (1500, 7, 8, 0)]
    named = tmp_path / "named.txt"
    named.write_text("t_us x y p\n1000 1 2 1\n")
    assert rows(evlib.load_events(named).collect()) == [(1000, 1, 2, 1)]


def test_bound_at_an_events_own_time_keeps_that_event(reference: Reference, tmp_path: Path) -> None:
    native = tmp_path / "two.txt"
    native.write_text("# t x y p\n1000000 1 1 1\n1000001 2 2 0\n")
    path = tmp_path / "two.raw"
    evlib.convert(native, path, to="evt3", width=8, height=8)
    window = {"t_start": 1.000001, "t_end": 1.000001}  # 1.000001 * 1e6 == 1000000.9999999999
    ref = reference.call("load_events", str(path), **window).frame
    assert ref is not None and [r[0] for r in rows(ref)] == [1_000_000]
    assert [r[0] for r in rows(evlib.load_events(path, **window).collect())] == [1_000_001]
