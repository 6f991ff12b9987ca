#!/usr/bin/env bash
# Configures and builds evlib in Release into build/ (tests, tools and benchmarks): the CMake
# preset "release".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
