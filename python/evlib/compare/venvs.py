"""Isolated virtual environments, one per peer package, created on first use and reused after.

A peer never shares an environment with our evlib: evlib 0.13.2 has the same import name, and the
others pin their own NumPy. Each environment is ``VENV_DIR/<name>`` with a stamp file naming
the requirements it was made with; a changed requirement list makes it anew.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DEFAULT_VENV_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evlib-compare" / "venvs"
INSTALL_TIMEOUT_S = 900
STAMP = "evlib-compare.json"


class EnvironmentUnavailable(RuntimeError):
    """The environment could not be made (no wheel for this platform, no network, ...)."""


@dataclass(frozen=True)
class Environment:
    """A named set of pinned pip requirements; ``ours`` means the interpreter running this."""

    name: str
    requirements: tuple[str, ...] = ()

    @property
    def ours(self) -> bool:
        return not self.requirements


OURS = Environment("ours")


def _stamp_matches(venv: Path, requirements: tuple[str, ...]) -> bool:
    try:
        return json.loads((venv / STAMP).read_text()).get("requirements") == list(requirements)
    except (OSError, ValueError):
        return False


def ensure(env: Environment, venv_dir: Path, log: Callable[[str], None] = print) -> Path:
    """The Python interpreter of ``env``, creating and installing its venv if needed.

    Raises EnvironmentUnavailable with pip's last error line when the install fails."""
    if env.ours:
        return Path(sys.executable)
    venv = venv_dir / env.name
    python = venv / "bin" / "python"
    if python.exists() and _stamp_matches(venv, env.requirements):
        return python
    log(f"creating {venv} (pip install {' '.join(env.requirements)})")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *env.requirements],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            shutil.rmtree(venv, ignore_errors=True)
            raise EnvironmentUnavailable(f"{' '.join(step[:4])}... took over {INSTALL_TIMEOUT_S} s") from None
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
            shutil.rmtree(venv, ignore_errors=True)
            raise EnvironmentUnavailable(errors[-1] if errors else f"exit status {done.returncode}")
    (venv / STAMP).write_text(json.dumps({"requirements": list(env.requirements)}))
    return python


def installed_version(python: Path, distribution: str) -> str:
    """The installed version of a distribution in that interpreter's environment, or ''."""
    code = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
    done = subprocess.run([str(python), "-I", "-c", code, distribution], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""
