"""PNG bar charts of the comparison (matplotlib, imported only when charts are drawn).

One function, ``bar_panels``, so that switching to the package's shared chart helper
(``evlib._charts``) once it exists touches only this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

Bar = tuple[str, float, bool]  # label, value, correct (wrong readers are hatched in grey)


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def bar_panels(path: Path, title: str, panels: Sequence[tuple[str, Sequence[Bar]]], xlabel: str) -> Path:
    """One horizontal bar chart per panel (e.g. per format), stacked, log-scaled x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [max(1, len(bars)) * 0.32 + 0.7 for _, bars in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, sum(heights) + 0.6), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (name, bars) in zip(axes[:, 0], panels):
        labels = [label for label, _, _ in bars]
        values = [value for _, value, _ in bars]
        colours = ["#1f77b4" if label.startswith("evlib ") and "0.13" not in label else "#ff7f0e" for label in labels]
        drawn = ax.barh(range(len(bars)), values, color=colours)
        for bar, (_, _, correct) in zip(drawn, bars):
            if not correct:
                bar.set_color("#bbbbbb")
                bar.set_hatch("//")
        ax.set_yticks(range(len(bars)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(name, fontsize=9, loc="left")
        for i, value in enumerate(values):
            ax.annotate(f"{value:.3g}", (value, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
        ax.margins(x=0.15)
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
