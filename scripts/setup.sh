#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, build in Release, and summarise the
# demo Prophesee EVT 3.0 recording shipped in data/ (synthetic, see data/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo
./build/tools/evlib/evlib info data/demo_evt3.raw
