"""evlib.ops on real recordings (EVLIB_RECORDINGS; skipped when absent, a failure under
CI=true): the first events of each file through the ops and through tonic 1.7.0,
dv-processing 2.0.4 and the RVT / E2VID formulas, and the streaming filters fed the file's own
batches give what they give on the whole."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

import evlib
from conftest import skip_or_fail
from evlib import ops
from ops_streams import TONIC_DTYPE, reference
from test_ops_dv import event_store, store_rows
from test_ops_formulas import e2vid_voxel_grid, rvt_stacked_histogram

REAL = ["evt2/evt2_sample.raw", "dat/NCARS_obj_004397_td.dat", "aedat4/tonic_sample.aedat4"]
LIMIT = 20_000


def first_events(recordings: Path, name: str) -> tuple[np.ndarray, tuple[int, int]]:
    path = recordings / name
    if not path.is_file():
        skip_or_fail(f"missing real recording {name} (set EVLIB_RECORDINGS)")
    frame = evlib.scan_events(path).head(LIMIT).collect()
    events = np.zeros(frame.height, TONIC_DTYPE)
    for k in ("t", "x", "y", "p"):
        events[k] = frame[k].to_numpy()
    # The data's own extent: tonic sizes its per-pixel state from it.
    return events, (int(events["x"].max()) + 1, int(events["y"].max()) + 1)


@pytest.mark.parametrize("name", REAL)
def test_real_events_match_tonic(name: str, recordings: Path) -> None:
    functional = reference("tonic.functional", "tonic==1.7.0")
    events, sensor = first_events(recordings, name)
    np.testing.assert_array_equal(ops.Refractory(sensor, 1000).filter(events),
                                  functional.refractory_period_numpy(events.copy(), 1000))
    np.testing.assert_array_equal(ops.BackgroundActivity(sensor, 5000, convention="tonic").filter(events),
                                  functional.denoise_numpy(events.copy(), 5000))
    window = max(1, int(events["t"][-1] - events["t"][0]) // 7)
    np.testing.assert_array_equal(
        ops.event_frame(events, sensor, time_window=window, overflow="wrap"),
        functional.to_frame_numpy(events.copy(), (*sensor, 2), time_window=window))
    np.testing.assert_array_equal(ops.voxel_grid(events, sensor, 5, convention="tonic"),
                                  functional.to_voxel_grid_numpy(events.copy(), (*sensor, 2), 5)[:, 0])


@pytest.mark.parametrize("name", REAL)
def test_real_events_match_dv_processing(name: str, recordings: Path) -> None:
    dv = reference("dv_processing", "dv-processing==2.0.4")
    events, sensor = first_events(recordings, name)
    store = event_store(dv, events)
    baf = dv.noise.BackgroundActivityNoiseFilter(sensor, backgroundActivityDuration=datetime.timedelta(milliseconds=2))
    baf.accept(store)
    kept = ops.BackgroundActivity(sensor, 2000, convention="dv").filter(events)
    got = np.stack([kept["t"], kept["x"], kept["y"], kept["p"]], 1).astype(np.int64).reshape(-1, 4)
    np.testing.assert_array_equal(got, store_rows(baf.generateEvents()))
    surface = dv.TimeSurface(sensor)
    surface.accept(store)
    timestamps = ops.LastTimestampMap(sensor)
    timestamps.add(events)
    np.testing.assert_array_equal(timestamps.frame(), surface.generateFrame().image.reshape(sensor[1], sensor[0]))


@pytest.mark.parametrize("name", REAL)
def test_real_events_match_rvt_and_e2vid_formulas(name: str, recordings: Path) -> None:
    events, (width, height) = first_events(recordings, name)
    np.testing.assert_array_equal(ops.stacked_histogram(events, (width, height), bins=10, count_cutoff=10),
                                  rvt_stacked_histogram(events, width, height, 10, 10, True))
    np.testing.assert_array_equal(ops.voxel_grid(events, (width, height), 5),
                                  e2vid_voxel_grid(events, width, height, 5))


@pytest.mark.parametrize("name", REAL)
def test_filters_over_a_files_batches_match_the_whole_file(name: str, recordings: Path) -> None:
    path = recordings / name
    if not path.is_file():
        skip_or_fail(f"missing real recording {name} (set EVLIB_RECORDINGS)")
    f = evlib.open(path)
    whole = evlib.scan_events(path).collect()
    sensor = (int(whole["x"].max()) + 1, int(whole["y"].max()) + 1)
    for make in (lambda: ops.Refractory(sensor, 500, convention="dv"), lambda: ops.Stcf(sensor, 10_000, 2),
                 lambda: ops.BackgroundActivity(sensor, 3000, convention="jaer")):
        expected = make().keep_mask(whole)
        streaming = make()
        got = np.concatenate([streaming.keep_mask(batch) for batch in f.iter_batches(by_count=3_001)])
        np.testing.assert_array_equal(got, expected)
