#!/usr/bin/env bash
# Configures and builds evlib in Release into build/ (tests, tools and benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEVLIB_BUILD_BENCHMARKS=ON >/dev/null
ninja -C build
