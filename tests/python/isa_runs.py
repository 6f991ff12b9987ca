"""What the run-time ISA tests share: the wheel is built for baseline x86-64 and picks AVX2
kernels at run time; EVLIB_MAX_BLOCK_ISA=scalar (read once per process) forces the scalar loops,
so each path runs a script in a process of its own and the outputs are compared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def cpu_has_avx2() -> bool:
    try:
        return " avx2 " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


# Marks a test that compares the AVX2 kernels with the scalar loops.
needs_avx2 = pytest.mark.skipif(not cpu_has_avx2(), reason="the AVX2 kernels need an AVX2 CPU")


def run_script(script: str, max_isa: str | None) -> str:
    """The standard output of script in a fresh interpreter, the ISA capped at max_isa (None: no
    cap, whatever the environment says)."""
    env = dict(os.environ)
    env.pop("EVLIB_MAX_BLOCK_ISA", None)
    if max_isa is not None:
        env["EVLIB_MAX_BLOCK_ISA"] = max_isa
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
