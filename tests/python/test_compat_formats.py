"""evlib.formats, the writers, version() and the submodule names against the real evlib 0.13.2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import evlib
import evlib.filtering
import evlib.formats
import evlib.representations
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from reference import support
from reference.harness import Reference
from reference.support import Sample

reference = support.reference  # fixture
samples = support.samples  # fixture

EVLIB_0132_FORMAT_NAMES = [
    "Text", "HDF5", "AER", "AEDAT 1.0", "AEDAT 2.0", "AEDAT 3.1", "AEDAT 4.0",
    "EVT2", "EVT2.1", "EVT3", "Binary", "Unknown", "evt3", "",
]  # fmt: skip


@pytest.mark.parametrize("name", ["evt3", "hdf5", "text01"])
def test_formats_load_events_keeps_file_order_by_default_like_evlib_0132(
    reference: Reference, samples: dict[str, Sample], name: str
) -> None:
    path = samples[name].path
    ref = reference.call("formats.load_events", str(path))
    ours = evlib.formats.load_events(path)
    assert isinstance(ours, pl.LazyFrame)
    assert ref.frame is not None
    assert_frame_equal(ours.collect().drop("t"), ref.frame.drop("t"))


def _permuted_text(directory: Path) -> Path:
    """x y t p columns, a free-form title line and a comment, as header_lines must skip."""
    rows = [(3, 4, "0.000250", 1), (1, 2, "0.000500", 0), (7, 9, "0.001000", 1), (7, 9, "0.000750", 0)]
    path = directory / "permuted.txt"
    path.write_text("recorded by hand\n# x y t p\n" + "".join(f"{x} {y} {t} {p}\n" for x, y, t, p in rows))
    return path


@pytest.mark.parametrize("sort", [False, True])
def test_column_mapping_and_header_lines_read_like_evlib_0132(reference: Reference, tmp_path: Path, sort: bool) -> None:
    path = _permuted_text(tmp_path)
    kwargs: dict[str, Any] = {"x_col": 0, "y_col": 1, "t_col": 2, "p_col": 3, "header_lines": 2, "sort": sort}
    ref = reference.call("formats.load_events", str(path), **kwargs)
    assert ref.ok, ref.raw
    ours = evlib.formats.load_events(path, **kwargs).collect()
    assert ref.frame is not None
    assert_frame_equal(ours, ref.frame)


def test_header_lines_that_look_like_events_are_skipped(reference: Reference, tmp_path: Path) -> None:
    path = tmp_path / "numeric_header.txt"
    path.write_text("640 480 0 0\n0.000001 1 2 1\n0.000002 3 4 0\n")
    ref = reference.call("formats.load_events", str(path), header_lines=1)
    ours = evlib.formats.load_events(path, header_lines=1).collect()
    assert ref.frame is not None
    assert_frame_equal(ours, ref.frame)
    assert ours.height == 2


def _arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 500
    ts = np.concatenate([np.sort(rng.random(n - 6) * 100), [0.0, 1e-13, 123456.123456789, 1.0000005, 2.5, 1e9]])
    xs = rng.integers(0, 1280, n).astype(np.int64)
    ys = rng.integers(0, 720, n).astype(np.int64)
    ps = rng.integers(-1, 2, n).astype(np.int64)
    return xs, ys, ts, ps


def test_save_events_to_text_writes_the_bytes_evlib_0132_writes(reference: Reference, tmp_path: Path) -> None:
    xs, ys, ts, ps = _arrays()
    ref = reference.save("save_events_to_text", xs, ys, ts, ps, tmp_path / "ref.txt")
    assert ref.ok, ref.raw
    evlib.save_events_to_text(xs, ys, ts, ps, tmp_path / "ours.txt")
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "ref.txt").read_bytes()


def test_save_events_to_hdf5_writes_a_file_evlib_0132_reads_as_its_own(reference: Reference, tmp_path: Path) -> None:
    pytest.importorskip("h5py", reason="save_events_to_hdf5 writes evlib 0.13's layout with h5py")
    xs, ys, ts, ps = _arrays()
    assert reference.save("save_events_to_hdf5", xs, ys, ts, ps, tmp_path / "ref.h5").ok
    evlib.save_events_to_hdf5(xs, ys, ts, ps, tmp_path / "ours.h5")
    theirs_of_ref = reference.call("formats.load_events", str(tmp_path / "ref.h5")).frame
    theirs_of_ours = reference.call("formats.load_events", str(tmp_path / "ours.h5")).frame
    assert theirs_of_ref is not None and theirs_of_ours is not None
    assert_frame_equal(theirs_of_ours, theirs_of_ref)
    assert_frame_equal(
        evlib.load_events(tmp_path / "ours.h5", sort=False).collect(),
        evlib.load_events(tmp_path / "ref.h5", sort=False).collect(),
    )


@pytest.mark.parametrize("writer", ["save_events_to_text", "save_events_to_hdf5"])
def test_writers_refuse_arrays_of_different_lengths_like_evlib_0132(
    reference: Reference, tmp_path: Path, writer: str
) -> None:
    one, two = np.zeros(1, np.int64), np.zeros(2, np.int64)
    ref = reference.save(writer, two, one, one.astype(np.float64), one, tmp_path / "ref.out")
    assert not ref.ok
    with pytest.raises(ValueError) as raised:
        getattr(evlib, writer)(two, one, one.astype(np.float64), one, tmp_path / "ours.out")
    assert type(raised.value).__name__ == ref.error_type
    assert str(raised.value) == ref.error_message


@pytest.mark.parametrize("name", EVLIB_0132_FORMAT_NAMES)
def test_get_format_description_matches_evlib_0132(reference: Reference, name: str) -> None:
    assert evlib.get_format_description(name) == reference.call("get_format_description", name).value
    assert evlib.formats.get_format_description(name) == evlib.get_format_description(name)


def test_version_is_a_version_string_like_evlib_0132s(reference: Reference) -> None:
    assert isinstance(reference.call("version").value, str)
    assert isinstance(evlib.version(), str) and evlib.version()[0].isdigit()


def test_evlib_0132s_representations_names_are_all_there(reference: Reference) -> None:
    names = reference.call("module_all", "representations").value
    assert names and sorted(names) == sorted(evlib.representations.__all__)


def test_evlib_0132s_filtering_names_are_all_there(reference: Reference) -> None:
    names = reference.call("module_all", "filtering").value
    assert names and sorted(names) == sorted(evlib.filtering.__all__)


def test_top_level_names_of_evlib_0132s_loading_api_exist() -> None:
    for name in ("load_events", "formats", "filtering", "representations", "detect_format", "get_format_description",
                 "save_events_to_hdf5", "save_events_to_text", "version"):  # fmt: skip
        assert hasattr(evlib, name), name
