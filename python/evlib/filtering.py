"""evlib 0.13's ``evlib.filtering`` names. They come with the processing layer (C++ kernels);
until then each raises :class:`NotImplementedError` saying so. Row filters by time, region and
polarity are available now: the ``t_start``, ``t_end``, ``min_x``... arguments of
:func:`evlib.load_events`, or ``filter`` on its frame (pushed into the scan)."""

from __future__ import annotations

from typing import Any, Callable, NoReturn

__all__ = [
    "filter_by_polarity",
    "filter_by_roi",
    "filter_by_time",
    "filter_hot_pixels",
    "filter_multiple_rois",
    "filter_noise",
    "preprocess_events",
]


def pending(module: str, name: str) -> Callable[..., NoReturn]:
    """A stand-in for evlib 0.13's ``module.name`` that raises NotImplementedError when called."""

    def not_implemented(*args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            f"evlib.{module}.{name} comes with evlib's processing layer (C++ kernels), which this "
            "version does not have yet"
        )

    not_implemented.__name__ = not_implemented.__qualname__ = name
    not_implemented.__doc__ = f"evlib 0.13's ``{name}``: not available yet (raises NotImplementedError)."
    return not_implemented


filter_by_time = pending("filtering", "filter_by_time")
filter_by_roi = pending("filtering", "filter_by_roi")
filter_by_polarity = pending("filtering", "filter_by_polarity")
filter_hot_pixels = pending("filtering", "filter_hot_pixels")
filter_noise = pending("filtering", "filter_noise")
filter_multiple_rois = pending("filtering", "filter_multiple_rois")
preprocess_events = pending("filtering", "preprocess_events")
