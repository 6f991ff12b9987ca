"""evlib 0.13's ``evlib.representations`` names. They come with the processing layer (C++
kernels); until then each raises :class:`NotImplementedError` saying so."""

from __future__ import annotations

from typing import Any, Callable, NoReturn


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


create_stacked_histogram = pending("representations", "create_stacked_histogram")
create_voxel_grid = pending("representations", "create_voxel_grid")
voxel_grid = pending("representations", "voxel_grid")
densify_voxel_grid = pending("representations", "densify_voxel_grid")
create_event_frame = pending("representations", "create_event_frame")
densify_event_frame = pending("representations", "densify_event_frame")
create_time_surface = pending("representations", "create_time_surface")
densify_time_surface = pending("representations", "densify_time_surface")
create_mixed_density_stack = pending("representations", "create_mixed_density_stack")
time_surface = pending("representations", "time_surface")
event_histogram = pending("representations", "event_histogram")
preprocess_for_detection = pending("representations", "preprocess_for_detection")
benchmark_vs_rvt = pending("representations", "benchmark_vs_rvt")

__all__ = [
    "benchmark_vs_rvt",
    "create_event_frame",
    "create_mixed_density_stack",
    "create_stacked_histogram",
    "create_time_surface",
    "create_voxel_grid",
    "densify_event_frame",
    "densify_time_surface",
    "densify_voxel_grid",
    "event_histogram",
    "preprocess_for_detection",
    "time_surface",
    "voxel_grid",
]
