"""evlib 0.13's ``evlib.representations`` (placeholder: the compatibility layer replaces this file)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotImplementedError(f"evlib.representations.{name} comes with the processing kernels and is not available yet")
