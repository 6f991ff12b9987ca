"""The wheel is built for baseline x86-64 and picks the colour passes' AVX2 kernels at run time
(src/render/rgb_pixels.hpp), and the AVX-512 VBMI colour pass where the CPU has it
(src/render/colorize_avx512.hpp): each must give the frames of the scalar loops, bit for bit.
EVLIB_MAX_BLOCK_ISA=scalar (read once per process) forces the scalar loops, so each path runs in
a process of its own."""

from __future__ import annotations

from evlib import render

from isa_runs import needs_avx2, run_script

# Renders every mode of a synthetic stream (an odd sensor, so that rows end past the kernels'
# eight pixels; a quiet stretch, so that time-decay meets ages past its table, and events at
# t < 0, which the time surface's kernel leaves to the scalar loop) and prints a digest per mode.
RENDER_ALL_MODES = """
import hashlib
import numpy as np
from evlib import render

rng = np.random.default_rng(7)
width, height = 61, 43
n = 40_000
t = np.sort(np.concatenate([rng.integers(-3_000, 60_000, n // 2), rng.integers(400_000, 460_000, n // 2)]))
batch = {
    "t": t.astype(np.int64),
    "x": rng.integers(0, width, n).astype(np.uint16),
    "y": rng.integers(0, height, n).astype(np.uint16),
    "p": rng.integers(0, 2, n).astype(np.uint8),
}
for mode in render.MODES:
    digest = hashlib.sha256()
    count = 0
    for t_us, frame in render.frames([batch], mode=mode, accumulate_us=7_000, fps=100.0, width=width, height=height):
        digest.update(t_us.to_bytes(8, "little", signed=True))
        digest.update(frame.tobytes())
        count += 1
    print(mode, count, digest.hexdigest())
"""


@needs_avx2
def test_avx2_colour_kernels_render_the_scalar_loops_frames() -> None:
    scalar = run_script(RENDER_ALL_MODES, "scalar")
    avx2 = run_script(RENDER_ALL_MODES, "avx2")  # the AVX-512 colour pass off, on CPUs that have it
    dispatched = run_script(RENDER_ALL_MODES, None)  # AVX-512 VBMI colour pass where the CPU has it
    assert len(scalar.splitlines()) == len(render.MODES)
    assert all(int(line.split()[1]) > 10 for line in scalar.splitlines())  # frames were rendered
    assert avx2 == scalar
    assert dispatched == scalar
