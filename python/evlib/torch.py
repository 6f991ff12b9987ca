"""PyTorch datasets over event recordings: a representation per window, as tensors.

:class:`EventWindowDataset` streams files through :class:`evlib.ops.Pipeline` (filters, then
windows of time or of events, then a representation) and yields each frame as a tensor sharing
the NumPy array's memory (DLPack). It is an ``IterableDataset``: a ``DataLoader`` with several
workers splits the work so that every (file, window) is yielded exactly once. Needs
``torch`` (``pip install 'evlib[torch]'``).
"""

from __future__ import annotations

import datetime
import functools
import inspect
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Union

from numpy.typing import NDArray

try:
    from torch.utils.data import IterableDataset, get_worker_info
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError("evlib.torch needs torch: pip install 'evlib[torch]'") from e

from . import _args, ops
from ._api import EventFile
from ._paths import native_path
from ._times import TimeLike, to_microseconds

__all__ = ["EventWindowDataset"]

PathLike = Union[str, os.PathLike]
Sensor = tuple[int, int]
RepresentationFn = Callable[[ops.Window, Sensor], NDArray[Any]]
LabelFn = Callable[[str, int, ops.Window], Any]
FiltersFn = Callable[[Sensor], Sequence[Any]]


def _voxel_grid(window: ops.Window, sensor: Sensor, n_time_bins: int = 5, **options: Any) -> NDArray[Any]:
    return ops.voxel_grid(window, sensor, n_time_bins, **options)


# Module-level functions, bound to their options with functools.partial: a dataset holding a
# lambda could not be pickled, so DataLoader workers started by spawn or forkserver failed.
_BUILT_IN: dict[str, Callable[..., NDArray[Any]]] = {
    "histogram": ops.event_frame,
    "stacked_histogram": ops.stacked_histogram,
    "voxel_grid": _voxel_grid,
}


class EventWindowDataset(IterableDataset):  # type: ignore[type-arg]
    """Files × windows, each window's representation as a tensor.

    Args:
        files: the recordings, read in this order.
        representation: ``"histogram"`` (:func:`evlib.ops.event_frame`), ``"stacked_histogram"``
            (RVT's), ``"voxel_grid"`` (``n_time_bins`` in ``options``, default 5), or a callable
            ``(window, (width, height)) -> ndarray`` where ``window`` is a dict of columns
            ``t``, ``x``, ``y``, ``p``.
        time_window / event_count: the windows, µs (or a time such as ``"10ms"``) from each
            file's first kept event, or events (docs/processing.md section 11; the last window of a file may be shorter).
        filters: ``(width, height) -> [filters]``, called once per file, so that each file starts
            with fresh filter states (e.g. ``lambda s: [ops.Refractory(s, 1000)]``).
        label: ``(path, window_index, window) -> label``; items are then ``(tensor, label)``.
        sensor_size: ``(width, height)`` for files whose header does not give it.
        shard: how DataLoader workers split the work. ``"file"``: worker ``k`` of ``n`` reads
            files ``k, k + n, ...``; ``"window"``: every worker reads every file and makes the
            representation of windows ``k, k + n, ...`` only; ``"auto"``: by file when there
            are at least as many files as workers, else by window.
        options: keyword arguments of the built-in representation (e.g. ``bins=10``).
    """

    def __init__(
        self,
        files: Sequence[PathLike],
        representation: str | RepresentationFn = "histogram",
        *,
        time_window: TimeLike | None = None,
        event_count: int | None = None,
        filters: FiltersFn | None = None,
        label: LabelFn | None = None,
        sensor_size: Sensor | None = None,
        shard: Literal["auto", "file", "window"] = "auto",
        **options: Any,
    ) -> None:
        super().__init__()
        if isinstance(representation, str):
            if representation not in _BUILT_IN:
                raise ValueError(f"unknown representation {representation!r} (use one of {sorted(_BUILT_IN)} or a callable)")
            built_in = _BUILT_IN[representation]
            try:  # an unknown option refused here, not in a DataLoader worker at the first window
                checked = ops.voxel_grid if built_in is _voxel_grid else built_in
                defaults = {"n_time_bins": 5} if built_in is _voxel_grid else {}
                inspect.signature(checked).bind(None, None, **{**defaults, **options})
            except TypeError as e:
                raise TypeError(f"{representation} options: {e}") from None
            self._represent: RepresentationFn = functools.partial(built_in, **options)
        elif options:
            raise TypeError("options apply to the built-in representations only")
        else:
            self._represent = representation
        if shard not in ("auto", "file", "window"):
            raise ValueError(f"shard must be 'auto', 'file' or 'window', got {shard!r}")
        if time_window is not None:  # "10ms", a timedelta, or µs as a whole number (100000.0 too)
            time_window = (to_microseconds(time_window, "time_window") if isinstance(time_window, (str, datetime.timedelta))
                           else _args.whole(time_window, "time_window"))
        ops._WindowCutter(time_window, event_count)  # checks the window arguments now
        # One path is one file (a str is a sequence too: its characters were taken as paths).
        self.files = [native_path(files)] if isinstance(files, (str, bytes, os.PathLike)) else [native_path(f) for f in files]
        self.time_window = time_window
        self.event_count = event_count
        self.filters = filters
        self.label = label
        self.sensor_size = None if sensor_size is None else ops._sensor(sensor_size)  # checked now
        self.shard = shard

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        by_file = self.shard == "file" or (self.shard == "auto" and len(self.files) >= workers)
        files = self.files[worker::workers] if by_file else self.files
        for path in files:
            sensor = self._sensor(path)
            pipeline = ops.Pipeline(self.filters(sensor) if self.filters else (), time_window=self.time_window,
                                    event_count=self.event_count)
            for index, window in enumerate(pipeline.run(path)):
                if not by_file and index % workers != worker:
                    continue
                tensor = ops.to_torch(self._represent(window, sensor))
                yield (tensor, self.label(path, index, window)) if self.label else tensor

    def _sensor(self, path: str) -> Sensor:
        if self.sensor_size is not None:
            return self.sensor_size
        f = EventFile(path)
        if not f.width or not f.height:
            raise ValueError(f"{path}: the file does not give the sensor size: pass sensor_size=(width, height)")
        return (int(f.width), int(f.height))

