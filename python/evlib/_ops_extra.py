"""Tier-2 processing operations, re-exported by :mod:`evlib.ops`: the fast-decay noise filter,
decimation, the seeded augmentations (:mod:`evlib._augment`) and Prophesee's preprocessors
(:mod:`evlib._prophesee`). docs/processing.md gives each one's reference, edge rules and
deviations. Events are taken in any form :func:`evlib.ops.columns` reads."""

from __future__ import annotations

from ._core import ops_extra as _kernels
from . import _args, _augment, _prophesee, ops
from .ops import Events, SensorSize, _Filter, _sensor, columns
from ._augment import *  # noqa: F403  (the augmentations, listed in _augment.__all__)
from ._prophesee import *  # noqa: F403  (Prophesee's preprocessors, listed in _prophesee.__all__)

__all__ = ["Decimation", "FastDecay", "decimate", "fast_decay", *_augment.__all__, *_prophesee.__all__]


class FastDecay(_Filter):
    """dv-processing's ``FastDecayNoiseFilter``: each ``subdivision_factor``-square cell keeps a
    float counter that halves every ``half_life`` µs and grows by one per event; an event is kept
    when its cell's counter, after counting it, exceeds ``noise_threshold``. The counters and
    last times start at 0 and carry from batch to batch."""

    def __init__(self, sensor_size: SensorSize, half_life: int = 10000, subdivision_factor: int = 4,
                 noise_threshold: float = 6.0) -> None:
        self._kernel = _kernels.FastDecayFilter(*_sensor(sensor_size), _args.whole(half_life, "half_life"),
                                                _args.whole(subdivision_factor, "subdivision_factor", 1, 2**32 - 1),
                                                _args.real(noise_threshold, "noise_threshold"))


def fast_decay(events: Events, sensor_size: SensorSize, half_life: int = 10000, subdivision_factor: int = 4,
               noise_threshold: float = 6.0) -> Events:
    """The events :class:`FastDecay` keeps, from a fresh filter (dv-processing's defaults)."""
    return FastDecay(sensor_size, half_life, subdivision_factor, noise_threshold).filter(events)


class Decimation(_Filter):
    """tonic's ``Decimation(n)``: each pixel keeps its n-th, 2n-th, ... event (polarities
    counted together). The counts carry from batch to batch."""

    def __init__(self, sensor_size: SensorSize, n: int) -> None:
        self._kernel = _kernels.DecimationFilter(*_sensor(sensor_size), _args.whole(n, "n", 1, 2**32 - 1))


def decimate(events: Events, n: int, sensor_size: SensorSize | None = None) -> Events:
    """The events :class:`Decimation` keeps, from fresh counts. Without ``sensor_size`` the
    sensor is sized from the events (``max(x) + 1``, ``max(y) + 1``), as tonic does, over the
    coordinates on a sensor: a negative one (or one past 65535), off every sensor, is dropped
    rather than taken for a 65536-pixel-wide sensor."""
    if sensor_size is None:
        _, x, y, _ = columns(events)
        on_sensor = (x != 0xFFFF) & (y != 0xFFFF)  # columns() puts coordinates off every sensor at 65535
        sensor_size = (int(x[on_sensor].max()) + 1, int(y[on_sensor].max()) + 1) if on_sensor.any() else (1, 1)
    return Decimation(sensor_size, n).filter(events)


# evlib.ops re-exports this module with one star import; its __all__ lists its own names only.
ops.__all__ += [name for name in __all__ if name not in ops.__all__]
