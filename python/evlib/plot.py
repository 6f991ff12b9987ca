"""Plots of a recording with matplotlib (the ``plot`` extra): the event rate over time and the
per-pixel event counts.

Every function takes a path, an :class:`evlib.EventFile` (:func:`evlib.open`), or a Polars
DataFrame / LazyFrame (native columns ``t``, ``x``, ``y``, ``p``, or evlib 0.13's ``t``
Duration and ``polarity``), and an optional time window ``t_start`` / ``t_end`` (µs or
``"12.5s"``, half-open ``[t_start, t_end)``), which reaches the C++ scan (a file's time index
seeks to it). The events are streamed batch by batch: memory holds one batch and the result
(one row per time bin, or one count per pixel), never the whole recording.

The data behind each plot come from :func:`rate_data` and :func:`xy_data`; :func:`rate` and
:func:`xy` draw them on a matplotlib Axes (a new pyplot figure when ``ax`` is not given).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import polars as pl
from numpy.typing import NDArray

from ._api import EventFile, PathLike, _scan_extent
from ._core import ops as _ops
from ._times import TimeLike, optional_microseconds, to_microseconds

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

__all__ = ["rate", "rate_data", "xy", "xy_data"]

Source = Union[PathLike, EventFile, pl.DataFrame, pl.LazyFrame]

MAX_BINS = 20_000_000
"""The most time bins :func:`rate_data` makes (two int64 counters each): more means a bin far
too small for the recording's duration."""

_FRAME_ROWS = 1 << 20  # rows per piece when a Polars frame is streamed
ON_COLOUR, OFF_COLOUR, TOTAL_COLOUR = "tab:orange", "tab:blue", "black"


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError("evlib.plot needs matplotlib: pip install 'evlib[plot]'") from e
    return matplotlib


# ---------------------------------------------------------------------------------------------
# Streaming the events


def _frame_batches(frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str], t0: int | None,
                   t1: int | None) -> Iterator[dict[str, NDArray[Any]]]:
    """Native columns of a Polars frame in pieces: the window is a filter on ``t`` (pushed into
    an evlib scan by its IO source), the columns a projection."""
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    if "t" not in schema:
        raise ValueError(f"the frame has no column t (columns: {', '.join(schema.names())})")
    if schema["t"] == pl.Duration:  # evlib 0.13's layout
        lazy = lazy.with_columns(pl.col("t").dt.total_microseconds())
    if "p" in columns and "p" not in schema:
        if "polarity" not in schema:
            raise ValueError(f"the frame has no column p or polarity (columns: {', '.join(schema.names())})")
        lazy = lazy.with_columns((pl.col("polarity") > 0).alias("p"))
    if t0 is not None:
        lazy = lazy.filter(pl.col("t") >= t0)
    if t1 is not None:
        lazy = lazy.filter(pl.col("t") < t1)
    lazy = lazy.select(columns)
    pieces: Any = lazy.collect_batches(chunk_size=_FRAME_ROWS) if hasattr(lazy, "collect_batches") else \
        lazy.collect().iter_slices(_FRAME_ROWS)
    for piece in pieces:
        yield {name: piece.get_column(name).to_numpy() for name in columns}


def _batches(source: Source, columns: Sequence[str], t0: int | None, t1: int | None,
             polarity: int | None = None) -> Iterator[dict[str, NDArray[Any]]]:
    """The events of any accepted source as native NumPy columns, batch by batch."""
    if isinstance(source, (pl.DataFrame, pl.LazyFrame)):
        wanted = list(dict.fromkeys([*columns, "p"])) if polarity is not None else list(columns)
        for batch in _frame_batches(source, wanted, t0, t1):
            if polarity is not None:
                keep = (batch["p"] != 0) == bool(polarity)
                batch = {name: batch[name][keep] for name in columns}
            yield batch
        return
    events = source if isinstance(source, EventFile) else EventFile(source)
    for batch in events.iter_batches(t_start=t0, t_end=t1, polarity=polarity, columns=list(columns)):
        yield dict(batch.to_numpy())


def _name(source: Source) -> str:
    if isinstance(source, EventFile):
        return os.path.basename(source.path)
    if isinstance(source, (pl.DataFrame, pl.LazyFrame)):
        return "events"
    return os.path.basename(os.fspath(source))


