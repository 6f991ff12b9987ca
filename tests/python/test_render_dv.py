"""evlib.render against dv-processing 2.0.4 on the same seeded events: EventVisualizer's
generateImage() with the "dv" palette (identical pixels), and Accumulator's potentials (within
1 ULP where expf is used, identical for the linear decay) and generateFrame() images (identical,
but for a level that lies within float rounding of a .5 tie) with the "gray" palette."""

from __future__ import annotations

import numpy as np
import pytest

from evlib import _core, render
from ops_streams import random_stream, reference, dv_event_store

SEEDS = range(6)


@pytest.fixture(scope="module")
def dv():  # type: ignore[no-untyped-def]
    return reference("dv_processing", "dv-processing==2.0.4")


event_store = dv_event_store


def columns(events: np.ndarray) -> tuple[np.ndarray, ...]:
    return (np.ascontiguousarray(events["t"], np.int64), np.ascontiguousarray(events["x"], np.uint16),
            np.ascontiguousarray(events["y"], np.uint16), np.ascontiguousarray(events["p"], np.uint8))


def case(seed: int, n: int = 3000) -> tuple[np.ndarray, int, int]:
    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(8, 80)), int(rng.integers(8, 60))
    # Few pixels and small steps: pixels fire many times, so decays and clamps are exercised.
    return random_stream(rng, n, width, height, int(rng.integers(1, 60))), width, height


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 units in the last place (for values of one sign, as here)."""
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    return np.abs(ia - ib)


@pytest.mark.parametrize("seed", SEEDS)
def test_last_event_frame_is_event_visualizer_image(dv, seed: int) -> None:  # type: ignore[no-untyped-def]
    events, width, height = case(seed)
    t0, t1 = int(events["t"][0]), int(events["t"][-1]) + 1
    visualizer = dv.visualization.EventVisualizer((width, height))
    expected_bgr = visualizer.generateImage(event_store(dv, events))
    span = t1 - t0
    out = list(render.frames([columns(events)], width=width, height=height, palette="dv", accumulate_us=span,
                             t_start=t0, t_end=t1, fps=1e6 / span))
    assert len(out) == 1
    t_us, frame = out[0]
    assert t_us == t1
    np.testing.assert_array_equal(frame, expected_bgr[..., ::-1])


DECAYS = [
    # (linear, decay_param, synchronous, contribution, max, neutral, min, ignore_polarity)
    (False, 1.0e6, False, 0.15, 1.0, 0.0, 0.0, False),  # dv-processing's defaults
    (False, 2000.0, True, 0.15, 1.0, 0.0, 0.0, False),
    (False, 700.0, True, 0.25, 1.0, 0.5, 0.0, False),
    (False, 5000.0, False, 0.1, 2.0, 0.0, -1.0, True),
    (True, 1e-4, True, 0.15, 1.0, 0.0, 0.0, False),
    (True, 3e-5, False, 0.2, 1.0, 0.5, 0.0, False),
    (True, 1e-3, True, 0.3, 1.5, 0.2, -0.5, False),
]


def dv_accumulator(dv, width: int, height: int, params: tuple):  # type: ignore[no-untyped-def]
    linear, decay_param, synchronous, contribution, vmax, neutral, vmin, ignore = params
    acc = dv.Accumulator((width, height))
    acc.setDecayFunction(dv.Accumulator.Decay.LINEAR if linear else dv.Accumulator.Decay.EXPONENTIAL)
    acc.setDecayParam(decay_param)
    acc.setSynchronousDecay(synchronous)
    acc.setEventContribution(contribution)
    acc.setMaxPotential(vmax)
    acc.setNeutralPotential(neutral)
    acc.setMinPotential(vmin)
    acc.setIgnorePolarity(ignore)
    return acc


def levels_near_tie(potentials: np.ndarray, vmax: float, vmin: float) -> np.ndarray:
    """Where v * alpha + beta lies so close to a .5 that float rounding may decide the level."""
    alpha = np.float32(255.0 / (vmax - vmin))
    beta = np.float32(-vmin * (255.0 / (vmax - vmin)))
    scaled = potentials.astype(np.float64) * float(alpha) + float(beta)
    return np.abs(scaled - np.floor(scaled) - 0.5) < 1e-4


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", DECAYS)
def test_accumulator_matches_dv_processing(dv, seed: int, params: tuple) -> None:  # type: ignore[no-untyped-def]
    events, width, height = case(seed)
    linear, decay_param, synchronous, contribution, vmax, neutral, vmin, ignore = params
    ours = _core.DvAccumulator(width, height, linear=linear, decay_param=decay_param, synchronous_decay=synchronous,
                               contribution=contribution, max_potential=vmax, neutral_potential=neutral,
                               min_potential=vmin, ignore_polarity=ignore)
    theirs = dv_accumulator(dv, width, height, params)
    # Three packets, each followed by a frame, as a viewer would.
    for part in np.array_split(events, 3):
        ours.accumulate(*columns(part))
        theirs.accept(event_store(dv, part))
        expected = theirs.generateFrame().image.reshape(height, width)
        frame = np.zeros((height, width), np.uint8)
        ours.generate_frame(frame)
        potentials = ours.potentials().reshape(height, width)
        reference_potentials = np.asarray(theirs.getPotentialSurface(), np.float32).reshape(height, width)
        distance = ulp_distance(potentials, reference_potentials)
        assert int(distance.max()) <= (0 if linear else 1), f"potentials differ by {int(distance.max())} ULP"
        differs = frame != expected
        assert not (differs & ~levels_near_tie(reference_potentials, vmax, vmin)).any()
        assert int(np.abs(frame.astype(int) - expected.astype(int)).max()) <= 1


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("mode", ["exp-decay", "linear-decay"])
def test_decay_frames_are_accumulator_frames(dv, seed: int, mode: str) -> None:  # type: ignore[no-untyped-def]
    """evlib.render.frames in a decay mode with the gray palette: each frame is dv's
    generateFrame() after accepting that frame's slice of events."""
    events, width, height = case(seed, 4000)
    linear = mode == "linear-decay"
    decay = 2e-4 if linear else 1500.0
    period = 2000
    got = list(render.frames([columns(events)], width=width, height=height, mode=mode, palette="gray", decay=decay,
                             fps=1e6 / period, t_start=0))
    theirs = dv_accumulator(dv, width, height, (linear, decay, True, 0.15, 1.0, 0.0, 0.0, False))
    last = int(events["t"][-1])
    assert len(got) == last // period + 1
    for k, (t_us, frame) in enumerate(got):
        assert t_us == (k + 1) * period
        part = events[(events["t"] >= k * period) & (events["t"] < t_us)]
        theirs.accept(event_store(dv, part))
        expected = theirs.generateFrame().image.reshape(height, width)
        gray = frame[..., 0]
        assert (frame == gray[..., None]).all()
        potentials = np.asarray(theirs.getPotentialSurface(), np.float32).reshape(height, width)
        differs = gray != expected
        assert not (differs & ~levels_near_tie(potentials, 1.0, 0.0)).any()


