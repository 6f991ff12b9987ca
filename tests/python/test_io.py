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


def test_convert_never_replaces_its_own_input_even_when_asked_to_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "in.raw"
    evlib.convert(DEMO, source)
    kept = source.read_bytes()
    link = tmp_path / "link.npy"
    link.symlink_to(source)
    for out in (source, link):
        with pytest.raises(evlib.FileError, match="is the input"):
            evlib.convert(source, out, overwrite=True)
    assert source.read_bytes() == kept


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


@pytest.mark.parametrize(("suffix", "fmt", "bits"), [(".raw", "evt3", 24), (".raw", "evt2", 34)])
def test_save_and_convert_warn_when_a_raw_file_will_read_back_with_earlier_times(
        tmp_path: Path, suffix: str, fmt: str, bits: int) -> None:
    first = 3 << bits | 12345  # Unix-like microseconds, as AEDAT 4.0 files hold
    events = {"t": np.array([first, first + 7]), "x": np.array([1, 2], np.uint16), "y": np.array([1, 2], np.uint16),
              "p": np.array([0, 1], np.uint8)}
    with pytest.warns(evlib.TimeWrapWarning, match=f"modulo 2\\^{bits}.*{3 << bits} us earlier"):
        evlib.save(events, tmp_path / f"a{suffix}", format=fmt, width=8, height=8)
    assert evlib.load_events(tmp_path / f"a{suffix}").collect()["t"].dt.total_microseconds().to_list() == [12345, 12352]
    evlib.save(events, tmp_path / "a.npy")
    with pytest.warns(evlib.TimeWrapWarning):
        evlib.convert(tmp_path / "a.npy", tmp_path / f"b{suffix}", to=fmt, width=8, height=8)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # times below 2^bits: no warning
        evlib.save({**events, "t": np.array([5, 12])}, tmp_path / f"c{suffix}", format=fmt, width=8, height=8)


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


def test_a_header_byte_that_is_not_utf8_does_not_make_the_file_unreadable(generate, tmp_path: Path) -> None:
    # nanobind's strict conversion of the header failed every entry point ("conversion error!").
    source = generate("evt3")
    path = tmp_path / "latin1.raw"
    path.write_bytes(b"% site Caf\xe9\n" + source.read_bytes())
    f = evlib.open(path)
    assert f.header["site"] == "Caf\ufffd"
    assert f.n_events == evlib.open(source).n_events
    assert evlib.load_events(path).collect().height == f.n_events


@pytest.mark.parametrize(("column", "values", "words"), [
    ("t", [1.5, 2.7], "fractions"), ("x", [-1.0, 7.0], "outside uint16"), ("x", [float("nan"), 2.0], "NaN"),
    ("t", [1e30, 2.0], "outside int64"), ("y", [70000.0, 1.0], "outside uint16"),
])
def test_save_and_to_structured_refuse_float_columns_they_would_cast_to_other_values(
        tmp_path: Path, column: str, values: list[float], words: str) -> None:
    # Cast before: x -1.0 stored as 65535, NaN as 0, t 1e30 as INT64_MIN, t 1.5 as 1.
    events: dict[str, list[float]] = {"t": [1, 2], "x": [1, 2], "y": [3, 4], "p": [0, 1]}
    events[column] = values
    with pytest.raises(ValueError, match=words):
        evlib.save(events, tmp_path / "f.npy")
    with pytest.raises(ValueError, match=words):
        evlib.to_structured(events)
    assert not (tmp_path / "f.npy").exists()


def test_to_structured_refuses_a_plain_dtype_and_fields_too_narrow_for_the_values() -> None:
    events = {"t": [1, 2], "x": [707, 2], "y": [3, 4], "p": [0, 1]}
    with pytest.raises(TypeError, match="structured"):
        evlib.to_structured(events, np.int64)  # was uninitialised memory
    with pytest.raises(ValueError, match="int8"):
        evlib.to_structured(events, [("x", np.int8), ("t", np.int64)])  # was 707 -> -61
    exact = evlib.to_structured({**events, "t": [1.0, 2.0]})  # integral floats are taken
    assert exact["t"].tolist() == [1, 2] and exact["x"].tolist() == [707, 2]


def test_a_polarity_selection_that_can_match_nothing_is_refused_and_minus_one_selects_off_when_signed() -> None:
    # scan_events(polarity=2 / "1" / 1.5) returned no rows, and polarity=-1 with signed_polarity too.
    off = evlib.scan_events(DEMO, polarity=0).collect().height
    assert 0 < off < 50_000
    signed = evlib.scan_events(DEMO, signed_polarity=True, polarity=-1).collect()
    assert signed.height == off and signed["p"].unique().to_list() == [-1]
    for bad in (2, "1", 1.5, -1):
        with pytest.raises(ValueError, match="polarity must be"):
            evlib.scan_events(DEMO, polarity=bad)
    with pytest.raises(ValueError, match="signed_polarity"):
        evlib.scan_events(DEMO, signed_polarity=True, polarity=0)


