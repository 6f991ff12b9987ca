#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, build in Release, summarise the demo
# Prophesee EVT 3.0 recording shipped in data/ (synthetic, see data/README.md) with the CLI,
# then install the Python package into .venv and run the same summary through Python and Polars.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo
./build/tools/evlib/evlib info data/demo_evt3.raw
echo
echo "==== Python package (into .venv)"
bash scripts/python-env.sh
.venv/bin/python - data/demo_evt3.raw <<'PY'
import sys

import polars as pl

import evlib

path = sys.argv[1]
f = evlib.open(path)
print(f"{path}: {f.format}, {f.width} x {f.height}, {f.n_events:,} events, t {f.t_min} .. {f.t_max} µs")
events = evlib.scan_events(path)
per_ms = (
    events.group_by((pl.col("t") // 1000).alias("ms"))
    .agg(pl.len().alias("events"), (pl.col("p") == 1).mean().alias("on_fraction"))
    .sort("ms")
    .collect()
)
print(f"events per millisecond: min {per_ms['events'].min():,}, max {per_ms['events'].max():,}")
window = events.filter(pl.col("t").is_between(5_010_000, 5_010_999) & (pl.col("x") < 640)).collect()
print(f"left half, 1 ms from t = 5.010 s: {window.height:,} events ({int(window['p'].sum()):,} ON)")
print(f"triggers: {len(f.triggers)}")
PY
echo
echo "Python: .venv/bin/python -c 'import evlib; print(evlib.scan_events(\"data/demo_evt3.raw\").collect())'"
