#!/usr/bin/env bash
# Creates (or refreshes) the virtual environment .venv and installs the evlib Python package
# into it from this checkout, with what its tests use (the "test" extra: pandas, tqdm, pytest,
# hypothesis, h5py, dv-processing; and tonic, installed apart, below). The extension is built by scikit-build-core into build/python/ (kept, so that a
# rebuild only compiles what changed) for the baseline x86-64 ISA, as a wheel is.
# EVLIB_EDITABLE=1 installs in development mode (Python files served from python/evlib).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${EVLIB_PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# The build backend lives in the venv (no isolated build env): the CMake build directory then
# sees the same nanobind every time and stays incremental.
.venv/bin/python -m pip install -q "scikit-build-core>=1.1,<2" "nanobind>=3.1,<4"
if [[ "${EVLIB_EDITABLE:-0}" == 1 ]]; then
  .venv/bin/python -m pip install -q --no-build-isolation -Cbuild-dir=build/python/editable -e ".[test]"
else
  # A regular install (what users get), rebuilt from this checkout every time; then the
  # dependencies, resolved against the evlib just installed (never fetched: it satisfies them).
  .venv/bin/python -m pip install -q --no-build-isolation --no-deps --force-reinstall .
  .venv/bin/python -m pip install -q "evlib[test]"
fi
# tonic 1.7.0, a reference the evlib.ops tests compare with: without its declared dependencies
# (librosa, expelliarmus: audio and file readers, with numba and scikit-learn behind them), plus
# what `import tonic` does import. Outside CI a failure only warns (those tests then skip).
if ! .venv/bin/python -m pip install -q --no-deps "tonic==1.7.0" ||
   ! .venv/bin/python -m pip install -q scipy importRosbag requests typing_extensions; then
  echo "python-env: cannot install tonic==1.7.0; the evlib.ops tests against tonic will skip" >&2
  if [[ "${CI:-}" == "true" ]]; then exit 1; fi
fi