def _window(t_start: TimeLike | None, t_end: TimeLike | None) -> tuple[int | None, int | None]:
    t0, t1 = optional_microseconds(t_start, "t_start"), optional_microseconds(t_end, "t_end")
    if t0 is not None and t1 is not None and t1 < t0:  # an empty plot, exit 0, before (equal: an empty window)
        raise ValueError(f"t_end ({_time_label(t1)}) must not come before t_start ({_time_label(t0)})")
    return t0, t1


def _time_label(us: int) -> str:
    """Exact seconds: 5.0105 s, 1605537493.718345 s (never rounded to 1.60554e+09)."""
    sign, us = ("-", -us) if us < 0 else ("", us)
    return f"{sign}{us // 1_000_000}.{us % 1_000_000:06d}".rstrip("0").rstrip(".") + " s"


def _window_label(t0: int | None, t1: int | None) -> str:
    if t0 is None and t1 is None:
        return ""
    return f" [{'start' if t0 is None else _time_label(t0)}, {'end' if t1 is None else _time_label(t1)})"


# ---------------------------------------------------------------------------------------------
# Event rate


class _BinCounter:
    """Counts OFF and ON events per time bin ``floor((t - origin) / width)``, in a zero-based
    array that grows both ways as bins appear (timestamps need not be sorted)."""

    def __init__(self, origin: int, width: int) -> None:
        self.origin, self.width = origin, width
        self.first = 0  # bin index of row 0
        self.counts = np.zeros((0, 2), dtype=np.int64)  # [bin - first, p]

    def cover(self, lo: int, hi: int) -> None:
        """Makes room for the bins ``lo..hi`` (inclusive)."""
        if hi < lo:
            return
        if not len(self.counts):
            self.first = lo
        new_first = min(self.first, lo)
        new_last = max(self.first + len(self.counts) - 1, hi)
        if new_last - new_first + 1 > MAX_BINS:
            raise ValueError(f"a bin of {self.width} µs makes more than {MAX_BINS:,} bins over these events: "
                             "choose a larger bin or a time window")
        if new_first == self.first and new_last == self.first + len(self.counts) - 1:
            return
        grown = np.zeros((new_last - new_first + 1, 2), dtype=np.int64)
        at = self.first - new_first
        grown[at:at + len(self.counts)] = self.counts
        self.first, self.counts = new_first, grown

    def add(self, t: NDArray[np.int64], p: NDArray[Any]) -> None:
        if not len(t):
            return
        if bool(np.all(t[:-1] <= t[1:])):
            self._add_sorted(t, p)
            return
        k = (t - self.origin) // self.width  # floor division: events before the origin fall in negative bins
        self.cover(int(k.min()), int(k.max()))
        cell = (k - self.first) * 2 + (p != 0)
        self.counts += np.bincount(cell, minlength=self.counts.size).reshape(-1, 2)

    def _add_sorted(self, t: NDArray[np.int64], p: NDArray[Any]) -> None:
        """Time-sorted events (the usual case): the bins' first events by binary search and the
        ON counts by segment sums: several times faster than binning every event."""
        lo, hi = (int(t[0]) - self.origin) // self.width, (int(t[-1]) - self.origin) // self.width
        self.cover(lo, hi)
        edges = self.origin + np.arange(lo + 1, hi + 1, dtype=np.int64) * self.width
        starts = np.concatenate(([0], np.searchsorted(t, edges, side="left")))
        ends = np.append(starts[1:], len(t))
        events = ends - starts
        if len(starts) <= 256:  # a few bins per batch: count_nonzero is SIMD, 10x faster than reduceat
            on = np.array([np.count_nonzero(p[a:b]) for a, b in zip(starts.tolist(), ends.tolist())], dtype=np.int64)
        else:
            on = np.add.reduceat(p != 0, starts, dtype=np.int64)
            on[events == 0] = 0  # reduceat gives p[start] for an empty segment
        rows = slice(lo - self.first, hi - self.first + 1)
        self.counts[rows, 1] += on
        self.counts[rows, 0] += events - on


