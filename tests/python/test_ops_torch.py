"""evlib.torch.EventWindowDataset: its tensors are the pipeline's frames of each file, labels come
from the callback, and DataLoader workers split files × windows without duplicates or gaps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evlib
from conftest import skip_or_fail
from evlib import ops

try:
    import torch
    from torch.utils.data import DataLoader
except ImportError:
    torch = None  # type: ignore[assignment]



@pytest.fixture(autouse=True)
def needs_torch() -> None:
    """torch is in the test extra: under CI=true its absence is a failure, elsewhere a skip."""
    if torch is None:
        skip_or_fail("torch is not installed (pip install 'evlib[torch]', torch==2.13.0 CPU)")

SENSOR = (24, 16)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three small recordings of different lengths on a 24x16 sensor."""
    out = []
    rng = np.random.default_rng(4)
    for k, n in enumerate((2500, 4000, 1200)):
        events = {"t": np.cumsum(rng.integers(0, 20, n)).astype(np.int64),
                  "x": rng.integers(0, SENSOR[0], n).astype(np.uint16),
                  "y": rng.integers(0, SENSOR[1], n).astype(np.uint16),
                  "p": rng.integers(0, 2, n).astype(np.uint8)}
        path = tmp_path_factory.mktemp("torch") / f"rec{k}.h5"
        evlib.save(events, path, width=SENSOR[0], height=SENSOR[1])
        out.append(str(path))
    return out


def window_label(path: str, index: int, window: dict[str, Any]) -> tuple[str, int, int]:
    return (Path(path).name, index, len(window["t"]))


def test_torch_is_the_pinned_cpu_build() -> None:
    if not torch.__version__.startswith("2.13.0"):
        skip_or_fail(f"the tests are written for torch==2.13.0 (CPU), found {torch.__version__}")


def test_items_are_the_pipeline_frames_of_each_file_with_their_labels(files: list[str]) -> None:
    from evlib.torch import EventWindowDataset

    dataset = EventWindowDataset(files, "stacked_histogram", event_count=700, bins=3,
                                 filters=lambda s: [ops.Refractory(s, 30, convention="evlib")], label=window_label)
    items = list(dataset)
    expected = []
    for path in files:
        pipe = ops.Pipeline([ops.Refractory(SENSOR, 30, convention="evlib")],
                            lambda w: ops.stacked_histogram(w, SENSOR, bins=3), event_count=700)
        expected += [(Path(path).name, i, frame) for i, frame in enumerate(pipe.run(path))]
    assert len(items) == len(expected)
    for (tensor, label), (name, index, frame) in zip(items, expected):
        assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.uint8 and tensor.shape == (6, 16, 24)
        assert label[:2] == (name, index)
        np.testing.assert_array_equal(tensor.numpy(), frame)


def test_a_callable_representation_gets_the_window_and_the_sensor(files: list[str]) -> None:
    from evlib.torch import EventWindowDataset

    seen: list[tuple[int, int]] = []

    def counts(window: dict[str, Any], sensor: tuple[int, int]) -> np.ndarray:
        seen.append(sensor)
        return ops.event_frame(window, sensor, polarities=1, dtype=np.float32)

    tensors = list(EventWindowDataset(files[:1], counts, time_window=5000))
    assert seen and set(seen) == {SENSOR}
    assert sum(float(t.sum()) for t in tensors) == 2500.0  # every event in one window


def test_one_path_given_alone_is_one_file(files: list[str]) -> None:
    from evlib.torch import EventWindowDataset

    # A str is a sequence: its characters were taken as paths ("/: is a directory").
    alone = EventWindowDataset(files[0], "histogram", time_window=5000)
    assert alone.files == [files[0]]
    assert len(list(alone)) == len(list(EventWindowDataset(files[:1], "histogram", time_window=5000))) > 0
    assert EventWindowDataset(Path(files[0]), "histogram", time_window=5000).files == [files[0]]


