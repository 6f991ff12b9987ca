#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, build in Release, and summarise the
# real Prophesee EVT 3.0 recording shipped in data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo
./build/tools/evlib/evlib info data/pedestrians_evt3.raw
