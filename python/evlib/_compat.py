"""evlib 0.13's ``load_events`` (placeholder: the compatibility layer replaces this file)."""

from __future__ import annotations

import os
from typing import Any, Optional

import polars as pl

from ._source import scan_frame


def load_events(
    path: Any,
    t_start: Optional[float] = None,
    t_end: Optional[float] = None,
    min_x: Optional[int] = None,
    max_x: Optional[int] = None,
    min_y: Optional[int] = None,
    max_y: Optional[int] = None,
    polarity: Optional[int] = None,
    sort: bool = True,
) -> pl.LazyFrame:
    """evlib 0.13's loader: x Int16, y Int16, t Duration("us"), polarity Int8 (-1/+1)."""
    frame = scan_frame(os.fspath(path), layout="compat", polarity_values=(-1, 1))
    conditions = []
    if t_start is not None:
        conditions.append(pl.col("t").dt.total_microseconds() >= int(t_start * 1_000_000))
    if t_end is not None:
        conditions.append(pl.col("t").dt.total_microseconds() <= int(t_end * 1_000_000))
    for name, op, value in (("x", "ge", min_x), ("x", "le", max_x), ("y", "ge", min_y), ("y", "le", max_y)):
        if value is not None:
            conditions.append(getattr(pl.col(name), op)(value))
    if polarity is not None:
        conditions.append(pl.col("polarity") == polarity)
    if conditions:
        frame = frame.filter(pl.all_horizontal(conditions))
    if sort:
        frame = frame.sort("t", maintain_order=True)
    return frame
