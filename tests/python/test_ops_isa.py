"""The wheel is built for baseline x86-64 and picks the processing kernels' AVX2 loops at run time
(src/core/avx2_dispatch.hpp: the pixel cells of the event frame, stacked histogram and
last-timestamp map, the stacked histogram's block time range, the voxel grids' weights and pixel
offsets, the STCF filter's loop, the HOTS surfaces' table reads): they must give the outputs of the scalar loops, bit for
bit. EVLIB_MAX_BLOCK_ISA=scalar (read once per process) forces the scalar loops, so each path runs
in a process of its own."""

from __future__ import annotations

from isa_runs import needs_avx2, run_script

# Runs every dispatched op over random streams and prints one digest per (op, case). Odd sensor
# widths and heights (rows end between the kernels' 4 and 8 lanes), events off the sensor (x, y
# past it: not counted), windows and batches cut at random places (blocks end anywhere), repeated
# times and time jumps.
RUN_ALL_OPS = """
import hashlib
import numpy as np
from evlib import ops

rng = np.random.default_rng(11)


def stream(width, height, n):
    steps = rng.choice([0, 0, 1, 3, 40], n) * (rng.random(n) < 0.3)
    steps[rng.integers(0, n, 3)] += 70_000  # a few quiet stretches
    t = np.cumsum(steps).astype(np.int64) + int(rng.integers(-5_000, 5_000))
    x = rng.integers(0, width + 3, n).astype(np.uint16)  # ~3 columns past the sensor
    y = rng.integers(0, height + 2, n).astype(np.uint16)
    x[rng.random(n) < 0.002] = 65535
    p = rng.integers(0, 2, n).astype(np.uint8)
    return {"t": t, "x": x, "y": y, "p": p}


def cut(events, lo, hi):
    return {k: v[lo:hi] for k, v in events.items()}


def splits(n):
    points = np.sort(rng.integers(0, n + 1, int(rng.integers(1, 12))))
    return [0, *points.tolist(), n]


def show(name, *arrays):
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(str((a.dtype, a.shape)).encode())
        digest.update(a.tobytes())
    print(name, digest.hexdigest())


for width, height in [(61, 43), (33, 17), (346, 260), (7, 5)]:
    events = stream(width, height, 30_000)
    size = (width, height)
    n = len(events["t"])
    for polarities in (1, 2):
        for dtype, overflow in [(np.int16, "wrap"), (np.uint8, "saturate"), (np.int8, "wrap"), (np.float32, "saturate")]:
            show(f"frame {size} {polarities} {np.dtype(dtype)} {overflow}",
                 ops.event_frame(events, size, polarities=polarities, dtype=dtype, overflow=overflow),
                 ops.event_frame(events, size, polarities=polarities, dtype=dtype, overflow=overflow, event_count=997))
    for case in range(6):
        lo = int(rng.integers(0, n // 2))
        hi = int(rng.integers(lo, n + 1))
        window = cut(events, lo, hi)
        for fastmode in (True, False):
            for down in (False, True):
                for cutoff in (3, 255):
                    show(f"stacked {size} {case} {fastmode} {down} {cutoff}",
                         ops.stacked_histogram(window, size, bins=int(rng.integers(1, 11)), count_cutoff=cutoff,
                                               fastmode=fastmode, downsample_by_2=down))
        for convention, dtype in [("e2vid", np.float32), ("tonic", np.float64), ("e2vid", np.float64)]:
            for polarity in ("signed", "all_on"):
                for normalize in (False, True):
                    show(f"voxel {size} {case} {convention} {np.dtype(dtype)} {polarity} {normalize}",
                         ops.voxel_grid(window, size, int(rng.integers(1, 9)), convention=convention,
                                        polarity=polarity, normalize=normalize, dtype=dtype))
    for split in (False, True):
        surface = ops.LastTimestampMap(size, split_polarity=split)
        bounds = splits(n)
        for a, b in zip(bounds, bounds[1:]):
            surface.add(cut(events, a, b))
        show(f"last-timestamp {size} {split}", surface.timestamps(), surface.frame())
    for dt, tau in [(20_000, 5_000.0), (3_000, 50_000.0)]:  # ages within the decay table and past it
        for polarities in (1, 2):
            show(f"hots {size} {dt} {polarities}", ops.time_surface(events, size, dt, tau, polarities=polarities,
                                                                    include_incomplete=True))
    stcf_filters = {
        "stcf": lambda: ops.Stcf(size, correlation_time=300, min_correlated=2),
        "stcf-self": lambda: ops.Stcf(size, correlation_time=2_000, min_correlated=4, include_self=True,
                                      let_first_through=False),
        "stcf-wide": lambda: ops.Stcf(size, correlation_time=2**31, min_correlated=3),  # 64-bit cells
        "stcf-jaer": lambda: ops.Stcf(size, correlation_time=2_000, min_correlated=2, include_self=True,
                                      jaer_border=True, polarities_must_match=True),
        "stcf-shot": lambda: ops.Stcf(size, correlation_time=2_000, min_correlated=1, shot_noise_time=500),
    }
    for name, make in stcf_filters.items():
        f = make()
        bounds = splits(n)
        keep = np.concatenate([f.keep_mask(cut(events, a, b)) for a, b in zip(bounds, bounds[1:])])
        show(f"{name} {size}", keep)
"""


