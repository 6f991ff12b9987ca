"""Checks of the scalar arguments of :mod:`evlib.ops` before they reach the kernels' typed bindings.

A value that does not fit a binding's C++ type (a negative count, a number past int64, a float
where a whole number is meant, 1 where a bool is meant) would otherwise fail with nanobind's dump
of the binding's signature, which names neither the argument nor what was wrong. The kernels keep
the checks of meaning (a positive half-life, 1 or 2 polarities); these only make the value
reach them, or fail with a message that names the argument.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Collection
from typing import Any

import numpy as np

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


def is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == np.bool_)


def whole(value: Any, name: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """``value`` as an int in ``[low, high]``: an integer (Python's, NumPy's, a 0-d array's, a
    tensor's: anything with ``__index__``), or a number with no fractional part (``1e4``,
    ``Decimal("10")``); a fraction is refused rather than truncated."""
    if is_bool(value) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        try:
            real_value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a whole number, not {value!r}") from None
        if not math.isfinite(real_value) or int(value) != value:
            raise ValueError(f"{name} must be a whole number, not {value!r}") from None
        number = int(value)
    if number < low:
        raise ValueError(f"{name} must be at least {low}, not {value!r}")
    if number > high:
        limit = {INT64_MAX: "2^63 - 1", UINT64_MAX: "2^64 - 1"}.get(high, str(high))
        raise ValueError(f"{name} must be at most {limit}, not {value!r}")
    return number


def flag(value: Any, name: str) -> bool:
    """A bool: True, False, NumPy's bools (0-d arrays too), or the integers 0 and 1."""
    if is_bool(value) and np.ndim(value) == 0:
        return bool(value)
    if not isinstance(value, (str, bytes, float)):
        try:
            number = operator.index(value)
        except TypeError:
            number = None
        if number in (0, 1):
            return bool(number)
    raise TypeError(f"{name} must be True or False, not {value!r}")


def choice(value: Any, name: str, options: Collection[str]) -> str:
    """One of ``options`` (strings)."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {listed}, not {value!r}")
    return value


def real(value: Any, name: str) -> float:
    """A real number as a float (NaN and infinities pass: the kernels say what they accept)."""
    if is_bool(value) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number, not {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, not {value!r}") from None


def array(value: Any, name: str) -> np.ndarray:
    """A NumPy array given to receive a result (``out=``)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, not {type(value).__name__}")
    return value
