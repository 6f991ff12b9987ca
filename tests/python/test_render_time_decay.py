"""mode="time-decay": OpenEB's TimeDecayFrameGenerationAlgorithm, checked against its definition
written here in NumPy (docs/rendering.md, "time-decay"), and its colour map against OpenEB's own
construction through OpenCV when OpenCV is installed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import evlib
from conftest import run_cli
from evlib import render

N_LUT = 32


def fast_exp_decay(v: np.ndarray) -> np.ndarray:
    """OpenEB's Math::fast_exp_decay(init_exp_decay_lut(32), v), in float32, in its order."""
    lut = np.array([-math.log((N_LUT - i) / N_LUT) for i in range(N_LUT)], dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    k = np.searchsorted(lut, v, side="right")  # std::upper_bound
    inside = (v > 0) & (k < N_LUT)
    k = np.clip(k, 1, N_LUT - 1)
    n = np.float32(N_LUT)
    d0v = lut[k - 1] - v
    d01 = lut[k - 1] - lut[k]
    intercept = (N_LUT + 1 - k).astype(np.float32) / n
    slope = np.float32(-1) / (d01 * n)
    out = np.where(inside, intercept + slope * d0v, np.float32(0))
    return np.where(v <= 0, np.float32(1), out).astype(np.float32)


def decay_values(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray, width: int, height: int,
                 tau: int) -> np.ndarray:
    """f per pixel (height x width) after the events: +-fast_exp_decay((t_last - t_pixel) / tau)."""
    last = np.zeros(2 * height * width, dtype=np.int64)  # OpenEB starts the surface at 0
    cell = (p.astype(np.int64) * height + y) * width + x
    cells, first_from_end = np.unique(cell[::-1], return_index=True)
    last[cells] = t[::-1][first_from_end]  # the last event of each pixel and polarity
    last = last.reshape(2, height, width)
    t_last = int(t[-1]) if len(t) else 0
    dt_off, dt_on = t_last - last[0], t_last - last[1]
    dt = np.minimum(dt_off, dt_on)
    sign = np.where(dt_off > dt_on, np.float32(1), np.float32(-1))
    return sign * fast_exp_decay(dt.astype(np.float32) / np.float32(tau))


def rounded_near_ties(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rint(value), and where value is near a .5 tie without being one (a last-bit difference of
    the log in the table may round it either way; exact ties, as the background's 127.5, round
    to even in both)."""
    value = value.astype(np.float64)
    off_tie = np.abs(value - np.floor(value) - 0.5)
    return np.rint(value), (off_tie < 1e-4) & (off_tie > 0)


@pytest.fixture(scope="module")
def events() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 40_000
    return {
        "t": np.cumsum(rng.integers(0, 5, n)).astype(np.int64) + 1_000,
        "x": rng.integers(0, 64, n).astype(np.uint16),
        "y": rng.integers(0, 32, n).astype(np.uint16),
        "p": rng.integers(0, 2, n).astype(np.uint8),
    }


@pytest.mark.parametrize("palette", ["gray", "prophesee-dark", "cool-warm"])
def test_frames_follow_openeb_s_definition(events: dict[str, np.ndarray], palette: str) -> None:
    tau = 3_000
    got = list(render.frames(events, mode="time-decay", palette=palette, decay=tau, fps=100, width=64, height=32))
    assert len(got) >= 8  # 80 ms of events at 100 fps
    colors = evlib._core.time_decay_colors(palette).reshape(257, 3)
    for t_us, frame in got:
        shown = events["t"] < t_us  # a frame holds every event before its time
        f = decay_values(*(events[c][shown] for c in ("t", "x", "y", "p")), 64, 32, tau)
        if palette == "gray":
            level, tie = rounded_near_ties(np.float32(0.5) * (1 + f) * np.float32(255))
            assert (frame[..., 0] == frame[..., 1]).all() and (frame[..., 0] == frame[..., 2]).all()
            assert (np.abs(frame[..., 0] - level) <= tie).all(), t_us
        else:
            index, tie = rounded_near_ties(np.float32(0.5) * (1 + f) * np.float32(256))
            expected = colors[index.astype(np.intp)]
            differs = (frame != expected).any(axis=2)
            assert not (differs & ~tie).any(), t_us


def test_fast_exp_decay_is_openeb_s() -> None:
    v = np.concatenate([np.linspace(-1, 4, 2001, dtype=np.float32), np.float32([0, 3.4657359, 3.4657360, 10])])
    got = np.array([evlib._core.fast_exp_decay(float(x)) for x in v], dtype=np.float32)
    np.testing.assert_allclose(got, fast_exp_decay(v), rtol=0, atol=1e-6)
    assert np.abs(got - np.exp(-np.maximum(v, 0)))[v < 3.4].max() < 0.01  # exp(-v), roughly


def openeb_colormap(cv2: object, background: tuple[float, ...], on: tuple[float, ...],
                    off: tuple[float, ...]) -> np.ndarray:
    """OpenEB's detail::init_colormap (time_decay_frame_generation_algorithm.cpp), RGB."""

    def lab(rgb: tuple[float, ...]) -> np.ndarray:
        return cv2.cvtColor(np.array([[rgb]], dtype=np.float32), cv2.COLOR_RGB2Lab)[0, 0]  # type: ignore[attr-defined]

    def blend(c0: tuple[float, ...], c1: tuple[float, ...], f: float) -> list[int]:
        l0, l1 = lab(c0), lab(c1)
        mixed = np.array([[[float(l0[k]) * (1 - f) + float(l1[k]) * f for k in range(3)]]], dtype=np.float32)
        rgb = cv2.cvtColor(mixed, cv2.COLOR_Lab2RGB)[0, 0]  # type: ignore[attr-defined]
        return [int(np.rint(np.float32(255) * rgb[k])) for k in range(3)]

    table = []
    for i in range(257):
        if i < 128:
            table.append(blend(off, background, i / 127))
        elif i == 128:
            table.append([int(np.rint(np.float32(255) * np.float32(c))) for c in background])
        else:
            table.append(blend(background, on, (i - 129) / 127))
    return np.array(table)


# OpenEB's float colours (sdk/core/utils/detail/colors_impl.h): background, positive, negative.
OPENEB_PALETTES = {
    "prophesee-dark": ((0.1171875, 0.14453125, 0.203125), (1.0, 1.0, 1.0), (0.25, 0.4921875, 0.78515625)),
    "prophesee-light": ((1.0, 1.0, 1.0), (0.25, 0.4921875, 0.78515625), (0.1171875, 0.14453125, 0.203125)),
    "cool-warm": ((0.8509804, 0.8784314, 0.9294118), (1.0, 0.4431373, 0.4588235), (0.3411765, 0.4823529, 0.7764706)),
}


@pytest.mark.parametrize("palette", sorted(OPENEB_PALETTES))
def test_colour_map_is_openeb_s_through_opencv(palette: str) -> None:
    """Skipped without OpenCV (not a test dependency: checked with opencv-python-headless 4.10.0.84
    and 5.0.0.93, all 257 entries equal for the three palettes)."""
    cv2 = pytest.importorskip("cv2")
    expected = openeb_colormap(cv2, *OPENEB_PALETTES[palette])
    got = evlib._core.time_decay_colors(palette).reshape(257, 3)
    assert (got == expected).all()


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* of sRGB colours in 0..1 (D65; OpenCV's constants), float64."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    xyz = lin @ (to_xyz / np.array([0.950456, 1.0, 1.088754])[:, None]).T
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lightness = np.where(xyz[..., 1] > 0.008856, 116 * f[..., 1] - 16, 903.3 * xyz[..., 1])
    return np.stack([lightness, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def rgb_of(lab: np.ndarray) -> np.ndarray:
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    linear = lightness <= 0.008856 * 903.3
    y = np.where(linear, lightness / 903.3, ((lightness + 16) / 116) ** 3)
    fy = np.where(linear, 7.787 * y + 16 / 116, (lightness + 16) / 116)

    def inverse(t: np.ndarray) -> np.ndarray:
        return np.where(t <= 7.787 * 0.008856 + 16 / 116, (t - 16 / 116) / 7.787, t**3)

    xyz = np.stack([inverse(a / 500 + fy), y, inverse(fy - b / 200)], axis=-1)
    to_rgb = np.array([[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]])
    lin = np.clip(xyz @ (to_rgb * np.array([0.950456, 1.0, 1.088754])[None, :]).T, 0, 1)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def test_custom_colours_blend_in_cie_lab() -> None:
    """A palette OpenEB does not have: the blends computed from the Lab formulas (float64 here,
    float in evlib: equal, or 1 apart where a value lies near a rounding tie)."""
    background, on, off = np.array([16, 32, 48]), np.array([250, 220, 40]), np.array([40, 90, 230])
    got = evlib._core.time_decay_colors("custom", "102030,fadc28,285ae6").reshape(257, 3).astype(int)
    lab = {name: lab_of(c / 255.0) for name, c in (("bg", background), ("on", on), ("off", off))}
    low = np.arange(128)[:, None] / 127
    high = (np.arange(129, 257)[:, None] - 129) / 127
    mixed = np.concatenate([lab["off"] * (1 - low) + lab["bg"] * low, lab["bg"][None],
                            lab["bg"] * (1 - high) + lab["on"] * high])
    expected = np.rint(255 * rgb_of(mixed)).astype(int)
    expected[128] = background
    assert np.abs(got - expected).max() <= 1
    assert (np.abs(got - expected) > 0).sum() <= 3
    assert (got[0] == off).all() and (got[128] == background).all() and (got[256] == on).all()
    # Lab blending is not RGB blending: the middle of the OFF half is not the RGB midpoint.
    assert np.abs(got[64] - np.rint((off + background) / 2)).max() > 3


def test_cli_renders_the_same_frame(cli: Path, generate: Callable[..., Path], tmp_path: Path) -> None:
    recording = generate("evt3", 100_000, 4, "--rate", "2e6", "--width", "320", "--height", "240")
    run_cli(cli, "render", "-q", str(recording), str(tmp_path / "f_%03d.png"), "--mode", "time-decay", "--decay",
            "2000", "--fps", "50")
    frames = list(render.frames(recording, mode="time-decay", decay=2_000, fps=50))
    files = sorted(tmp_path.glob("f_*.png"))
    assert len(files) == len(frames) >= 2
    for path, (_t, frame) in zip(files, frames):
        assert path.read_bytes() == render.to_png(frame)
