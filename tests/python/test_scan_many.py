"""evlib.scan_events over many files: one lazy frame equal to the per-file scans concatenated,
with a file column, filters and projections pushed into every file's C++ scan, streaming, and a
clear error when the files' sensors differ."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import evlib
from evlib import _source


@pytest.fixture(scope="module")
def files(generate: Callable[..., Path]) -> list[Path]:
    """Three recordings in three formats, one sensor size, clocks all starting at 0."""
    return [
        generate("evt3", 60_000, 21, "--rate", "1e6"),
        generate("dat", 50_000, 22, "--rate", "1e6"),
        generate("hdf5", 40_000, 23, "--rate", "1e6"),
    ]


def concatenated(paths: list[Path], **kwargs: object) -> pl.DataFrame:
    """The reference: each file scanned alone, with its path, one after the other."""
    return pl.concat(
        [evlib.scan_events(p, **kwargs).collect().with_columns(file=pl.lit(os.path.abspath(p))) for p in paths]
    )


def test_a_list_equals_the_per_file_scans_concatenated(files: list[Path]) -> None:
    frame = evlib.scan_events(files)
    names = [os.path.abspath(p) for p in files]
    assert frame.collect_schema() == pl.Schema(
        {"t": pl.Int64, "x": pl.UInt16, "y": pl.UInt16, "p": pl.UInt8, "file": pl.Enum(names)}
    )
    got = frame.collect()
    assert_frame_equal(got.with_columns(pl.col("file").cast(pl.String)), concatenated(files))


def test_streaming_engine_gives_the_same_rows(files: list[Path]) -> None:
    got = evlib.scan_events(files, file_column="string").collect(engine="streaming")
    assert_frame_equal(got, concatenated(files))


def test_a_recursive_glob_expands_sorted_and_file_column_can_be_left_out(files: list[Path], tmp_path: Path) -> None:
    copies = [tmp_path / "b" / "deep" / files[0].name, tmp_path / "a" / files[1].name, tmp_path / files[2].name]
    for source, copy in zip(files, copies):
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
    (tmp_path / "a" / "notes.txt").write_text("not matched")
    got = evlib.scan_events(str(tmp_path / "**" / "*-2[123]-*"), file_column=False).collect()
    assert got.columns == ["t", "x", "y", "p"]
    assert_frame_equal(got, concatenated(sorted(copies)).drop("file"))


def test_filters_and_projection_reach_every_file_scan(files: list[Path]) -> None:
    before = _source.recent_scans()  # a bounded deque: compare records (kept alive here), not lengths
    got = (
        evlib.scan_events(files)
        .filter((pl.col("t") >= 10_000) & (pl.col("t") < 30_000) & (pl.col("p") == 1))
        .select("t", "x", "file")
        .collect()
    )
    records = [r for r in _source.recent_scans() if not any(r is b for b in before)]
    assert sorted(r.path for r in records) == sorted(str(os.path.abspath(p)) for p in files)
    for record in records:
        assert (record.selection.t0, record.selection.t1) == (10_000, 30_000)
        assert record.selection.polarities == frozenset({1})
        assert "y" not in record.columns
    want = (
        concatenated(files)
        .filter((pl.col("t") >= 10_000) & (pl.col("t") < 30_000) & (pl.col("p") == 1))
        .select("t", "x", "file")
    )
    assert_frame_equal(got.with_columns(pl.col("file").cast(pl.String)), want)


def test_arguments_apply_to_every_file(files: list[Path]) -> None:
    got = evlib.scan_events(files, t_start=5_000, t_end=25_000, roi=(0, 0, 640, 360), polarity=0).collect()
    want = concatenated(files, t_start=5_000, t_end=25_000, roi=(0, 0, 640, 360), polarity=0)
    assert len(want) > 0
    assert_frame_equal(got.with_columns(pl.col("file").cast(pl.String)), want)


def test_one_file_has_a_file_column_only_when_asked(files: list[Path]) -> None:
    assert evlib.scan_events(files[0]).collect_schema().names() == ["t", "x", "y", "p"]
    assert evlib.scan_events([files[0]]).collect_schema().names() == ["t", "x", "y", "p"]
    one = evlib.scan_events(files[0], file_column=True).collect()
    assert_frame_equal(one.with_columns(pl.col("file").cast(pl.String)), concatenated(files[:1]))


def test_files_with_different_sensors_are_refused_by_name(files: list[Path], generate: Callable[..., Path]) -> None:
    small = generate("evt3", 5_000, 24, "--width", "320", "--height", "240")
    with pytest.raises(ValueError, match=rf"{small.name}: sensor 320 x 240, but .*{files[0].name} is 1280 x 720"):
        evlib.scan_events([files[0], small])
    mixed = evlib.scan_events([files[0], small], check_geometry=False).collect()
    assert len(mixed) == 65_000


def test_a_missing_file_or_empty_glob_is_named(files: list[Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no file matches"):
        evlib.scan_events(str(tmp_path / "*.raw"))
    with pytest.raises(OSError, match="nothing-here.raw"):
        evlib.scan_events([files[0], tmp_path / "nothing-here.raw"])
