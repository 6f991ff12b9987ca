"""Values, schema and dtypes against the C++ CLI's digest, for every format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import evlib
from conftest import DEMO, digest_of, frame_columns, skip_or_fail, writable_formats

FORMATS = [name for name, _ in writable_formats()]


def test_native_frame_has_the_cpp_schema_and_dtypes() -> None:
    frame = evlib.scan_events(DEMO)
    assert frame.collect_schema() == pl.Schema({"t": pl.Int64, "x": pl.UInt16, "y": pl.UInt16, "p": pl.UInt8})
    assert frame.collect().schema == frame.collect_schema()


def test_compat_layout_has_evlib_013_schema_and_maps_polarity() -> None:
    native = evlib.scan_events(DEMO).collect()
    compat = evlib._source.scan_frame(DEMO, layout="compat", polarity_values=(-1, 1)).collect()
    assert compat.schema == pl.Schema({"x": pl.Int16, "y": pl.Int16, "t": pl.Duration("us"), "polarity": pl.Int8})
    assert compat["t"].dt.total_microseconds().to_list() == native["t"].to_list()
    assert compat["polarity"].to_numpy().tolist() == (native["p"].to_numpy().astype(np.int8) * 2 - 1).tolist()


def test_empty_selection_keeps_the_schema() -> None:
    frame = evlib.scan_events(DEMO, t_start=0, t_end=1).collect()
    assert frame.height == 0
    assert frame.schema == evlib.scan_events(DEMO).collect_schema()
    compat = evlib._source.scan_frame(DEMO, layout="compat", t_start_us=0, t_end_us=1).collect()
    assert compat.height == 0 and compat.columns == ["x", "y", "t", "polarity"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_writable_format_decodes_to_the_cli_digest(fmt: str, generate, cli_info) -> None:
    path = generate(fmt, 30_000, 7, "--trigger-rate", "500") if fmt in ("evt2", "evt3", "hdf5", "aedat4") else generate(fmt, 30_000, 7)
    info = cli_info(path)
    frame = evlib.scan_events(path).collect()
    assert frame.height == info["events"]
    assert digest_of(frame_columns(frame)) == info["digest"]
    f = evlib.open(path)
    assert f.format == info["format"]
    assert (f.n_events, f.t_min, f.t_max) == (info["events"], info["t_min"], info["t_max"])
    assert len(f.triggers) == info["triggers"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_batches_of_every_format_concatenate_to_the_cli_digest(fmt: str, generate, cli_info) -> None:
    path = generate(fmt, 30_000, 7)
    batches = list(evlib.open(path).iter_batches(by_count=7_001))
    assert [len(b) for b in batches[:-1]] == [7_001] * (len(batches) - 1)
    columns = {k: np.concatenate([b.to_numpy()[k] for b in batches]) for k in ("t", "x", "y", "p")}
    assert digest_of(columns) == cli_info(path)["digest"]


REAL = [
    "evt3/evt3_test_pedestrians.raw",
    "evt2/evt2_sample.raw",
    "dat/NCARS_obj_004397_td.dat",
    "aedat2/IMU_translBoxes.aedat",
    "aedat4/tonic_sample.aedat4",
    "text/slider_depth_events_chunk.txt",
    "npy/evt3_test_pedestrians.expelliarmus.npy",
]


@pytest.mark.parametrize("name", REAL)
def test_real_recording_decodes_to_the_cli_digest(name: str, recordings: Path, cli_info) -> None:
    path = recordings / name
    if not path.is_file():
        skip_or_fail(f"missing real recording {name} (set EVLIB_RECORDINGS)")
    info = cli_info(path)
    frame = evlib.scan_events(path).collect()
    assert frame.height == info["events"]
    assert digest_of(frame_columns(frame)) == info["digest"]
    header = evlib.open(path)
    assert header.format == info["format"]
    if header.width is not None:  # else the CLI infers it from the events
        assert (header.width, header.height) == (info["width"], info["height"])


def test_header_is_a_dict_of_the_files_entries() -> None:
    f = evlib.open(DEMO)
    assert f.format == "evt3" and (f.width, f.height) == (1280, 720)
    assert isinstance(f.header, dict) and f.header
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in f.header.items())


def test_signed_polarity_gives_minus_one_and_plus_one() -> None:
    signed = evlib.scan_events(DEMO, signed_polarity=True).collect()
    native = evlib.scan_events(DEMO).collect()
    assert signed["p"].dtype == pl.Int8
    assert (signed["p"].to_numpy() == native["p"].to_numpy().astype(np.int8) * 2 - 1).all()