@needs_avx2
def test_avx2_processing_kernels_give_the_scalar_loops_outputs() -> None:
    scalar = run_script(RUN_ALL_OPS, "scalar")
    dispatched = run_script(RUN_ALL_OPS, None)
    lines = scalar.splitlines()
    assert len(lines) > 300 and len(set(line.split()[-1] for line in lines)) > 250  # the cases differ
    assert dispatched == scalar


# Sensors whose map passes 1 MB with cell counts no multiple of the frame's 16-value loop; events
# off the sensor and with p 2; times that stay in the window of the 32-bit cells (increasing,
# negative, flat), leave it mid-batch (epoch: unsorted over 1000 s) or at once (wide: a range past
# 2^52, the frame's conversion by cast).
RUN_LARGE_LAST_TIMESTAMP = """
import hashlib
import numpy as np
from evlib import ops

rng = np.random.default_rng(5)
for width, height in [(641, 409), (1280, 720), (347, 263)]:
    n = 400_000
    for times in ("increasing", "negative", "epoch", "wide", "flat"):
        t = {"increasing": np.cumsum(rng.integers(0, 3, n)),
             "negative": -(1 << 40) + np.cumsum(rng.integers(0, 3, n)),
             "epoch": 1_700_000_000_000_000 + rng.integers(0, 10**9, n),
             "wide": rng.integers(-(1 << 62), 1 << 62, n),
             "flat": np.zeros(n, np.int64)}[times].astype(np.int64)
        x = rng.integers(0, width + 5, n).astype(np.uint16)
        y = rng.integers(0, height + 3, n).astype(np.uint16)
        x[rng.random(n) < 0.001] = 65535
        p = rng.integers(0, 3, n).astype(np.uint8)
        for split in (False, True):
            surface = ops.LastTimestampMap((width, height), split_polarity=split)
            bounds = [0, *np.sort(rng.integers(0, n + 1, 4)).tolist(), n]
            digest = hashlib.sha256()
            for a, b in zip(bounds, bounds[1:]):
                surface.add((t[a:b], x[a:b], y[a:b], p[a:b]))
                digest.update(surface.frame().tobytes())
            digest.update(surface.timestamps().tobytes())
            print(width, height, times, split, digest.hexdigest())
"""


@needs_avx2
def test_last_timestamp_map_and_frame_of_large_sensors_are_the_same_at_both_isas() -> None:
    scalar = run_script(RUN_LARGE_LAST_TIMESTAMP, "scalar")
    dispatched = run_script(RUN_LARGE_LAST_TIMESTAMP, None)
    lines = scalar.splitlines()
    assert len(lines) == 30 and len(set(line.split()[-1] for line in lines)) == 30  # the cases differ
    assert dispatched == scalar
