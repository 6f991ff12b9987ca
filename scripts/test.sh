#!/usr/bin/env bash
# The whole test suite: Release build + ctest (GoogleTest: spec vectors, synthetic and real
# recordings, chunking, round trips, robustness, CLI; the installed package, the README's
# examples, the fuzz corpora), then the same tests under ASan + UBSan, then a short run of every
# fuzz target; the Python package is installed into .venv (scripts/python-env.sh) and its tests
# (tests/python) run after the Release tests. Set EVLIB_QUICK=1 to skip the sanitizer build and
# the fuzzers.
#
# Prints the duration of each stage and the total at the end (also when a stage fails), and which
# real recordings were missing: tests that need one are skipped without it, and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS_EACH=${EVLIB_FUZZ_SECONDS:-15}
declare -a DONE=()
CURRENT=""
CURRENT_START=0

minutes() { printf '%dm %02ds' $(($1 / 60)) $(($1 % 60)); }

summary() {
  local status=$?
  echo
  echo "==== test.sh: stage durations ===="
  local line
  for line in "${DONE[@]}"; do echo "  $line"; done
  if [[ -n "$CURRENT" ]]; then printf '  %-22s %s  FAILED\n' "$CURRENT" "$(minutes $((SECONDS - CURRENT_START)))"; fi
  printf '  %-22s %s\n' "total" "$(minutes "$SECONDS")"
  if (( status == 0 )); then echo "all tests passed"; fi
}
trap summary EXIT

# stage NAME COMMAND...: runs COMMAND and records its duration (set -e ends the run on failure).
stage() {
  local name=$1
  shift
  echo "==== $name"
  CURRENT=$name
  CURRENT_START=$SECONDS
  "$@"
  DONE+=("$(printf '%-22s %s' "$name" "$(minutes $((SECONDS - CURRENT_START)))")")
  CURRENT=""
}
skip_stage() { DONE+=("$(printf '%-22s skipped (%s)' "$1" "$2")"); }

# The skipped tests of the last ctest run in build directory $1, and the real recordings missing.
report_skips() {
  local log="$1/Testing/Temporary/LastTest.log"
  [[ -f "$log" ]] || return 0
  local skipped missing
  skipped=$({ grep -oE '^\[  SKIPPED \] [^ ]+ \(' "$log" || true; } | sort -u | wc -l)
  missing=$({ grep -oE 'missing real recording [^ ]+' "$log" || true; } | sed 's/^missing real recording //' | sort -u)
  echo "$1: $skipped test(s) skipped"
  if [[ -n "$missing" ]]; then
    echo "missing real recordings (tests that read them were skipped; with CI=true they fail):"
    echo "$missing" | sed 's/^/  /'
  fi
}

release_tests() {
  (cd build && ctest --output-on-failure --timeout 600 -j2)
  report_skips build
}

# The Python package as users install it (a regular, non-editable install into .venv), then
# its tests (those comparing with evlib 0.13.2 run it from .venv-evlib013); the CLI of the Release build makes their synthetic files and reference digests.
python_tests() {
  bash scripts/python-env.sh
  bash scripts/reference-venvs.sh  # evlib 0.13.2 in its own venv, for the compatibility tests
  EVLIB_CLI="$PWD/build/tools/evlib/evlib" .venv/bin/python -m pytest tests/python -q -p no:cacheprovider
}

sanitizer_tests() {
  bash scripts/sanitize.sh
  report_skips build-asan
}

stage "install deps" env EVLIB_WITH_FUZZ=1 bash scripts/install-deps.sh
stage "Release build" bash scripts/build.sh
stage "Release ctest" release_tests
stage "Python tests" python_tests
if [[ "${EVLIB_QUICK:-0}" != 1 ]]; then
  stage "ASan build + tests" sanitizer_tests
  stage "fuzzers" bash scripts/fuzz.sh "$FUZZ_SECONDS_EACH"
else
  skip_stage "ASan build + tests" "EVLIB_QUICK=1"
  skip_stage "fuzzers" "EVLIB_QUICK=1"
fi
