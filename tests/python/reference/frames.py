"""Small event frames in evlib 0.13's layout for the filtering and representation tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

WIDTH, HEIGHT = 12, 9  # coordinates: x < WIDTH, y < HEIGHT


def compat_frame(t: Any, x: Any, y: Any, polarity: Any) -> pl.DataFrame:
    """Events in evlib 0.13's layout (x, y Int16, t Duration µs, polarity Int8)."""
    return pl.DataFrame(
        {
            "x": pl.Series(x, dtype=pl.Int16),
            "y": pl.Series(y, dtype=pl.Int16),
            "t": pl.Series(np.asarray(t, dtype=np.int64), dtype=pl.Int64).cast(pl.Duration("us")),
            "polarity": pl.Series(polarity, dtype=pl.Int8),
        }
    )


def synthetic(n: int = 4000, seed: int = 5, signed: bool = True) -> pl.DataFrame:
    """A small sensor (so that pixels repeat within a refractory period), time ties, and three
    pixels far busier than the others (hot pixels)."""
    rng = np.random.default_rng(seed)
    t = 100 + np.cumsum(rng.choice([0, 1, 3, 40, 250, 900], size=n))
    x = rng.integers(0, WIDTH, n)
    y = rng.integers(0, HEIGHT, n)
    hot = rng.random(n) < 0.15
    x[hot] = rng.choice([1, 7, 11], size=int(hot.sum()))
    y[hot] = 4
    on = rng.integers(0, 2, n)
    return compat_frame(t, x, y, 2 * on - 1 if signed else on)
