#!/usr/bin/env bash
# Creates the virtual environment holding the reference implementation the compatibility tests
# compare against: the real evlib 0.13.2 from PyPI, in .venv-evlib013/ at the repository root.
# It has the same import name as our package, so it lives in its own environment and the tests
# talk to it through a subprocess (tests/python/reference/evlib013_dump.py).
#
# Safe to run repeatedly: an environment that already imports evlib 0.13.2 is left alone.
# Outside CI a failed installation (no network, no wheel for this platform) only warns, and the
# compatibility tests skip saying why; with CI=true it is an error.
#
#   bash scripts/reference-venvs.sh            # create or check .venv-evlib013
#   EVLIB_REFERENCE_VENV=/some/dir bash ...     # somewhere else (the tests read the same variable)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly version="0.13.2"
venv="${EVLIB_REFERENCE_VENV:-.venv-evlib013}"
python="${PYTHON:-python3}"

fail() {
  echo "reference-venvs: $*" >&2
  if [[ "${CI:-}" == "true" ]]; then exit 1; fi
  echo "reference-venvs: the compatibility tests against evlib ${version} will be skipped" >&2
  exit 0
}

installed_version() {
  "$venv/bin/python" - <<'EOF' 2>/dev/null
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):  # evlib prints a notice about PyTorch on import
    import evlib
print(evlib.version())
EOF
}

if [[ -x "$venv/bin/python" ]] && [[ "$(installed_version)" == "$version" ]]; then
  echo "reference-venvs: $venv has evlib $version"
  exit 0
fi

"$python" -m venv "$venv" || fail "cannot create the virtual environment $venv"
# evlib 0.13.2 brings polars, numpy, pyarrow and h5py, all that the dump script needs.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "evlib==${version}" \
  || fail "pip cannot install evlib==${version} into $venv"
got="$(installed_version || true)"
[[ "$got" == "$version" ]] || fail "$venv imports evlib '${got}', expected ${version}"
echo "reference-venvs: $venv has evlib $version"
