"""evlib.convert and evlib.save: every writable format, from frames, arrays and batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import evlib
from conftest import DEMO, digest_of, frame_columns, writable_formats

FULL = evlib.scan_events(DEMO).collect()
DEMO_DIGEST = digest_of(frame_columns(FULL))


@pytest.mark.parametrize("fmt,extension", writable_formats())
def test_convert_to_every_writable_format_keeps_the_events(fmt: str, extension: str, tmp_path: Path) -> None:
    out = tmp_path / f"out{extension}"
    holds_triggers = next(f for f in evlib._core.formats() if f["name"] == fmt)["holds_triggers"]
    written = evlib.convert(DEMO, out, to=fmt, drop_triggers=not holds_triggers)
    assert written == 50_000
    assert evlib.open(out).format == fmt
    assert digest_of(frame_columns(evlib.scan_events(out).collect())) == DEMO_DIGEST


def test_convert_with_a_window_writes_only_the_window(tmp_path: Path) -> None:
    out = tmp_path / "window.raw"
    evlib.convert(DEMO, out, t_start="5.005s", t_end="5.010s", roi=(0, 0, 640, 720))
    expected = FULL.filter(pl.col("t").is_between(5_005_000, 5_009_999) & (pl.col("x") < 640))
    assert evlib.scan_events(out).collect().equals(expected)


def test_convert_refuses_to_drop_triggers_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(evlib.InvalidArgumentError, match="trigger"):
        evlib.convert(DEMO, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_convert_refuses_to_replace_a_file_unless_asked(tmp_path: Path) -> None:
    out = tmp_path / "twice.raw"
    evlib.convert(DEMO, out)
    with pytest.raises(evlib.Error):
        evlib.convert(DEMO, out)
    assert evlib.convert(DEMO, out, overwrite=True) == 50_000


@pytest.mark.parametrize(
    "make",
    [
        lambda: FULL,
        lambda: FULL.lazy(),
        lambda: evlib._source.scan_frame(DEMO, layout="compat", polarity_values=(-1, 1)).collect(),
        lambda: {k: FULL[k].to_numpy() for k in ("t", "x", "y", "p")},
        lambda: evlib.to_structured(next(iter(evlib.open(DEMO).iter_batches(by_count=50_000)))),
        lambda: evlib.open(DEMO).iter_batches(by_count=7_000),
        lambda: (pl.DataFrame(b) for b in evlib.open(DEMO).iter_batches(by_count=9_000)),
    ],
    ids=["frame", "lazy", "compat-frame", "numpy-dict", "structured", "batches", "frames"],
)
def test_save_writes_frames_arrays_and_batches(make, tmp_path: Path) -> None:
    out = tmp_path / "saved.raw"
    assert evlib.save(make(), out, width=1280, height=720) == 50_000
    assert digest_of(frame_columns(evlib.scan_events(out).collect())) == DEMO_DIGEST


def test_save_infers_the_geometry_a_format_needs(tmp_path: Path) -> None:
    out = tmp_path / "inferred.aedat4"
    evlib.save(FULL, out)
    f = evlib.open(out)
    assert (f.width, f.height) == (int(FULL["x"].max()) + 1, int(FULL["y"].max()) + 1)


def test_save_refuses_time_going_back(tmp_path: Path) -> None:
    shuffled = FULL.sample(fraction=1.0, shuffle=True, seed=3)
    with pytest.raises(evlib.Error):
        evlib.save(shuffled, tmp_path / "bad.raw", width=1280, height=720)
    assert not (tmp_path / "bad.raw").exists()


def test_save_keeps_triggers(tmp_path: Path) -> None:
    out = tmp_path / "triggers.raw"
    triggers = evlib.open(DEMO).triggers
    evlib.save(FULL, out, width=1280, height=720, triggers=triggers)
    assert evlib.open(out).triggers.equals(triggers)


def test_structured_array_has_tonics_dtype() -> None:
    batch = next(iter(evlib.open(DEMO).iter_batches(by_count=1000)))
    events = batch.to_structured()
    assert events.dtype == np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
    native = batch.to_numpy()
    assert (events["t"] == native["t"]).all() and (events["p"] == (native["p"] == 1)).all()


def test_pandas_conversion_keeps_values() -> None:
    batch = next(iter(evlib.open(DEMO).iter_batches(by_count=1000)))
    frame = batch.to_pandas()
    assert list(frame.columns) == ["t", "x", "y", "p"]
    assert (frame["x"].to_numpy() == batch.to_numpy()["x"]).all()
