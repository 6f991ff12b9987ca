"""Bounds on t, x, y and polarity found in a Polars predicate, to push into the C++ scan.

The predicate's JSON serialization is walked; its format changes between Polars versions, so
anything not recognised contributes no bound. Only conjuncts (``&``) are used: the bounds are
a superset of what the predicate keeps, and the source still applies the full predicate to
every batch, so a missed bound costs time, never correctness.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import polars as pl

Number = Fraction

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UNIT_US = {"Microseconds": Fraction(1), "Milliseconds": Fraction(1000), "Nanoseconds": Fraction(1, 1000)}
# Casts that keep every value of our columns (at most 16 bits, t 64 bits) as it is.
_WIDENING = {"Int32", "Int64", "UInt32", "UInt64", "Float64", "Int128"}


@dataclass
class Interval:
    """Closed integer interval [lo, hi]; ``None`` for an unbounded side."""

    lo: Optional[int] = None
    hi: Optional[int] = None

    def at_least(self, v: int) -> None:
        self.lo = v if self.lo is None else max(self.lo, v)

    def at_most(self, v: int) -> None:
        self.hi = v if self.hi is None else min(self.hi, v)

    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > self.hi


@dataclass
class Bounds:
    """Per-column bounds in the columns' exported domain (µs for t, the mapped polarity values)."""

    columns: dict[str, Interval] = field(default_factory=dict)
    impossible: bool = False  # a conjunct no row can satisfy (e.g. x == 2.5)

    def interval(self, name: str) -> Interval:
        return self.columns.setdefault(name, Interval())


def _literal(node: Any) -> Optional[Number]:
    """The numeric value of a literal node (in µs for durations), else None."""
    if not isinstance(node, dict):
        return None
    if "Alias" in node and isinstance(node["Alias"], list) and node["Alias"]:
        return _literal(node["Alias"][0])
    lit = node.get("Literal")
    if not isinstance(lit, dict):
        return None
    if "Dyn" in lit and isinstance(lit["Dyn"], dict):
        dyn = lit["Dyn"]
        value = dyn.get("Int", dyn.get("Float"))
    elif "Scalar" in lit and isinstance(lit["Scalar"], dict) and len(lit["Scalar"]) == 1:
        ((kind, value),) = lit["Scalar"].items()
        if kind == "Duration":
            if not (isinstance(value, list) and len(value) == 2 and value[1] in _UNIT_US):
                return None
            return Fraction(value[0]) * _UNIT_US[value[1]]
        if not (kind.startswith(("Int", "UInt", "Float"))):
            return None
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Fraction(value)


def _column(node: Any, names: set[str]) -> Optional[str]:
    """The column a node reads unchanged (through widening casts and, for t, total_microseconds)."""
    if not isinstance(node, dict):
        return None
    if "Column" in node:
        name = node["Column"]
        return name if name in names else None
    cast = node.get("Cast")
    if isinstance(cast, dict):
        dtype = cast.get("dtype")
        target = dtype.get("Literal") if isinstance(dtype, dict) else dtype
        if isinstance(target, str) and target in _WIDENING:
            return _column(cast.get("expr"), names)
        return None
    function = node.get("Function")
    if isinstance(function, dict):
        inputs, fn = function.get("input"), function.get("function")
        if (
            isinstance(inputs, list)
            and len(inputs) == 1
            and isinstance(fn, dict)
            and isinstance(fn.get("TemporalExpr"), dict)
            and "TotalMicroseconds" in fn["TemporalExpr"]
        ):
            return _column(inputs[0], names)
    return None


_FLIP = {"Gt": "Lt", "GtEq": "LtEq", "Lt": "Gt", "LtEq": "GtEq", "Eq": "Eq"}


def _apply(bounds: Bounds, name: str, op: str, value: Number) -> None:
    iv = bounds.interval(name)
    if op == "Gt":
        iv.at_least(math.floor(value) + 1)
    elif op == "GtEq":
        iv.at_least(math.ceil(value))
    elif op == "Lt":
        iv.at_most(math.ceil(value) - 1)
    elif op == "LtEq":
        iv.at_most(math.floor(value))
    elif op == "Eq":
        if value.denominator != 1:
            bounds.impossible = True
        else:
            iv.at_least(int(value))
            iv.at_most(int(value))


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, dict) and isinstance(node.get("BinaryExpr"), dict) and node["BinaryExpr"].get("op") in ("And", "LogicalAnd"):
        return _conjuncts(node["BinaryExpr"].get("left")) + _conjuncts(node["BinaryExpr"].get("right"))
    return [node]


def _visit(node: Any, names: set[str], bounds: Bounds) -> None:
    if not isinstance(node, dict):
        return
    binary = node.get("BinaryExpr")
    if isinstance(binary, dict) and binary.get("op") in _FLIP:
        op = binary["op"]
        left, right = binary.get("left"), binary.get("right")
        name, value = _column(left, names), _literal(right)
        if name is None or value is None:
            name, value, op = _column(right, names), _literal(left), _FLIP[op]
        if name is not None and value is not None:
            _apply(bounds, name, op, value)
        return
    function = node.get("Function")
    if isinstance(function, dict):
        fn, inputs = function.get("function"), function.get("input")
        between = fn.get("Boolean", {}).get("IsBetween") if isinstance(fn, dict) and isinstance(fn.get("Boolean"), dict) else None
        if isinstance(between, dict) and isinstance(inputs, list) and len(inputs) == 3:
            name, lo, hi = _column(inputs[0], names), _literal(inputs[1]), _literal(inputs[2])
            closed = between.get("closed")
            if name is None or lo is None or hi is None or closed not in ("Both", "Left", "Right", "None"):
                return
            _apply(bounds, name, "GtEq" if closed in ("Both", "Left") else "Gt", lo)
            _apply(bounds, name, "LtEq" if closed in ("Both", "Right") else "Lt", hi)


def bounds_of(predicate: pl.Expr | None, names: set[str]) -> Bounds:
    """Bounds on the named columns implied by predicate (a superset of the rows it keeps)."""
    bounds = Bounds()
    if predicate is None:
        return bounds
    try:
        tree = json.loads(predicate.meta.serialize(format="json"))
    except Exception:  # noqa: BLE001 - an expression Polars cannot serialise pushes nothing
        return bounds
    for conjunct in _conjuncts(tree):
        try:
            _visit(conjunct, names, bounds)
        except (TypeError, ValueError, AttributeError, OverflowError):
            continue
    return bounds