def rate_data(
    source: Source,
    bin: TimeLike = "10ms",  # noqa: A002 - the name users type
    *,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
) -> pl.DataFrame:
    """Events per time bin and per second, ON and OFF apart, streamed in bounded memory.

    Bins are half-open ``[t0 + k * bin, t0 + (k + 1) * bin)`` with ``t0`` = ``t_start`` when
    given, else the time of the first event in file order. Rows run from the first bin holding
    an event (bin 0 when ``t_start`` is given) to the last one, or to the bin holding
    ``t_end - 1`` when ``t_end`` is given; bins without events in between are rows of zeros.
    The last bin ends at ``t_end`` when that cuts it short, and its rate is over that shorter
    duration; otherwise every bin lasts ``bin`` (the last one included: past the last event the
    recording's end is not known). No events (an empty file or window) and no ``t_start`` /
    ``t_end`` give no rows.

    Columns: ``t_start_us``, ``t_end_us`` (Int64, the bin's bounds in the file's clock),
    ``duration_us``, ``on``, ``off``, ``events`` (Int64 counts), ``on_per_s``, ``off_per_s``,
    ``events_per_s`` (Float64, count * 1e6 / duration_us).
    """
    width = to_microseconds(bin, "bin")
    if width <= 0:
        raise ValueError(f"bin must be positive, not {bin!r}")
    t0, t1 = _window(t_start, t_end)
    counter: _BinCounter | None = None if t0 is None else _BinCounter(t0, width)
    if t0 is None or t1 is None or t1 > t0:
        for batch in _batches(source, ("t", "p"), t0, t1):
            t = batch["t"]
            if not len(t):
                continue
            if counter is None:
                counter = _BinCounter(int(t[0]), width)
            counter.add(t, batch["p"])
        if counter is not None and t0 is not None:
            counter.cover(0, 0)  # the rows start at t_start
        if counter is not None and t1 is not None:
            counter.cover(counter.first, (t1 - 1 - counter.origin) // width)  # and end at t_end
    if counter is None or not len(counter.counts):
        counts, begin = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    else:
        counts = counter.counts
        begin = counter.origin + (counter.first + np.arange(len(counts), dtype=np.int64)) * width
    end = begin + width
    if t1 is not None:
        end = np.minimum(end, t1)
    duration = end - begin
    off, on = counts[:, 0], counts[:, 1]
    return pl.DataFrame({
        "t_start_us": begin,
        "t_end_us": end,
        "duration_us": duration,
        "on": on,
        "off": off,
        "events": on + off,
        "on_per_s": on * 1e6 / duration,
        "off_per_s": off * 1e6 / duration,
        "events_per_s": (on + off) * 1e6 / duration,
    }, schema={"t_start_us": pl.Int64, "t_end_us": pl.Int64, "duration_us": pl.Int64, "on": pl.Int64,
               "off": pl.Int64, "events": pl.Int64, "on_per_s": pl.Float64, "off_per_s": pl.Float64,
               "events_per_s": pl.Float64})


def rate(
    source: Source,
    bin: TimeLike = "10ms",  # noqa: A002
    *,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    ax: Axes | None = None,
    total: bool = True,
    title: str | None = None,
) -> Axes:
    """Plots events per second over time, ON, OFF and (``total=True``) all events, as steps
    over the bins of :func:`rate_data` (time in seconds on the file's clock). Returns the Axes
    (``ax.figure.savefig("rate.png")``); the plotted frame is ``ax.evlib_data``."""
    data = rate_data(source, bin, t_start=t_start, t_end=t_end)
    ax = _axes(ax, (10, 4))
    from matplotlib.ticker import EngFormatter

    if len(data):
        edges = np.append(data["t_start_us"].to_numpy(), data["t_end_us"][-1])
        origin = int(edges[0]) if edges[0] >= 10**10 else 0  # an absolute clock: seconds from the first bin
        seconds = (edges - origin) / 1e6
        if total:
            _stairs(ax, data["events_per_s"].to_numpy(), seconds, color=TOTAL_COLOUR, label="all events", linewidth=1.2)
        _stairs(ax, data["on_per_s"].to_numpy(), seconds, color=ON_COLOUR, label="ON", linewidth=1)
        _stairs(ax, data["off_per_s"].to_numpy(), seconds, color=OFF_COLOUR, label="OFF", linewidth=1)
        ax.set_xlim(seconds[0], seconds[-1])
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the axes, never over a line
        ax.set_xlabel("time (s)" if origin == 0 else f"time from {origin} µs (s)")
    else:
        ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center")
        ax.set_xlabel("time (s)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(EngFormatter())
    ax.set_ylabel("events/s")
    ax.grid(True, alpha=0.3)
    width = to_microseconds(bin, "bin")
    window = _window_label(*_window(t_start, t_end))
    ax.set_title(title if title is not None else
                 f"{_name(source)}{window}: event rate, {int(data['events'].sum()):,} events in bins of {width / 1e3:g} ms")
    ax.evlib_data = data  # type: ignore[attr-defined]
    return ax


def _stairs(ax: Axes, values: np.ndarray, edges: np.ndarray, **style: Any) -> Line2D:
    """Steps over the bins as one line, up from 0 at the first edge and down to 0 at the last.
    Not ``ax.stairs``: the patch it adds updates the axes' limits segment by segment in Python
    (17 s for 45 000 bins, minutes at 1 µs bins over seconds)."""
    x = np.repeat(edges, 2)
    y = np.concatenate(([0.0], np.repeat(values, 2), [0.0]))
    (line,) = ax.plot(x, y, **style)
    return line


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _matplotlib()
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


# ---------------------------------------------------------------------------------------------
# Per-pixel counts


def _geometry(source: Source, width: int | None, height: int | None) -> tuple[int, int]:
    """The sensor size: given, else the file's header, else the events' extent (one pass)."""
    if width and height:
        return width, height
    if isinstance(source, (pl.DataFrame, pl.LazyFrame)):
        extent = source.lazy().select(pl.col("x").max(), pl.col("y").max()).collect()
        if extent["x"][0] is None:
            raise ValueError("the frame has no events to infer the sensor size from; give width= and height=")
        return width or int(extent["x"][0]) + 1, height or int(extent["y"][0]) + 1
    events = source if isinstance(source, EventFile) else EventFile(source)
    if events.width and events.height:
        return width or events.width, height or events.height
    inferred = _scan_extent(events)
    return width or inferred[0], height or inferred[1]


def xy_data(
    source: Source,
    *,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    polarity: int | None = None,
    width: int | None = None,
    height: int | None = None,
) -> NDArray[np.uint64]:
    """Events per pixel, ``(height, width)`` uint64, counted by the C++ pixel counter of
    :mod:`evlib.ops` batch by batch. The sensor size is ``width`` / ``height``, else the
    file's header, else the events' extent; events outside it are not counted. ``polarity``
    1 (ON) or 0 (OFF) counts one polarity (pushed into the scan)."""
    if polarity not in (None, 0, 1):
        raise ValueError(f"polarity must be 0 (OFF) or 1 (ON), not {polarity!r}")
    source = source if isinstance(source, (EventFile, pl.DataFrame, pl.LazyFrame)) else EventFile(source)
    w, h = _geometry(source, width, height)
    counter = _ops.PixelCounter(w, h)
    t0, t1 = _window(t_start, t_end)
    for batch in _batches(source, ("t", "x", "y", "p"), t0, t1, polarity):
        counter.add(*(np.ascontiguousarray(batch[name], dtype) for name, dtype in
                      (("t", np.int64), ("x", np.uint16), ("y", np.uint16), ("p", np.uint8))))
    counts: NDArray[np.uint64] = counter.counts()
    return counts


def xy(
    source: Source,
    *,
    t_start: TimeLike | None = None,
    t_end: TimeLike | None = None,
    polarity: int | None = None,
    log: bool = True,
    width: int | None = None,
    height: int | None = None,
    ax: Axes | None = None,
    cmap: str = "magma",
    title: str | None = None,
) -> Axes:
    """Plots the per-pixel event counts of :func:`xy_data` as a heatmap (sensor orientation:
    x to the right, y down) with a colour bar, on a log colour scale unless ``log=False``
    (pixels without events take the lowest colour). Returns the Axes; the plotted counts are
    ``ax.evlib_data``."""
    matplotlib = _matplotlib()
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.ticker import EngFormatter

    source = source if isinstance(source, (EventFile, pl.DataFrame, pl.LazyFrame)) else EventFile(source)
    counts = xy_data(source, t_start=t_start, t_end=t_end, polarity=polarity, width=width, height=height)
    h, w = counts.shape
    ax = _axes(ax, _xy_size(w, h))
    peak = int(counts.max()) if counts.size else 0
    norm = LogNorm(vmin=1, vmax=max(peak, 2)) if log and peak > 0 else Normalize(vmin=0, vmax=max(peak, 1))
    colours = matplotlib.colormaps[cmap].with_extremes(bad=matplotlib.colormaps[cmap](0.0))
    image = ax.imshow(counts, cmap=colours, norm=norm, origin="upper", interpolation="antialiased",
                      interpolation_stage="rgba", aspect="equal")
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label("events per pixel" + (" (log scale)" if isinstance(norm, LogNorm) else ""))
    bar.ax.yaxis.set_major_formatter(EngFormatter())  # 1, 20, 300, 4 k, 50 M rather than powers of ten
    if isinstance(norm, LogNorm) and norm.vmax < 100:  # less than two decades: label the minor ticks too
        bar.ax.yaxis.set_minor_formatter(EngFormatter())
    ax.set_xlabel("x (pixel)")
    ax.set_ylabel("y (pixel)")
    which = {None: "events", 1: "ON events", 0: "OFF events"}[polarity]
    window = _window_label(*_window(t_start, t_end))
    ax.set_title(title if title is not None else
                 f"{_name(source)}{window}: {which} per pixel ({int(counts.sum()):,} on {w}x{h})")
    ax.evlib_data = counts  # type: ignore[attr-defined]
    return ax


# ---------------------------------------------------------------------------------------------
# The command: python -m evlib plot, evlib-plot


def add_command(commands: Any) -> Any:
    """Adds ``plot`` to the subcommands of ``python -m evlib`` (see evlib.__main__)."""
    parser = commands.add_parser(
        "plot", help="plot a recording's event rate or per-pixel counts to an image",
        description="Plots the event rate over time (--kind rate: events/s, ON, OFF and all) or the "
                    "per-pixel event counts (--kind xy) of an event file into an image (PNG, SVG or PDF "
                    "from OUT's extension), streaming the file in bounded memory.")
    parser.add_argument("file", metavar="FILE", help="event file (any format evlib reads)")
    parser.add_argument("out", metavar="OUT", help="image to write, e.g. rate.png")
    parser.add_argument("--kind", choices=("rate", "xy"), default="rate", help="what to plot (default: rate)")
    parser.add_argument("--bin", default="10ms", help="rate: time bin, e.g. 10ms, 1s, 500us (default: 10ms)")
    parser.add_argument("--from", dest="t_start", metavar="T", help="start of the time window, e.g. 1.5s (included)")
    parser.add_argument("--to", dest="t_end", metavar="T", help="end of the time window, e.g. 3s (excluded)")
    parser.add_argument("--polarity", choices=("on", "off"), help="xy: count only ON or OFF events")
    parser.add_argument("--linear", action="store_true", help="xy: linear colour scale (default: logarithmic)")
    parser.add_argument("--format", help="read FILE as this format instead of detecting it")
    parser.add_argument("--dpi", type=int, default=100, help="image resolution, pixels per inch (default: 100)")
    parser.add_argument("--title", help="title instead of the generated one")
    parser.set_defaults(run=_run_command)
    return parser


def _run_command(args: Any) -> int:
    matplotlib = _matplotlib()
    matplotlib.use("Agg")  # files only, never a display
    from ._charts import new_figure, save_figure

    out = os.fspath(args.out)
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{out}: the directory {directory} does not exist")
    if not 1 <= args.dpi <= 2400:  # a figure of 10 x 4 inches at 100 000 dpi failed as std::bad_alloc
        raise ValueError(f"--dpi must be from 1 to 2400, not {args.dpi}")
    events = EventFile(args.file, **({"format": args.format} if args.format else {}))
    figure = new_figure((10, 4) if args.kind == "rate" else _xy_size(events.width, events.height), args.dpi)
    extension = os.path.splitext(out)[1].lstrip(".").lower()
    if extension not in figure.canvas.get_supported_filetypes():
        raise ValueError(f"{out}: cannot write a {extension or 'file without extension'} image "
                         "(use .png, .svg or .pdf)")
    ax = figure.add_subplot()
    if args.kind == "rate":
        rate(events, args.bin, t_start=args.t_start, t_end=args.t_end, ax=ax, title=args.title)
    else:
        xy(events, t_start=args.t_start, t_end=args.t_end, ax=ax, log=not args.linear, title=args.title,
           polarity=None if args.polarity is None else int(args.polarity == "on"))
    save_figure(figure, out)
    return 0


def _xy_size(width: int | None, height: int | None) -> tuple[float, float]:
    """Figure inches for a heatmap: the sensor's aspect within 8 x 6 inches, plus room for the
    colour bar, the labels and the title."""
    w, h = width or 640, height or 480
    scale = min(8.0 / w, 6.0 / h)
    return w * scale + 2.0, h * scale + 1.2
