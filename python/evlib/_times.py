"""Times and regions as the native API takes them: integer µs or strings such as ``"12.5s"``."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Union

TimeLike = Union[int, str, datetime.timedelta]
"""A time in the file's clock: integer microseconds, a ``timedelta``, or a string with a unit
(``"12.5s"``, ``"12500ms"``, ``"12500000us"``; no unit means µs)."""

RegionLike = tuple[int, int, int, int]
"""A region ``(x0, y0, x1, y1)``: the half-open rectangle ``[x0, x1) x [y0, y1)``."""

_UNIT_US = {"s": Decimal(1_000_000), "ms": Decimal(1000), "us": Decimal(1), "µs": Decimal(1), "ns": Decimal("0.001")}
_TIME = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(s|ms|us|µs|ns)?\s*$")


def to_microseconds(value: TimeLike, name: str = "time") -> int:
    """Converts a time argument to integer microseconds, refusing fractions of a microsecond."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected µs or a string such as '12.5s', not a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.timedelta):
        us = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        return us
    if isinstance(value, str):
        match = _TIME.match(value)
        if not match:
            raise ValueError(f"{name}: cannot read {value!r} as a time (e.g. 12500000, '12.5s', '12500ms', '3us')")
        try:
            us = Decimal(match.group(1)) * _UNIT_US[match.group(2) or "us"]
        except InvalidOperation as e:  # pragma: no cover - the pattern admits only numbers
            raise ValueError(f"{name}: cannot read {value!r} as a time") from e
        if us != us.to_integral_value():
            raise ValueError(f"{name}: {value!r} is not a whole number of microseconds")
        return int(us)
    if hasattr(value, "__index__"):  # NumPy integers
        return int(value.__index__())
    raise TypeError(f"{name}: expected integer µs, a timedelta or a string such as '12.5s', not {type(value).__name__}")


def optional_microseconds(value: TimeLike | None, name: str) -> int | None:
    """:func:`to_microseconds`, passing ``None`` through."""
    return None if value is None else to_microseconds(value, name)


def check_region(roi: RegionLike | None) -> tuple[int, int, int, int] | None:
    """Validates a region ``(x0, y0, x1, y1)`` (half-open) and returns it as ints."""
    if roi is None:
        return None
    if len(roi) != 4:
        raise ValueError(f"roi must be (x0, y0, x1, y1), got {roi!r}")
    x0, y0, x1, y1 = (int(v) for v in roi)
    if min(x0, y0, x1, y1) < 0 or x0 > x1 or y0 > y1:
        raise ValueError(f"roi must be (x0, y0, x1, y1) with 0 <= x0 <= x1 and 0 <= y0 <= y1, got {roi!r}")
    return x0, y0, x1, y1


def parse_bytes(value: int | str | None, name: str = "memory_limit") -> int | None:
    """Bytes as an int or a string with a binary unit (``"256M"``, ``"2G"``, ``"512KiB"``)."""
    if value is None or isinstance(value, int):
        return value
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", str(value), re.IGNORECASE)
    if not match:
        raise ValueError(f"{name}: cannot read {value!r} as a size (e.g. 268435456, '256M', '2G')")
    scale = 1024 ** " KMGT".index(match.group(2).upper() or " ")
    return int(Decimal(match.group(1)) * scale)