def test_real_recording_frames_are_event_visualizer_images(dv, recordings) -> None:  # type: ignore[no-untyped-def]
    """A real AEDAT 4.0 recording (EVLIB_RECORDINGS), 30 ms windows: each frame of
    evlib.render.frames with the "dv" palette is EventVisualizer's image of the same events."""
    import evlib
    from conftest import skip_or_fail

    path = recordings / "aedat4" / "tonic_sample.aedat4"
    if not path.is_file():
        skip_or_fail(f"{path} is missing (set EVLIB_RECORDINGS)")
    f = evlib.open(path)
    df = f.scan().collect()
    t = df.get_column("t").to_numpy()
    events = np.zeros(len(df), dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    for name in ("t", "x", "y", "p"):
        events[name] = df.get_column(name).to_numpy()
    visualizer = dv.visualization.EventVisualizer((f.width, f.height))
    checked = 0
    for t_us, frame in render.frames(path, palette="dv", accumulate_us=30_000, fps=1e6 / 30_000):
        window = events[(t >= t_us - 30_000) & (t < t_us)]
        expected = visualizer.generateImage(event_store(dv, window))[..., ::-1]
        np.testing.assert_array_equal(frame, expected, err_msg=f"frame at {t_us}")
        checked += 1
    assert checked >= 15
