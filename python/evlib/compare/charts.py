"""The comparison's PNG charts, drawn by the package's chart helper (:mod:`evlib._charts`):
one grouped bar chart per metric, the files (formats) as groups and the readers as series, on a
log scale. The bars of a reader that decoded other events than ours on that file are hatched and
greyed; readers keep one colour each (20 colours, as there can be more than 10 readers)."""

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
    """``rows``: ``{"file": ..., "reader": ..., "correct": bool, value: ...}``, one per bar."""
    from matplotlib import colormaps
    from matplotlib.patches import Patch

    from .._charts import bar_chart, save_figure

    files = list(dict.fromkeys(row["file"] for row in rows))
    readers = list(dict.fromkeys(row["reader"] for row in rows))
    width = max(8.0, 1.2 + len(files) * (0.25 * len(readers) + 0.4))
    figure = bar_chart(rows, value, "file", path, series="reader", log=True, title=title, ylabel=ylabel,
                       size=(width, 5.0), labels=len(readers) * len(files) <= 40)
    wrong = {(row["file"], row["reader"]) for row in rows if not row["correct"]}
    palette = colormaps["tab20"].colors
    ax = figure.axes[0]
    for i, (reader, bars) in enumerate(zip(readers, ax.containers)):
        for f, bar in zip(files, bars):
            bar.set_color(palette[i % len(palette)])
            if (f, reader) in wrong:
                bar.set_facecolor("#cccccc")
                bar.set_edgecolor(palette[i % len(palette)])
                bar.set_hatch("//")
    handles = [Patch(color=palette[i % len(palette)], label=reader) for i, reader in enumerate(readers)]
    ax.legend(handles=handles, title="reader (hatched: wrong events)", fontsize=8, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    save_figure(figure, path)
    return path
