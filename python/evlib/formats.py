"""evlib 0.13's ``evlib.formats`` (placeholder: the compatibility layer replaces this file)."""

from __future__ import annotations

from typing import Any


def _not_yet(name: str) -> Any:
    def missing(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"evlib.formats.{name} is not available yet")

    missing.__name__ = name
    return missing


detect_format = _not_yet("detect_format")
get_format_description = _not_yet("get_format_description")
save_events_to_hdf5 = _not_yet("save_events_to_hdf5")
save_events_to_text = _not_yet("save_events_to_text")
load_events = _not_yet("load_events")