def test_time_window_takes_a_time_with_a_unit(files: list[str]) -> None:
    from evlib.torch import EventWindowDataset

    in_us = list(EventWindowDataset(files[:1], "histogram", time_window=5000))
    with_unit = list(EventWindowDataset(files[:1], "histogram", time_window="5ms"))
    as_float = list(EventWindowDataset([os.fsencode(files[0])], "histogram", time_window=5000.0))  # and a bytes path
    assert len(with_unit) == len(as_float) == len(in_us) > 1
    assert all(torch.equal(a, b) and torch.equal(a, c) for a, b, c in zip(with_unit, in_us, as_float))
    with pytest.raises(ValueError, match="time_window"):
        EventWindowDataset(files[:1], "histogram", time_window=5000.5)
    with pytest.raises(ValueError, match="time_window"):
        EventWindowDataset(files[:1], "histogram", time_window="5 parsecs")


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 3 workers on a 2-core machine
@pytest.mark.parametrize("shard", ["file", "window", "auto"])
@pytest.mark.parametrize("workers", [2, 3])
def test_dataloader_workers_yield_every_window_exactly_once(files: list[str], shard: str, workers: int) -> None:
    from evlib.torch import EventWindowDataset

    dataset = EventWindowDataset(files, "voxel_grid", time_window=4000, n_time_bins=2, label=window_label, shard=shard)
    alone = sorted(label for _, label in dataset)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers)
    together = sorted(tuple(label) for _, label in loader)  # the loader turns tuples into lists
    assert together == alone
    assert len(set(together)) == len(together)


def test_batches_collate_into_one_tensor(files: list[str]) -> None:
    from evlib.torch import EventWindowDataset

    loader = DataLoader(EventWindowDataset(files, "histogram", event_count=1000), batch_size=4, num_workers=0)
    first = next(iter(loader))
    assert first.shape == (4, 2, 16, 24) and first.dtype == torch.int16


def test_bad_arguments_are_refused(files: list[str]) -> None:
    from evlib.torch import EventWindowDataset

    with pytest.raises(ValueError, match="unknown representation"):
        EventWindowDataset(files, "cube", event_count=10)
    with pytest.raises(ValueError, match="one of"):
        EventWindowDataset(files, "histogram")
    with pytest.raises(TypeError, match="built-in"):
        EventWindowDataset(files, lambda w, s: w["t"], event_count=10, bins=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'binz'"):  # here, not in a worker
        EventWindowDataset(files, "stacked_histogram", event_count=10, binz=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        EventWindowDataset(files, "voxel_grid", event_count=10, n_time_bins=3, foo=1)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_a_dataset_pickles_so_that_spawned_workers_can_take_it(files: list[str]) -> None:
    # It held a lambda: DataLoader workers started by spawn or forkserver (Python 3.14's default
    # on Linux) could not receive it.
    import pickle

    from evlib.torch import EventWindowDataset

    dataset = EventWindowDataset(files, "voxel_grid", time_window=4000, n_time_bins=2, label=window_label)
    alone = [(tensor, label) for tensor, label in dataset]
    again = [(tensor, label) for tensor, label in pickle.loads(pickle.dumps(dataset))]
    assert [label for _, label in again] == [label for _, label in alone]
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(alone, again))
    loader = DataLoader(dataset, batch_size=None, num_workers=1, multiprocessing_context="spawn", timeout=120)
    assert sorted(tuple(label) for _, label in loader) == sorted(label for _, label in alone)


def test_to_torch_copies_flipped_and_read_only_arrays_and_shares_the_rest() -> None:
    flipped = np.arange(16.0).reshape(4, 4)[:, ::-1]  # torch's DLPack import aborted the process
    np.testing.assert_array_equal(ops.to_torch(flipped).numpy(), flipped)
    read_only = np.arange(4)
    read_only.flags.writeable = False
    ops.to_torch(read_only).fill_(7)  # a window's own columns: the tensor must not write them
    np.testing.assert_array_equal(read_only, np.arange(4))
    shared = np.zeros(3)
    ops.to_torch(shared).fill_(1)
    np.testing.assert_array_equal(shared, np.ones(3))
    with pytest.raises(TypeError, match="not list"):
        ops.to_torch([1, 2])  # type: ignore[arg-type]
