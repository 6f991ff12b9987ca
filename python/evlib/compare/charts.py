"""The comparison's PNG charts, drawn by the package's chart helper (:mod:`evlib._charts`):
one grouped bar chart per metric, the files (formats) as groups and the readers as series, on a
log scale. Readers that decode other events than ours carry "(wrong)" in their legend entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def grouped_bars(path: Path, rows: Sequence[dict[str, Any]], value: str, title: str, ylabel: str) -> Path:
    """``rows``: ``{"file": ..., "reader": ..., value: ...}``, one per bar."""
    from .._charts import bar_chart

    groups = len({row["file"] for row in rows})
    readers = len({row["reader"] for row in rows})
    width = max(8.0, 1.2 + groups * (0.25 * readers + 0.4))
    bar_chart(rows, value, "file", path, series="reader", log=True, title=title, ylabel=ylabel,
              size=(width, 5.0), labels=readers * groups <= 40)
    return path
