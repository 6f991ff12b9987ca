"""PNG charts for evlib's tools (comparisons, profiles, plots), drawn with matplotlib's Agg
canvas: no display and no pyplot state, so they work in scripts, CI and threads alike.

:func:`bar_chart` draws a value per group (and per series, as grouped bars), :func:`line_chart`
one or more series over a shared x, with an optional second y-axis; both write the figure with
:func:`save_figure` (atomically: a failed write leaves no file) and return it, so tests and
callers can read back what was drawn.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._api import PathLike

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["bar_chart", "line_chart", "new_figure", "save_figure"]

Table = Any  # polars.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


def new_figure(size: tuple[float, float] = (8.0, 4.5), dpi: int = 100) -> Figure:
    """A matplotlib Figure on an Agg canvas, ``size`` inches at ``dpi`` (the PNG's pixels are
    their product), with constrained layout so that labels stay inside."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("evlib's charts need matplotlib: pip install 'evlib[plot]'") from e
    figure = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: PathLike) -> None:
    """Writes the figure (format from the extension: png, svg, pdf, ...) through a temporary
    file renamed into place, so that an interrupted or failed write leaves no partial file."""
    target = os.fspath(path)
    extension = os.path.splitext(target)[1].lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(f"{target}: cannot write a {extension or 'file without extension'} image "
                         f"(extensions: {', '.join(sorted(supported))})")
    directory = os.path.dirname(os.path.abspath(target))
    descriptor, temporary = tempfile.mkstemp(prefix=".evlib-", suffix="." + extension, dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as out:
            figure.savefig(out, format=extension, dpi=figure.dpi)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _rows(table: Table) -> list[Mapping[str, Any]]:
    """The table as a list of rows (a Polars frame, a list of mappings, or a mapping of columns)."""
    if hasattr(table, "to_dicts"):
        return list(table.to_dicts())
    if isinstance(table, Mapping):
        names = list(table)
        columns = [list(table[name]) for name in names]
        if len({len(c) for c in columns}) > 1:
            raise ValueError("the table's columns differ in length")
        return [dict(zip(names, values)) for values in zip(*columns)]
    return [dict(row) for row in table]


def _compact(value: float) -> str:
    """A bar's label: 3 significant digits with an SI prefix (1.23 k, 45.6 M)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exponent = min(max(int(math.floor(math.log10(abs(value)) / 3)), -2), 4)
    prefix = {-2: "µ", -1: "m", 0: "", 1: "k", 2: "M", 3: "G", 4: "T"}[exponent]
    return f"{value / 1000**exponent:.3g}{' ' + prefix if prefix else ''}"


def _large_numbers_readable(axis: Any, values: Sequence[Any]) -> None:
    """Ticks as 10 k, 2.5 M, 1 G on an axis whose values reach 10^4 (rather than 1e8 offsets or
    powers of ten); smaller values keep matplotlib's plain ticks (no 'm' prefixes for 0.5)."""
    from matplotlib.ticker import EngFormatter

    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    if finite and max(finite) >= 1e4:
        axis.set_major_formatter(EngFormatter())


def bar_chart(
    table: Table,
    value: str,
    group: str,
    path: PathLike,
    *,
    series: str | None = None,
    log: bool = True,
    title: str | None = None,
    ylabel: str | None = None,
    size: tuple[float, float] = (8.0, 4.5),
    dpi: int = 100,
    labels: bool = True,
) -> Figure:
    """Bars of ``table[value]`` for each ``group`` (categories on x, in first-seen order); with
    ``series``, one bar per series value inside each group, coloured, with a legend (e.g. group
    = format, series = reader). Missing or non-finite values draw no bar; on a log scale
    (default) zero and negative ones neither. Each bar is labelled with its value. Writes
    ``path`` and returns the figure."""
    rows = _rows(table)
    for column in (value, group) + ((series,) if series else ()):
        if rows and column not in rows[0]:
            raise ValueError(f"the table has no column {column!r} (columns: {', '.join(rows[0])})")
    groups = list(dict.fromkeys(row[group] for row in rows))
    names = list(dict.fromkeys(row[series] for row in rows)) if series else [None]
    cells = {(row[group], row[series] if series else None): row[value] for row in rows}

    figure = new_figure(size, dpi)
    ax = figure.add_subplot()
    slot = 0.8 / len(names)
    for i, name in enumerate(names):
        heights = [cells.get((g, name)) for g in groups]
        heights = [float(h) if h is not None and math.isfinite(float(h)) and (float(h) > 0 or not log)
                   else math.nan for h in heights]
        positions = [k - 0.4 + slot * (i + 0.5) for k in range(len(groups))]
        bars = ax.bar(positions, heights, width=slot * 0.95, label=None if name is None else str(name))
        if labels:
            ax.bar_label(bars, labels=["" if math.isnan(h) else _compact(h) for h in heights], fontsize=8, padding=2)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups], rotation=30 if len(groups) > 6 else 0,
                  ha="right" if len(groups) > 6 else "center")
    if log:
        ax.set_yscale("log")
    _large_numbers_readable(ax.yaxis, [row[value] for row in rows])
    ax.margins(y=0.15)
    ax.set_ylabel(ylabel or value)
    ax.set_xlabel(group)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.set_axisbelow(True)
    if series:
        ax.legend(title=series, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside, over no bar
    if title:
        ax.set_title(title)
    save_figure(figure, path)
    return figure


def line_chart(
    x: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    path: PathLike,
    *,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    right: Mapping[str, Sequence[float | None]] | None = None,
    right_label: str = "",
    logy_right: bool = False,
    size: tuple[float, float] = (8.0, 4.5),
    dpi: int = 100,
) -> Figure:
    """One line with markers per entry of ``series`` over ``x`` (``None`` leaves a gap), and
    optionally the ``right`` series against a second y-axis with its own label and scale
    (dashed; e.g. throughput on the left, peak memory on the right, against chunk size).
    Writes ``path`` and returns the figure."""
    figure = new_figure(size, dpi)
    ax = figure.add_subplot()
    handles = _lines(ax, x, series, "-", first_colour=0)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    _large_numbers_readable(ax.xaxis, x)
    _large_numbers_readable(ax.yaxis, [y for ys in series.values() for y in ys])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if right:
        other = ax.twinx()
        handles += _lines(other, x, right, "--", first_colour=len(series))  # no two lines share a colour
        other.set_ylabel(right_label)
        if logy_right:
            other.set_yscale("log")
        _large_numbers_readable(other.yaxis, [y for ys in right.values() for y in ys])
    if len(handles) > 1 or right:
        ax.legend(handles=handles, fontsize=8)
    if title:
        ax.set_title(title)
    save_figure(figure, path)
    return figure


def _lines(ax: Any, x: Sequence[float], series: Mapping[str, Sequence[float | None]], style: str, *,
           first_colour: int) -> list[Any]:
    from matplotlib import rcParams

    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (name, ys) in enumerate(series.items(), start=first_colour):
        if len(ys) != len(x):
            raise ValueError(f"series {name!r} has {len(ys)} values for {len(x)} x values")
        values = [math.nan if y is None else float(y) for y in ys]
        (line,) = ax.plot(list(x), values, style, marker="o", markersize=4, label=name,
                         color=colours[i % len(colours)])
        handles.append(line)
    return handles
