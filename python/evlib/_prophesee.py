"""Prophesee's event preprocessors as OpenEB's C++ SDK defines them (``HistoProcessor``,
``DiffProcessor``, ``EventCubeProcessor``), re-exported by :mod:`evlib.ops`. float32 tensors,
values computed in OpenEB's float32 arithmetic and event order (docs/processing.md
"Prophesee preprocessors").

Each function adds one window's events into a tensor: a new zeroed one, or ``out`` when given,
which is added to and not zeroed, so a window's events can be fed batch after batch.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from . import _args
from ._core import ops_extra as _kernels
from .ops import Events, SensorSize, _sensor, columns

__all__ = ["prophesee_diff", "prophesee_event_cube", "prophesee_histo"]


def _tensor(out: NDArray[np.float32] | None, shape: tuple[int, ...]) -> NDArray[np.float32]:
    if out is None:
        return np.zeros(shape, dtype=np.float32)
    if _args.array(out, "out").shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"out must be a writable C-contiguous float32 array of shape {shape}, "
                         f"got {out.dtype} {out.shape}")
    return out


def _scales(max_incr_per_pixel: float, clip: float, width_scale: float, height_scale: float) -> dict[str, Any]:
    return {"max_incr_per_pixel": _args.real(max_incr_per_pixel, "max_incr_per_pixel"),
            "clip": _args.real(clip, "clip_value_after_normalization"),
            "width_scale": _args.real(width_scale, "width_scale"), "height_scale": _args.real(height_scale, "height_scale")}


def prophesee_histo(events: Events, sensor_size: SensorSize, *, max_incr_per_pixel: float = 5.0,
                    clip_value_after_normalization: float = 1.0, layout: Literal["CHW", "HWC"] = "CHW",
                    width_scale: float = 1.0, height_scale: float = 1.0,
                    out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """``HistoProcessor``: per (polarity, pixel) ``v = min(clip, v + ws·hs / max_incr_per_pixel)``;
    ``(2, H, W)`` for ``"CHW"`` (channel = polarity, OFF first), ``(H, W, 2)`` for ``"HWC"``."""
    width, height = _sensor(sensor_size)
    layout = _args.choice(layout, "layout", ("CHW", "HWC"))
    shape = (2, height, width) if layout == "CHW" else (height, width, 2)
    tensor = _tensor(out, shape)
    _kernels.prophesee_histo(*columns(events), width, height,
                             **_scales(max_incr_per_pixel, clip_value_after_normalization, width_scale, height_scale),
                             chw=layout == "CHW", out=tensor)
    return tensor


def prophesee_diff(events: Events, sensor_size: SensorSize, *, max_incr_per_pixel: float = 5.0,
                   clip_value_after_normalization: float = 1.0, width_scale: float = 1.0, height_scale: float = 1.0,
                   out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """``DiffProcessor``: ``(1, H, W)``, per event ``v = clamp(v ± increment, -clip, clip)`` (ON +,
    OFF −), clamped after every event, so the result depends on the events' order."""
    width, height = _sensor(sensor_size)
    tensor = _tensor(out, (1, height, width))
    _kernels.prophesee_diff(*columns(events), width, height,
                            **_scales(max_incr_per_pixel, clip_value_after_normalization, width_scale, height_scale),
                            out=tensor)
    return tensor


def prophesee_event_cube(events: Events, sensor_size: SensorSize, delta_t: int, num_utbins: int, *,
                         split_polarity: bool = True, start_time: int | None = None,
                         max_incr_per_pixel: float = 5.0, clip_value_after_normalization: float = 1.0,
                         width_scale: float = 1.0, height_scale: float = 1.0,
                         out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """``EventCubeProcessor``: ``(num_utbins · P, H, W)``, ``P = 2`` with ``split_polarity``
    (channel ``bin · 2 + p``) else 1 (OFF events weigh −1). An event at ``t`` spreads linear
    weights over the bins around ``ti* = (t − start) · (num_utbins / delta_t) − 0.5``; weights are
    scaled by ``ws·hs / max_incr_per_pixel`` and values clamped to ``[−clip, clip]`` after every
    addition. ``start_time`` defaults to the first event's time; events before it are skipped."""
    width, height = _sensor(sensor_size)
    split_polarity = _args.flag(split_polarity, "split_polarity")
    num_utbins = _args.whole(num_utbins, "num_utbins", 1, 2**32 - 1)
    delta_t = _args.whole(delta_t, "delta_t")
    planes = 2 if split_polarity else 1
    tensor = _tensor(out, (num_utbins * planes, height, width))
    cols = columns(events)
    if start_time is None:
        start_time = int(cols[0][0]) if len(cols[0]) else 0
    _kernels.prophesee_event_cube(*cols, width, height, _args.whole(start_time, "start_time"), delta_t, num_utbins,
                                  split_polarity,
                                  **_scales(max_incr_per_pixel, clip_value_after_normalization, width_scale,
                                            height_scale),
                                  out=tensor)
    return tensor
