#!/usr/bin/env bash
# The whole test suite: Release build + GoogleTest (spec vectors, real recordings, chunking,
# round trips, robustness, CLI), then the same tests under ASan + UBSan, then a short run of
# every fuzz target. Set EVLIB_QUICK=1 to skip the sanitizer build and the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
EVLIB_WITH_FUZZ=1 bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600 -j2)
if [[ "${EVLIB_QUICK:-0}" != 1 ]]; then
  bash scripts/sanitize.sh
  bash scripts/fuzz.sh "${EVLIB_FUZZ_SECONDS:-15}"
fi
echo "all tests passed"
