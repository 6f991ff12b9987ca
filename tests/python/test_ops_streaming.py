"""evlib.ops from Python: streaming filters and time surfaces give the same result whatever the
batch boundaries, edge cases (empty input, one event, one pixel past the dtype, events outside
the sensor), and the input kinds the functions accept, without copies where dtypes match."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

from evlib import ops
from ops_streams import random_case

SEEDS = range(8)

FILTERS: dict[str, Callable[[int, int], Any]] = {
    "refractory tonic": lambda w, h: ops.Refractory((w, h), 300, convention="tonic"),
    "refractory dv": lambda w, h: ops.Refractory((w, h), 300, convention="dv"),
    "refractory evlib": lambda w, h: ops.Refractory((w, h), 300, convention="evlib"),
    "background activity dv": lambda w, h: ops.BackgroundActivity((w, h), 500, convention="dv"),
    "background activity jaer": lambda w, h: ops.BackgroundActivity((w, h), 500, convention="jaer"),
    "background activity tonic": lambda w, h: ops.BackgroundActivity((w, h), 500, convention="tonic"),
    "stcf": lambda w, h: ops.Stcf((w, h), 2000, 2),
    "stcf jaer border": lambda w, h: ops.Stcf((w, h), 2000, 2, jaer_border=True),
    "stcf polarities": lambda w, h: ops.Stcf((w, h), 2000, 2, polarities_must_match=True),
    "stcf shot noise": lambda w, h: ops.Stcf((w, h), 2000, 1, shot_noise_time=500),
    "fast decay": lambda w, h: ops.FastDecay((w, h), 1000, 2, 1.5),
}


def split_points(rng: np.random.Generator, n: int) -> list[int]:
    return sorted(rng.integers(0, n + 1, int(rng.integers(1, 8))).tolist())


def pieces(events: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(events, cuts)


@pytest.mark.parametrize("name", FILTERS)
@pytest.mark.parametrize("seed", SEEDS)
def test_streaming_filters_give_the_same_flags_for_any_batch_split(name: str, seed: int) -> None:
    events, width, height = random_case(seed)
    whole = FILTERS[name](width, height).keep_mask(events)
    streaming = FILTERS[name](width, height)
    parts = [streaming.keep_mask(part) for part in pieces(events, split_points(np.random.default_rng(seed), len(events)))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("seed", SEEDS)
def test_time_surface_gives_the_same_surfaces_for_any_batch_split(seed: int) -> None:
    events, width, height = random_case(seed)
    dt = 1 + int(events["t"][-1] - events["t"][0]) // 5
    whole = ops.time_surface(events, (width, height), dt, 1000.0, include_incomplete=True)
    surfaces = ops.TimeSurface((width, height), dt, 1000.0, include_incomplete=True)
    parts = [surfaces.add(part) for part in pieces(events, split_points(np.random.default_rng(seed), len(events)))]
    np.testing.assert_array_equal(np.concatenate(parts + [surfaces.finish()]), whole)


@pytest.mark.parametrize("seed", SEEDS)
def test_last_timestamp_map_gives_the_same_map_for_any_batch_split(seed: int) -> None:
    events, width, height = random_case(seed)
    whole = ops.LastTimestampMap((width, height), split_polarity=True)
    whole.add(events)
    streaming = ops.LastTimestampMap((width, height), split_polarity=True)
    for part in pieces(events, split_points(np.random.default_rng(seed), len(events))):
        streaming.add(part)
    np.testing.assert_array_equal(streaming.timestamps(), whole.timestamps())
    assert whole.timestamps().shape == (2, height, width)


@pytest.mark.parametrize("split", [False, True])
def test_a_last_timestamp_map_made_after_one_of_its_size_is_dropped_starts_empty(split: bool) -> None:
    # The new map takes the dropped one's memory (src/ops/time_surface.cpp): it must not see its times.
    rng = np.random.default_rng(4)
    n = 50_000
    events = {"t": np.arange(1, n + 1, dtype=np.int64), "x": rng.integers(0, 640, n).astype(np.uint16),
              "y": rng.integers(0, 480, n).astype(np.uint16), "p": rng.integers(0, 2, n).astype(np.uint8)}
    for _ in range(3):
        used = ops.LastTimestampMap((640, 480), split_polarity=split)
        used.add(events)
        assert used.timestamps().any()
        del used
        fresh = ops.LastTimestampMap((640, 480), split_polarity=split)
        assert not fresh.timestamps().any()
        assert not fresh.frame().any()
        first = {k: v[:10] for k, v in events.items()}
        fresh.add(first)
        cells = set(zip(first["p"] * split, first["y"], first["x"]))
        assert np.count_nonzero(fresh.timestamps()) == len(cells)
        del fresh


def test_hot_pixels_from_batches_give_the_mask_of_the_whole_input() -> None:
    events, width, height = random_case(3)
    whole = ops.HotPixels.by_percentile((width, height), events, 90.0)
    batches = ops.HotPixels.by_percentile((width, height), pieces(events, [10, 500]), 90.0)
    np.testing.assert_array_equal(batches.mask, whole.mask)
    assert whole.mask.any()


def empty_events() -> dict[str, np.ndarray]:
    return {"t": np.zeros(0, np.int64), "x": np.zeros(0, np.uint16), "y": np.zeros(0, np.uint16),
            "p": np.zeros(0, np.uint8)}


def one_pixel(n: int) -> dict[str, np.ndarray]:
    return {"t": np.arange(n, dtype=np.int64) * 10, "x": np.full(n, 2, np.uint16), "y": np.full(n, 1, np.uint16),
            "p": np.ones(n, np.uint8)}


@pytest.mark.parametrize("name", FILTERS)
def test_filters_on_empty_input_return_no_events(name: str) -> None:
    kept = FILTERS[name](4, 3).filter(empty_events())
    assert all(len(kept[k]) == 0 for k in "txyp")


def test_representations_of_empty_input_are_zero() -> None:
    events = empty_events()
    assert not ops.event_frame(events, (4, 3)).any()
    assert ops.event_frame(events, (4, 3), n_event_bins=3).shape == (3, 2, 3, 4)
    assert not ops.stacked_histogram(events, (4, 3), bins=2).any()
    assert not ops.voxel_grid(events, (4, 3), 3).any()
    assert not ops.voxel_grid(events, (4, 3), 3, normalize=True).any()
    assert ops.time_surface(events, (4, 3), 100, 50.0).shape[1:] == (2, 3, 4)
    assert len(ops.slice_events(events, time_window=10, convention="clean")) == 0


def test_one_event_is_counted_once_everywhere() -> None:
    event = one_pixel(1)
    assert ops.event_frame(event, (4, 3)).sum() == 1
    assert ops.event_frame(event, (4, 3))[1, 1, 2] == 1
    assert ops.stacked_histogram(event, (4, 3), bins=3)[3, 1, 2] == 1
    grid = ops.voxel_grid(event, (4, 3), 3)
    assert grid[0, 1, 2] == 1.0 and grid.sum() == 1.0
    assert ops.slice_events(event, n_time_bins=1, convention="clean").tolist() == [[0, 1]]
    for name, make in FILTERS.items():
        kept = make(4, 3).filter(event)
        assert len(kept["t"]) in (0, 1), name
    assert len(ops.Refractory((4, 3), 5, convention="evlib").filter(event)["t"]) == 1


def test_counts_on_one_pixel_past_the_dtype_saturate_or_wrap() -> None:
    events = one_pixel(300)
    saturated = ops.event_frame(events, (4, 3), dtype=np.uint8)
    wrapped = ops.event_frame(events, (4, 3), dtype=np.uint8, overflow="wrap")
    assert saturated[1, 1, 2] == 255 and wrapped[1, 1, 2] == 300 - 256
    assert ops.event_frame(events, (4, 3), dtype=np.int64)[1, 1, 2] == 300


def test_events_outside_the_sensor_are_neither_counted_nor_kept() -> None:
    events = {"t": np.array([0, 1, 2], np.int64), "x": np.array([0, 9, 1], np.uint16),
              "y": np.array([0, 0, 7], np.uint16), "p": np.array([1, 1, 0], np.uint8)}
    assert ops.event_frame(events, (4, 3)).sum() == 1
    assert ops.voxel_grid(events, (4, 3), 2, convention="e2vid")[:, 0, 0].sum() != 0
    assert ops.stacked_histogram(events, (4, 3), bins=1).sum() == 1
    assert ops.Refractory((4, 3), 0, convention="evlib").keep_mask(events).tolist() == [True, False, False]


def test_every_input_kind_gives_the_same_frame() -> None:
    structured, width, height = random_case(5)
    native = {"t": structured["t"].astype(np.int64), "x": structured["x"].astype(np.uint16),
              "y": structured["y"].astype(np.uint16), "p": structured["p"].astype(np.uint8)}
    compat = pl.DataFrame({"x": structured["x"], "y": structured["y"],
                           "t": pl.Series(structured["t"]).cast(pl.Duration("us")),
                           "polarity": np.where(structured["p"] > 0, 1, -1).astype(np.int8)})
    signed = structured.copy()
    signed["p"] = np.where(structured["p"] > 0, 1, -1)
    expected = ops.event_frame(native, (width, height))
    for kind in (structured, signed, pl.DataFrame(native), compat, tuple(native.values())):
        np.testing.assert_array_equal(ops.event_frame(kind, (width, height)), expected)


def test_columns_of_matching_dtype_are_used_without_a_copy() -> None:
    native = one_pixel(10)
    for got, given in zip(ops.columns(native), native.values()):
        assert np.shares_memory(got, given)
    frame = pl.DataFrame(native)
    t = ops.columns(frame)[0]
    assert np.shares_memory(t, frame["t"].to_numpy())


def test_batches_from_a_file_are_read_in_place(tmp_path: Any) -> None:
    import evlib

    events = one_pixel(50)
    path = tmp_path / "events.npy"
    structured = np.zeros(50, [("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    for k in "txyp":
        structured[k] = events[k]
    np.save(path, structured)
    batch = next(iter(evlib.open(str(path)).iter_batches()))
    assert np.shares_memory(ops.columns(batch)[0], batch.to_numpy()["t"])
    assert ops.event_frame(batch, (4, 3))[1, 1, 2] == 50


def test_frames_are_written_into_the_callers_array() -> None:
    out = np.full((2, 2, 3, 4), 7, np.uint16)
    got = ops.event_frame(one_pixel(5), (4, 3), n_event_bins=2, dtype=np.uint16, out=out)
    assert got is out
    assert out.sum() == 4 and out[0, 1, 1, 2] == 2  # event bins drop the remainder, as tonic
    with pytest.raises(ValueError):
        ops.event_frame(one_pixel(5), (4, 3), n_event_bins=2, out=np.zeros((1, 2, 3, 4), np.int16))


def test_filter_returns_the_inputs_kind() -> None:
    structured, width, height = random_case(2)
    kept = ops.Refractory((width, height), 100).filter(structured)
    assert kept.dtype == structured.dtype
    frame = pl.DataFrame({k: structured[k] for k in ("t", "x", "y", "p")})
    kept_frame = ops.Refractory((width, height), 100).filter(frame)
    assert isinstance(kept_frame, pl.DataFrame) and kept_frame.height == len(kept)


def test_unknown_conventions_are_refused() -> None:
    with pytest.raises(ValueError, match="convention"):
        ops.Refractory((4, 3), 10, convention="metavision")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="convention"):
        ops.voxel_grid(one_pixel(3), (4, 3), 2, convention="rvt")  # type: ignore[arg-type]


@pytest.mark.parametrize("convention", ["e2vid", "tonic"])
def test_voxel_grid_into_a_callers_array_overwrites_what_it_held(convention: str) -> None:
    # Without out the kernel adds into a fresh np.zeros array as it is; a caller's array is
    # zeroed first, whatever it held.
    events, width, height = random_case(3)
    fresh = ops.voxel_grid(events, (width, height), 4, convention=convention)
    dirty = np.full_like(fresh, 7.5)
    got = ops.voxel_grid(events, (width, height), 4, convention=convention, out=dirty)
    assert got is dirty
    np.testing.assert_array_equal(got, fresh)


@pytest.mark.parametrize(("convention", "dtype"), [("tonic", np.float64), ("e2vid", np.float32)])
def test_a_voxel_grid_made_after_one_of_its_size_is_dropped_is_a_new_array_of_its_own_sums(convention: str,
                                                                                          dtype: type) -> None:
    # Without out, a grid takes the memory of the last grid of its size that is gone (python/src/
    # py_ops.cpp): it must start from zeros, and a grid still held must keep its own memory. A
    # small grid's block is heap memory, a 640x480 one's a mapping (zeros when fresh).
    events, small_width, small_height = random_case(3)
    for (width, height), _ in itertools.product([(small_width, small_height), (640, 480)], range(3)):
        expected = ops.voxel_grid(events, (width, height), 4, convention=convention,
                                  out=np.empty((4, height, width), dtype))
        held = ops.voxel_grid(events, (width, height), 4, convention=convention)
        other = ops.voxel_grid(events, (width, height), 4, convention=convention)
        assert held.dtype == dtype and held.shape == (4, height, width) and held.flags.writeable
        assert not np.shares_memory(held, other)
        np.testing.assert_array_equal(held, expected)
        np.testing.assert_array_equal(other, expected)
        del other  # its memory is kept, holding its sums
        again = ops.voxel_grid(events, (width, height), 4, convention=convention)
        np.testing.assert_array_equal(again, expected)
        np.testing.assert_array_equal(held, expected)
        del held, again


@pytest.mark.parametrize("downsample", [False, True])
def test_a_stacked_histogram_made_after_one_of_its_size_is_dropped_holds_only_its_own_counts(downsample: bool) -> None:
    # Without out, a histogram takes the memory of the last one of its size that is gone
    # (python/src/py_ops.cpp), and the kernel zeroes each bin's planes as it reaches them: bins
    # without events must read zero too, and a histogram still held keeps its own memory.
    rng = np.random.default_rng(8)
    n = 30_000
    for width, height in [(6, 4), (640, 480)]:
        busy = {"t": np.sort(rng.integers(0, 1_000_000, n)).astype(np.int64),
                "x": rng.integers(0, width, n).astype(np.uint16), "y": rng.integers(0, height, n).astype(np.uint16),
                "p": rng.integers(0, 2, n).astype(np.uint8)}
        sparse = {"t": np.array([0, 10, 999_990, 1_000_000], np.int64), "x": np.array([1, 3, 5, 1], np.uint16),
                  "y": np.array([1, 1, 3, 3], np.uint16), "p": np.array([1, 0, 1, 0], np.uint8)}
        shape = (20, height // 2, width // 2) if downsample else (20, height, width)
        for events in (busy, sparse):
            expected = ops.stacked_histogram(events, (width, height), bins=10, count_cutoff=10,
                                             downsample_by_2=downsample, out=np.zeros(shape, np.uint8))
            held = ops.stacked_histogram(busy, (width, height), bins=10, count_cutoff=10, downsample_by_2=downsample)
            other = ops.stacked_histogram(busy, (width, height), bins=10, count_cutoff=10, downsample_by_2=downsample)
            assert held.dtype == np.uint8 and held.shape == expected.shape and held.flags.writeable
            assert not np.shares_memory(held, other)
            np.testing.assert_array_equal(held, other)  # a fresh mapping's or a kept block's counts
            block = other.ctypes.data
            del other  # its memory, full of the busy counts, goes to the next call of its size
            again = ops.stacked_histogram(events, (width, height), bins=10, count_cutoff=10,
                                          downsample_by_2=downsample)
            assert again.ctypes.data == block
            np.testing.assert_array_equal(again, expected)
            del held, again
    # RVT's exact-count mode, an empty window and a tensor without cells, in kept memory too.
    exact = ops.stacked_histogram(busy, (640, 480), bins=10, count_cutoff=3, fastmode=False, downsample_by_2=downsample)
    np.testing.assert_array_equal(exact, ops.stacked_histogram(busy, (640, 480), bins=10, count_cutoff=3, fastmode=False,
                                                               downsample_by_2=downsample, out=np.zeros_like(exact)))
    nothing = {key: column[:0] for key, column in busy.items()}
    assert not ops.stacked_histogram(nothing, (640, 480), bins=10, downsample_by_2=downsample).any()
    no_cells = ops.stacked_histogram(sparse, (1, 4), bins=2, downsample_by_2=True)
    assert no_cells.shape == (4, 2, 0)


def test_time_surfaces_of_a_large_sensor_come_whole_from_the_kernels_buffer() -> None:
    # 2 x 400 x 300 values per surface: written with streaming stores into memory the kernel
    # allocates unwritten; a stream fed in batches gives the same bits.
    rng = np.random.default_rng(5)
    n = 20_000
    events = {"t": np.cumsum(rng.integers(0, 20, n)).astype(np.int64), "x": rng.integers(0, 400, n).astype(np.uint16),
              "y": rng.integers(0, 300, n).astype(np.uint16), "p": rng.integers(0, 2, n).astype(np.uint8)}
    whole = ops.time_surface(events, (400, 300), 40_000, 15_000.0, include_incomplete=True)
    assert whole.shape[0] >= 5 and whole.flags.c_contiguous and whole.flags.writeable
    assert np.signbit(whole[0][whole[0] == 0]).sum() == 0  # never-fired cells are +0
    stream = ops.TimeSurface((400, 300), 40_000, 15_000.0, include_incomplete=True)
    pieces = [stream.add({k: v[i:i + 6000] for k, v in events.items()}) for i in range(0, n, 6000)]
    pieces.append(stream.finish())
    np.testing.assert_array_equal(np.concatenate(pieces).view(np.int64), whole.view(np.int64))


def test_time_surfaces_in_the_memory_of_dropped_ones_of_their_size_hold_only_their_own_values() -> None:
    # Surfaces dropped by Python leave their memory for the next call of that size
    # (python/src/py_ops.cpp): the new ones must not show any value of the old.
    rng = np.random.default_rng(6)
    n = 20_000

    def events(seed: int) -> dict[str, np.ndarray]:
        r = np.random.default_rng(seed)
        return {"t": np.cumsum(r.integers(0, 20, n)).astype(np.int64), "x": r.integers(0, 400, n).astype(np.uint16),
                "y": r.integers(0, 300, n).astype(np.uint16), "p": r.integers(0, 2, n).astype(np.uint8)}

    first, second = events(int(rng.integers(1 << 30))), events(int(rng.integers(1 << 30)))
    first_surfaces = ops.time_surface(first, (400, 300), 40_000, 15_000.0)
    expected, block = first_surfaces.copy(), first_surfaces.ctypes.data
    del first_surfaces
    second_surfaces = ops.time_surface(second, (400, 300), 40_000, 15_000.0)
    assert second_surfaces.shape == expected.shape and not np.array_equal(second_surfaces, expected)
    assert second_surfaces.ctypes.data == block  # the first array's memory, reused
    del second_surfaces  # its memory, full of the second input's values, goes to the next call
    again = ops.time_surface(first, (400, 300), 40_000, 15_000.0)
    assert again.ctypes.data == block
    np.testing.assert_array_equal(again.view(np.int64), expected.view(np.int64))
