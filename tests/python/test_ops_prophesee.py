"""evlib.ops' Prophesee preprocessors against a NumPy float32 re-implementation of OpenEB's C++
definitions (sdk/core/preprocessors: HistoProcessor, DiffProcessor, EventCubeProcessor; OpenEB
has no pip package), event by event in OpenEB's order and rounding: identical tensors on random
streams and real recordings (EVLIB_RECORDINGS), whatever the batches."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from evlib import ops
from ops_streams import random_case
from test_ops_recordings import REAL, first_events

f32 = np.float32
SEEDS = range(12)


def increment(max_incr: float, ws: float, hs: float) -> np.float32:
    return f32(f32(1) / f32(max_incr)) * f32(f32(ws) * f32(hs))  # (1 / max_incr) * (ws * hs)


def openeb_histo(events: np.ndarray, width: int, height: int, max_incr: float, clip: float, chw: bool,
                 ws: float = 1, hs: float = 1) -> np.ndarray:
    buff = np.zeros(2 * width * height, f32)
    inc = increment(max_incr, ws, hs)
    for x, y, p in zip(events["x"].tolist(), events["y"].tolist(), (events["p"] != 0).tolist()):
        idx = width * (height * p + y) + x if chw else 2 * (width * y + x) + p
        buff[idx] = min(f32(clip), f32(buff[idx] + inc))
    return buff.reshape((2, height, width) if chw else (height, width, 2))


def openeb_diff(events: np.ndarray, width: int, height: int, max_incr: float, clip: float) -> np.ndarray:
    buff = np.zeros(width * height, f32)
    inc = increment(max_incr, 1, 1)
    for x, y, p in zip(events["x"].tolist(), events["y"].tolist(), (events["p"] != 0).tolist()):
        idx = x + width * y
        buff[idx] = max(-f32(clip), min(f32(clip), f32(buff[idx] + inc * f32(2 * p - 1))))
    return buff.reshape(1, height, width)


def openeb_event_cube(events: np.ndarray, width: int, height: int, start: int, delta_t: int, bins: int,
                      split: bool, max_incr: float, clip: float, ws: float = 1, hs: float = 1) -> np.ndarray:
    planes = 2 if split else 1
    buff = np.zeros(bins * planes * width * height, f32)
    normalisation = f32(f32(f32(1) / f32(max_incr)) * f32(ws)) * f32(hs)
    per_us = f32(bins) / f32(delta_t)
    for t, x, y, p in zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(),
                          (events["p"] != 0).tolist()):
        ti_star = f32(f32(f32(t - start) * per_us) - f32(0.5))
        lbin = math.floor(ti_star)
        rbin = lbin + 1
        left = max(f32(0), f32(f32(1) - abs(f32(lbin) - ti_star)))
        right = f32(f32(1) - left)
        plane = p if split else 0
        if not split:
            sign = f32(1 if p else -1)
            left, right = f32(left * sign), f32(right * sign)
        for b, value in ((lbin, left), (rbin, right)):
            if 0 <= b < bins:
                idx = x + y * width + plane * width * height + b * width * height * planes
                buff[idx] = max(-f32(clip), min(f32(clip), f32(buff[idx] + f32(value * normalisation))))
    return buff.reshape(bins * planes, height, width)


def parameters(seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(500 + seed)
    return float(rng.choice([1, 3, 5, 7.5])), float(rng.choice([0.5, 1, 2.25]))


@pytest.mark.parametrize("seed", SEEDS)
def test_histo_and_diff_are_openebs(seed: int) -> None:
    events, width, height = random_case(seed)
    max_incr, clip = parameters(seed)
    for layout in ("CHW", "HWC"):
        np.testing.assert_array_equal(
            ops.prophesee_histo(events, (width, height), max_incr_per_pixel=max_incr,
                                clip_value_after_normalization=clip, layout=layout),
            openeb_histo(events, width, height, max_incr, clip, layout == "CHW"))
    np.testing.assert_array_equal(
        ops.prophesee_diff(events, (width, height), max_incr_per_pixel=max_incr, clip_value_after_normalization=clip),
        openeb_diff(events, width, height, max_incr, clip))
    np.testing.assert_array_equal(
        ops.prophesee_histo(events, (width, height), width_scale=0.5, height_scale=0.75),
        openeb_histo(events, width, height, 5, 1, True, 0.5, 0.75))


@pytest.mark.parametrize("seed", SEEDS)
def test_event_cube_is_openebs(seed: int) -> None:
    events, width, height = random_case(seed)
    max_incr, clip = parameters(seed)
    start = int(events["t"][0])
    delta_t = max(1, int(events["t"][-1] - start) * (seed % 3 + 1) // 2 + seed)  # windows shorter and longer
    for split in (True, False):
        bins = 1 + seed % 6
        np.testing.assert_array_equal(
            ops.prophesee_event_cube(events, (width, height), delta_t, bins, split_polarity=split,
                                     max_incr_per_pixel=max_incr, clip_value_after_normalization=clip,
                                     width_scale=2, height_scale=0.5),
            openeb_event_cube(events, width, height, start, delta_t, bins, split, max_incr, clip, 2, 0.5))


@pytest.mark.parametrize("seed", range(4))
def test_batches_added_into_one_tensor_give_the_whole_windows_tensor(seed: int) -> None:
    events, width, height = random_case(seed)
    delta_t = int(events["t"][-1] - events["t"][0]) + 1
    whole = ops.prophesee_event_cube(events, (width, height), delta_t, 5)
    cube = np.zeros_like(whole)
    diff = np.zeros((1, height, width), np.float32)
    for part in np.array_split(events, 7):
        ops.prophesee_event_cube(part, (width, height), delta_t, 5, start_time=int(events["t"][0]), out=cube)
        ops.prophesee_diff(part, (width, height), out=diff)
    np.testing.assert_array_equal(cube, whole)
    np.testing.assert_array_equal(diff, ops.prophesee_diff(events, (width, height)))


def test_edge_cases() -> None:
    one_pixel = {"t": np.arange(20, dtype=np.int64), "x": np.full(20, 1, np.uint16), "y": np.zeros(20, np.uint16),
                 "p": np.ones(20, np.uint8)}
    histo = ops.prophesee_histo(one_pixel, (2, 1))
    assert histo[1, 0, 1] == 1.0 and histo.sum() == 1.0  # saturates at the clip value
    empty = {k: v[:0] for k, v in one_pixel.items()}
    assert not ops.prophesee_event_cube(empty, (2, 1), 100, 3).any()
    outside = {**one_pixel, "x": np.full(20, 2, np.uint16)}
    assert not ops.prophesee_diff(outside, (2, 1)).any()
    early = {**one_pixel, "t": np.full(20, 5, np.int64)}
    assert not ops.prophesee_event_cube(early, (2, 1), 100, 3, start_time=10).any()  # before the window
    with pytest.raises(ValueError, match="clip"):
        ops.prophesee_histo(one_pixel, (2, 1), clip_value_after_normalization=0)
    with pytest.raises(ValueError, match="shape"):
        ops.prophesee_diff(one_pixel, (2, 1), out=np.zeros((2, 1), np.float32))


@pytest.mark.parametrize("name", REAL)
def test_real_recordings_match_openeb(name: str, recordings: Path) -> None:
    events, (width, height) = first_events(recordings, name)
    events = events[:4000]  # the reference loops in Python
    np.testing.assert_array_equal(ops.prophesee_histo(events, (width, height)),
                                  openeb_histo(events, width, height, 5, 1, True))
    np.testing.assert_array_equal(ops.prophesee_diff(events, (width, height), max_incr_per_pixel=3),
                                  openeb_diff(events, width, height, 3, 1))
    start, delta_t = int(events["t"][0]), int(events["t"][-1] - events["t"][0]) + 1
    np.testing.assert_array_equal(ops.prophesee_event_cube(events, (width, height), delta_t, 10),
                                  openeb_event_cube(events, width, height, start, delta_t, 10, True, 5, 1))
