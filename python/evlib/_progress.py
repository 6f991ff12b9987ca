"""Progress reporting between chunks: a tqdm bar or a user callback."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

ProgressOption = Union[bool, Callable[[float, int, float], Any], None]


class Progress:
    """Adapts the C++ stream's ``(bytes_done, bytes_total, events, seconds)`` reports.

    ``progress=True`` shows a tqdm bar (``tqdm.auto``, so notebooks get a widget) that appears
    only when a load lasts more than half a second; a callable receives ``(fraction, events,
    events_per_second)``. An exception raised by the callback ends the load and propagates.
    """

    def __init__(self, option: ProgressOption, description: str = "evlib") -> None:
        self._callback: Optional[Callable[[float, int, float], Any]] = None
        self._bar: Any = None
        self._description = description
        self._bar_wanted = option is True
        if callable(option):
            self._callback = option
        self._last_bytes = 0

    @property
    def active(self) -> bool:
        return self._bar_wanted or self._callback is not None

    def __call__(self, bytes_done: int, bytes_total: int, events: int, seconds: float) -> None:
        fraction = min(bytes_done / bytes_total, 1.0) if bytes_total else 0.0
        rate = events / seconds if seconds > 0 else 0.0
        if self._bar_wanted:
            self._update_bar(bytes_done, bytes_total, events, rate)
        if self._callback is not None:
            self._callback(fraction, events, rate)

    def _update_bar(self, bytes_done: int, bytes_total: int, events: int, rate: float) -> None:
        if self._bar is None:
            from tqdm.auto import tqdm  # imported on first use: importing evlib stays light

            self._bar = tqdm(
                total=bytes_total or None, unit="B", unit_scale=True, unit_divisor=1024, desc=self._description, delay=0.5
            )
        self._bar.update(max(bytes_done - self._last_bytes, 0))
        self._last_bytes = bytes_done
        self._bar.set_postfix_str(f"{events:,} events, {rate / 1e6:.0f} M ev/s", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