@pytest.mark.parametrize(("options", "error", "words"), [
    ({"width": -1}, ValueError, "width"), ({"width": 2**70}, ValueError, "width"), ({"width": 1.5}, ValueError, "width"),
    ({"threads": 2**70}, ValueError, "threads"), ({"threads": "2"}, TypeError, "threads"),
    ({"memory_limit": -1}, ValueError, "memory_limit"), ({"chunk_events": 2**70}, ValueError, "chunk_events"),
    ({"strict": "yes"}, TypeError, "strict"), ({"format": 3}, TypeError, "format"), ({"config": "x"}, TypeError, "LoadConfig"),
])
def test_read_options_that_do_not_fit_get_an_error_naming_them(options: dict, error: type, words: str) -> None:
    # nanobind's signature dump (or an AttributeError for config=) before.
    with pytest.raises(error, match=words) as raised:
        evlib.open(DEMO, **options)
    assert "incompatible function arguments" not in str(raised.value)


def test_save_takes_header_pairs_and_trigger_dicts_and_refuses_header_line_breaks(tmp_path: Path) -> None:
    # header=[(k, v)] and triggers={...} raised AttributeError; a line break in a header value
    # ended its line and put the rest on a line of its own.
    events = {"t": np.array([1, 2]), "x": np.array([1, 2], np.uint16), "y": np.array([1, 2], np.uint16),
              "p": np.array([0, 1], np.uint8)}
    evlib.save(events, tmp_path / "a.raw", width=4, height=4, header=[("site", "lab")],
               triggers={"t": [1], "channel": [0], "value": [1]})
    f = evlib.open(tmp_path / "a.raw")
    assert f.header["site"] == "lab" and f.triggers["t"].to_list() == [1]
    with pytest.raises(ValueError, match="line break"):
        evlib.save(events, tmp_path / "b.raw", width=4, height=4, header={"a\nb": "c"})
    with pytest.raises(TypeError, match="header"):
        evlib.save(events, tmp_path / "c.raw", width=4, height=4, header={1: 2})
    assert not (tmp_path / "b.raw").exists() and not (tmp_path / "c.raw").exists()


def test_bytes_paths_are_read_and_names_that_are_not_utf8_get_a_clear_error(tmp_path: Path) -> None:
    import os
    import shutil

    from evlib import render

    # A bytes path was taken as a list of paths (ints) by scan_events and gave a nanobind
    # signature dump elsewhere; a name of raw bytes (legal on Linux) gave the dump everywhere.
    expected = evlib.open(DEMO).n_events
    assert evlib.open(os.fsencode(DEMO)).n_events == expected
    assert evlib.scan_events(os.fsencode(DEMO)).select("t").collect().height == expected
    assert next(iter(render.frames(os.fsencode(DEMO))))[1].ndim == 3
    pipeline = evlib.ops.Pipeline([evlib.ops.Refractory((1280, 720), 1000)], lambda w: len(w["t"]), time_window=5000)
    assert sum(pipeline.run(os.fsencode(DEMO))) > 0
    raw_name = os.path.join(os.fsencode(tmp_path), b"caf\xe9.raw")
    shutil.copyfile(DEMO, raw_name)
    with pytest.raises(ValueError, match="not valid UTF-8"):  # a glob that matches the name
        evlib.scan_events(os.path.join(str(tmp_path), "*.raw")).collect()
    for path in (raw_name, os.fsdecode(raw_name)):
        for call in (evlib.open, evlib.scan_events, lambda p: evlib.load_events(os.fsdecode(p)),
                     lambda p: next(iter(render.frames(p)))):
            with pytest.raises(ValueError, match="not valid UTF-8"):
                call(path)


# ---- what a writer must never turn into other data (a hostile review's findings) ----

THREE = {"t": np.array([10, 20, 30]), "x": np.array([1, 2, 3]), "y": np.array([1, 2, 3]), "p": np.array([1, 0, 1])}


