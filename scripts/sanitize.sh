#!/usr/bin/env bash
# Builds evlib, its tests and its CLI with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DEVLIB_SANITIZE=ON: the CMake preset "asan") in build-asan/ and runs the test suite under them.
#
#   bash scripts/sanitize.sh                  # g++, RelWithDebInfo
#   SANITIZE_CXX=clang++-14 bash scripts/sanitize.sh
#   SANITIZE_BUILD_TYPE=Debug bash scripts/sanitize.sh -R Evt3     # extra args go to ctest
#
# Environment: SANITIZE_CXX (default g++; SANITIZE_CC defaults to the matching C compiler), SANITIZE_BUILD_TYPE (default RelWithDebInfo: -O2 -g
# keeps the suite fast while giving usable stack traces), SANITIZE_BUILD_DIR (default build-asan),
# SANITIZE_JOBS (build and ctest parallelism, default 2).
# Any leak, memory error or undefined behaviour makes the test that hit it fail, and the script
# exit non-zero.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CXX_SAN=${SANITIZE_CXX:-g++}
BUILD_TYPE=${SANITIZE_BUILD_TYPE:-RelWithDebInfo}
BUILD_DIR=${SANITIZE_BUILD_DIR:-build-asan}
JOBS=${SANITIZE_JOBS:-2}
# The matching C compiler (the project enables C for CMake's HDF5 probe).
case "$CXX_SAN" in
  *clang++*) CC_SAN=${SANITIZE_CC:-${CXX_SAN/clang++/clang}} ;;
  *g++*) CC_SAN=${SANITIZE_CC:-${CXX_SAN/g++/gcc}} ;;
  *) CC_SAN=${SANITIZE_CC:-cc} ;;
esac

log() { printf '[sanitize.sh] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2
    return 1
  fi
}

# Install what the build needs, only when it is missing: the project's own installer first.
if [ -f "$ROOT/scripts/install-deps.sh" ]; then bash "$ROOT/scripts/install-deps.sh"; fi
missing=()
for pkg in cmake libssl-dev libgtest-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ! command -v "$CXX_SAN" >/dev/null 2>&1; then
  case "$CXX_SAN" in
    g++*) missing+=(g++) ;;
    clang++-14) missing+=(clang-14 libclang-rt-14-dev) ;;
    clang++*) missing+=(clang) ;;
  esac
fi
if [ ${#missing[@]} -ne 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y "${missing[@]}" || { as_root apt-get update && as_root apt-get install -y "${missing[@]}"; }
fi

# Sanitizer runtime settings for the build (gtest discovery runs the test binary) and for ctest.
# Leaks are reported (detect_leaks=1) and fail the test; UBSan stops at the first report with a
# stack trace. Caller-provided options are appended, so they win.
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

log "configuring $BUILD_DIR ($CXX_SAN, $BUILD_TYPE, EVLIB_SANITIZE=ON)"
cmake --preset asan -B "$BUILD_DIR" \
  -DCMAKE_CXX_COMPILER="$CXX_SAN" \
  -DCMAKE_C_COMPILER="$CC_SAN" \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null

# Check that the option really instruments the code: the configured flags must name both.
if ! grep -rq -- '-fsanitize=address,undefined' "$BUILD_DIR"/build.ninja "$BUILD_DIR"/CMakeFiles/evlib.dir/flags.make 2>/dev/null; then
  echo "EVLIB_SANITIZE=ON did not add -fsanitize=address,undefined to the build" >&2
  exit 1
fi

log "building"
cmake --build "$BUILD_DIR" -j "$JOBS"

# And that the test binary really carries the runtimes (g++ links libasan/libubsan dynamically,
# clang links them statically: look for the runtime's symbols then).
# The listings are captured before they are searched: under pipefail, `nm | grep -q` fails when
# grep stops at the first match and nm dies of SIGPIPE, which made this check fail at random.
test_bin="$BUILD_DIR/tests/evlib_tests"
if [ -x "$test_bin" ]; then
  libraries=$(ldd "$test_bin" 2>/dev/null || true)
  symbols=$(nm "$test_bin" 2>/dev/null || true)
  if ! grep -q 'libasan' <<<"$libraries" && ! grep -q '__asan_init' <<<"$symbols"; then
    echo "$test_bin is not built with AddressSanitizer" >&2
    exit 1
  fi
fi

log "running the tests (ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" "$@"
