"""evlib.ops.Pipeline: filters then a representation per window over a stream of batches give
the frames of the one-shot computation (filters over the whole input, then the clean windows of
``slice_events``) whatever the batch boundaries; the same frames as ``evlib frames``; torch
tensors through DLPack without a copy."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import pytest

import evlib
from conftest import REPO, run_cli, skip_or_fail
from evlib import ops
from ops_streams import random_case

SEEDS = range(6)
DEMO = REPO / "data" / "demo_evt3.raw"


def representations(sensor: tuple[int, int]) -> dict[str, Callable[[Any], np.ndarray]]:
    return {
        "event frame": lambda w: ops.event_frame(w, sensor),
        "stacked histogram": functools.partial(ops.stacked_histogram, sensor_size=sensor, bins=3),
        "voxel grid": lambda w: ops.voxel_grid(w, sensor, 4, normalize=True),
    }


def filters(sensor: tuple[int, int]) -> list[Any]:
    return [ops.Refractory(sensor, 200, convention="evlib"), ops.BackgroundActivity(sensor, 800, convention="dv")]


def one_shot(events: np.ndarray, sensor: tuple[int, int], represent: Callable[[Any], np.ndarray],
             windowing: dict[str, int]) -> list[np.ndarray]:
    """Filters over the whole input, then the representation of each clean window."""
    kept = events
    for f in filters(sensor):
        kept = kept[f.keep_mask(kept)]
    if len(kept) == 0:
        return []
    windows = ops.slice_events(kept, include_incomplete=True, convention="clean", **windowing)
    return [represent(kept[begin:end]) for begin, end in windows]


def random_pieces(events: np.ndarray, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 100)
    return np.split(events, sorted(rng.integers(0, len(events) + 1, int(rng.integers(1, 10))).tolist()))


@pytest.mark.parametrize("windowing", [{"time_window": 1500}, {"event_count": 97}], ids=["time", "count"])
@pytest.mark.parametrize("name", ["event frame", "stacked histogram", "voxel grid"])
@pytest.mark.parametrize("seed", SEEDS)
def test_streamed_pipeline_equals_the_one_shot_result_for_any_batch_split(seed: int, name: str,
                                                                         windowing: dict[str, int]) -> None:
    events, width, height = random_case(seed)
    sensor = (width, height)
    represent = representations(sensor)[name]
    expected = one_shot(events, sensor, represent, windowing)
    pipe = ops.Pipeline(filters(sensor), represent, **windowing)
    got = list(pipe.run(random_pieces(events, seed)))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # Run again from the start: the states were reset.
    assert len(list(pipe.run([events]))) == len(expected)


def test_pipeline_accepts_every_input_kind() -> None:
    events, width, height = random_case(3)
    sensor = (width, height)
    pipe = ops.Pipeline(filters(sensor), lambda w: ops.event_frame(w, sensor), event_count=200)
    expected = pipe([events])
    frame = pl.DataFrame({name: events[name] for name in ("t", "x", "y", "p")})
    as_dict = {name: np.ascontiguousarray(events[name]) for name in ("t", "x", "y", "p")}
    for source in ([frame], [as_dict], [tuple(as_dict.values())], [frame[:500], events[500:]]):
        np.testing.assert_array_equal(pipe(source), expected)


def test_windows_without_representation_are_the_filtered_events() -> None:
    events, width, height = random_case(5)
    sensor = (width, height)
    windows = ops.Pipeline(filters(sensor), time_window=700)(random_pieces(events, 5))
    kept = ops.Pipeline(filters(sensor), event_count=len(events)).filter(events)
    np.testing.assert_array_equal(np.concatenate([w["t"] for w in windows]), kept["t"])
    assert all(np.all(w["t"] < w["t"][0] + 700) for w in windows if len(w["t"]))


def test_time_windows_include_empty_ones_and_refuse_time_going_back() -> None:
    t = np.array([0, 10, 3500], dtype=np.int64)
    events = {"t": t, "x": np.zeros(3, np.uint16), "y": np.zeros(3, np.uint16), "p": np.ones(3, np.uint8)}
    frames = ops.Pipeline(representation=lambda w: ops.event_frame(w, (2, 2)), time_window=1000)([events])
    assert frames.shape == (4, 2, 2, 2)
    assert frames[:, 1, 0, 0].tolist() == [2, 0, 0, 1]
    pipe = ops.Pipeline(time_window=1000)
    pipe.feed(events)
    with pytest.raises(ValueError, match="time order"):
        pipe.feed({**events, "t": np.array([5, 6, 7], dtype=np.int64)})
    with pytest.raises(ValueError, match="one of"):
        ops.Pipeline(time_window=10, event_count=10)


def test_one_batch_in_memory_is_a_source_of_its_own() -> None:
    # A structured array, a dict or a Polars frame as source was iterated over its rows, keys or
    # columns ("cannot read events from void").
    events, width, height = random_case(2)
    pipe = ops.Pipeline(representation=lambda w: ops.event_frame(w, (width, height)), time_window=500)
    expected = pipe([events])
    as_dict = {name: events[name] for name in ("t", "x", "y", "p")}
    for source in (events, as_dict, pl.DataFrame(as_dict)):
        np.testing.assert_array_equal(pipe(source), expected)


def test_time_windows_at_the_top_of_int64_are_those_of_slice_events() -> None:
    # A window end past int64 lies above every time (searchsorted compared it as a float and cut
    # ten empty windows before the one that holds both events).
    top = np.iinfo(np.int64).max
    events = {"t": np.array([top - 5, top]), "x": np.array([0, 1]), "y": np.array([0, 1]), "p": np.array([0, 0])}
    windows = list(ops.Pipeline(time_window=100)([events]))
    expected = ops.slice_events(events, time_window=100, include_incomplete=True, convention="clean")
    assert len(windows) == len(expected) == 1
    np.testing.assert_array_equal(windows[0]["t"], events["t"])


@pytest.mark.parametrize("bad", [0.5, float("nan"), True, "10", 0, -3])
def test_pipeline_windows_must_be_whole_positive_numbers_as_slice_events_takes_them(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="time_window"):
        ops.Pipeline(time_window=bad)
    with pytest.raises((TypeError, ValueError), match="event_count"):
        ops.Pipeline(event_count=bad)


def test_file_pipeline_is_independent_of_the_batch_size_and_equals_evlib_frames(cli: Path, tmp_path: Path) -> None:
    f = evlib.open(DEMO)
    sensor = (f.width, f.height)
    pipe = ops.Pipeline([ops.Refractory(sensor, 1000, convention="evlib")],
                        lambda w: ops.stacked_histogram(w, sensor, bins=5, count_cutoff=10), time_window=20_000)
    small = pipe(DEMO, by_count=7_777)
    whole = pipe(f)
    np.testing.assert_array_equal(small, whole)
    out = tmp_path / "frames.npy"
    run_cli(cli, "frames", "-q", str(DEMO), str(out), "--repr", "stacked-histogram", "--window", "20ms", "--bins", "5",
            "--cutoff", "10", "--refractory", "1ms:evlib", "--chunk", "5000")
    np.testing.assert_array_equal(np.load(out), small)


def test_torch_output_shares_the_arrays_memory() -> None:
    try:
        import torch
    except ImportError:
        skip_or_fail("torch is not installed (pip install 'evlib[torch]', torch==2.13.0 CPU)")
    events, width, height = random_case(2)
    frame = ops.event_frame(events, (width, height))
    tensor = ops.to_torch(frame)
    assert tensor.data_ptr() == frame.ctypes.data and tensor.dtype == torch.int16
    assert torch.equal(tensor, torch.from_numpy(frame))
    pipe = ops.Pipeline(representation=lambda w: ops.voxel_grid(w, (width, height), 3), event_count=300, output="torch")
    stacked = pipe([events])
    assert isinstance(stacked, torch.Tensor) and stacked.dtype == torch.float32
    np.testing.assert_array_equal(stacked.numpy(), ops.Pipeline(representation=pipe.representation, event_count=300)([events]))


def test_run_makes_each_frame_when_it_is_asked_for_not_every_frame_of_a_batch_first() -> None:
    # Two events 3000 windows apart complete 3000 windows in one batch: run() must not hold
    # their 3000 frames at once (feed() returns them as a list, by its contract).
    made = []

    def representation(window: dict) -> np.ndarray:
        made.append(len(window["t"]))
        return np.zeros((240, 320), np.int16)

    events = (np.array([0, 3000]), np.array([0, 1]), np.array([0, 0]), np.array([1, 1]))
    pipe = ops.Pipeline([], representation, time_window=1)
    for k, _frame in enumerate(pipe.run([events])):
        assert len(made) == k + 1
    assert len(made) == 3001 and made[0] == 1 and made[-1] == 1 and sum(made) == 2
    assert len(ops.Pipeline([], representation, time_window=1).feed(events)) == 3000


def test_a_representation_that_raises_loses_its_frames_but_not_the_streams_windows() -> None:
    calls = []

    def representation(window: dict) -> list[int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("once")
        return window["t"].tolist()

    pipe = ops.Pipeline([], representation, time_window=10)
    ones = np.ones(5, np.int64)
    with pytest.raises(RuntimeError):
        pipe.feed((np.array([0, 5, 15, 25, 35]), ones, ones, ones))
    # The windows [10, 20) and [20, 30) were cut with the batch; [30, 40) is open and holds 35.
    assert pipe.feed((np.array([45]), ones[:1], ones[:1], ones[:1])) == [[35]]