def test_nulls_nans_and_fractions_of_a_microsecond_are_refused_not_written_as_values(tmp_path: Path) -> None:
    out = tmp_path / "out.h5"
    with pytest.raises(ValueError, match="column p holds 1 null"):  # was written as OFF
        evlib.save(pl.DataFrame({"t": [0, 5, 6], "x": [1, 2, 3], "y": [1, 2, 3], "p": [1, None, 1]}), out)
    with pytest.raises(ValueError, match="column p holds NaN"):
        evlib.save({**THREE, "p": np.array([1.0, np.nan, 0.5])}, out)
    with pytest.raises(TypeError, match="column p must hold numbers"):
        evlib.save({**THREE, "p": np.array(["on", "off", "on"])}, out)
    with pytest.raises(ValueError, match="fractions of a microsecond"):  # 10 500 ns was 10 µs
        evlib.save({**THREE, "t": np.array([10_500, 20_000, 30_000], dtype="timedelta64[ns]")}, out)
    with pytest.raises(ValueError, match="fractions of a microsecond"):
        evlib.save(pl.DataFrame({**THREE, "t": pl.Series([10_500, 20_000, 30_000]).cast(pl.Duration("ns"))}), out)
    triggers = {"t": [5, 20, 40], "channel": [0, 0, 0], "value": [1, 0, 1]}
    for column, values, message in (("t", [5, None, 40], "trigger t holds 1 null"),  # was INT64_MIN
                                    ("t", [5.7, 20.2, 40.9], "trigger t holds fractions"),  # was truncated
                                    ("channel", [256, 0, 0], "trigger channel has values outside uint8")):
        with pytest.raises(ValueError, match=message):
            evlib.save(THREE, out, width=8, height=8, triggers={**triggers, column: values})
    assert not out.exists()
    evlib.save({**THREE, "t": np.array([10_000, 20_000, 30_000], dtype="timedelta64[ns]")}, out, width=8, height=8)
    assert evlib.scan_events(out).collect()["t"].to_list() == [10, 20, 30]


def test_a_trigger_value_past_one_is_a_rising_edge_in_raw_files_as_elsewhere(tmp_path: Path) -> None:
    triggers = {"t": [5, 20, 40], "channel": [0, 0, 0], "value": [2, 3, 0]}  # RAW kept value & 1
    for name in ("evt3.raw", "evt2.raw", "evt21.raw", "out.h5", "out.aedat4"):
        out = tmp_path / name
        evlib.save(THREE, out, format=name.split(".")[0] if name.endswith(".raw") else None, width=8, height=8, triggers=triggers)
        assert evlib.open(out).triggers["value"].to_list() == [1, 1, 0], name


def test_dat_refuses_events_outside_the_geometry_it_states(tmp_path: Path) -> None:
    out = tmp_path / "small.dat"  # the reader dropped them: 71 of 4407 read back
    with pytest.raises(evlib.InvalidArgumentError, match=r"event 1 at \(500, 50\) is outside the 100x100 DAT geometry"):
        evlib.save({**THREE, "x": np.array([0, 500, 3]), "y": np.array([0, 50, 3])}, out, width=100, height=100)
    assert not out.exists()


@pytest.mark.parametrize("name,header", [
    ("a.raw", {"format": "EVT2;height=10;width=10", "end": "x", "geometry": "8x8", "plugin_name": "hal_plugin_gen31"}),
    ("a.dat", {"Width": "8", "Height": "8", "end": "x", "Version": "1"}),
    ("a.aedat4", {"sizeX": "8", "sizeY": "8"}),
])
def test_header_keys_the_writer_writes_itself_are_left_out(tmp_path: Path, name: str, header: dict[str, str]) -> None:
    # A header copied from another file overrode the geometry or the encoding, or ended the header.
    events = {**THREE, "x": np.array([1, 20, 30]), "y": np.array([1, 20, 30])}
    out = tmp_path / name
    evlib.save(events, out, width=32, height=32, header={**header, "mine": "kept"})
    f = evlib.open(out)
    assert (f.width, f.height) == (32, 32)
    assert f.header.get("stream.0.info/mine" if name.endswith(".aedat4") else "mine") == "kept"
    assert evlib.scan_events(out).collect()["x"].to_list() == [1, 20, 30]


def test_header_keys_and_values_that_would_break_the_header_are_refused(tmp_path: Path) -> None:
    for header, message in (([("k", "v\n% format EVT2;height=4;width=4")], "control character"),
                            ([("", "v")], "empty key")):
        with pytest.raises(evlib.InvalidArgumentError, match=message):  # the binding itself checks
            evlib._core.Writer(str(tmp_path / "h.raw"), format="evt3", width=32, height=32, header=header)
    assert list(tmp_path.iterdir()) == []
    # An AEDAT 2 header copied into a RAW file: a key with a space is written with an underscore.
    evlib.save(THREE, tmp_path / "a.raw", width=8, height=8, header={"Creation date": "today"})
    assert evlib.open(tmp_path / "a.raw").header["Creation_date"] == "today"
