#!/usr/bin/env bash
# Rendering throughput, fresh process per run: `evlib render --bench` decodes a synthetic
# 1280x720 recording into memory, then times the frame generator alone over it (one core), for
# each mode, at 30 fps with a 10 ms window (the recording's events per second of rendering) and
# at 1 fps with a 1 s window (every event drawn). Prints median (min-max) of RUNS runs.
# Usage: benchmarks/render_bench.sh [EVENTS=20000000] [RUNS=5]; EVLIB=path/to/evlib.
set -euo pipefail
events=${1:-20000000}
runs=${2:-5}
evlib=${EVLIB:-build/tools/evlib/evlib}
dir=${TMPDIR:-/tmp}/evlib-render-bench
mkdir -p "$dir"
file=$dir/render-$events.raw
[[ -f $file ]] || "$evlib" generate -q --force -n "$events" --rate 2e7 "$file"
summary() {  # median (min-max) of the numbers on stdin
  sort -g | awk '{v[NR]=$1} END {printf "%.0f (%.0f-%.0f)", v[int((NR+1)/2)], v[1], v[NR]}'
}
echo "| mode | 30 fps, 10 ms window: M events/s | 1 fps, 1 s window (every event drawn): M events/s |"
echo "|---|---|---|"
for mode in last counts time-surface exp-decay linear-decay; do
  row="| $mode |"
  for flags in "--fps 30 --accumulate 10ms" "--fps 1 --accumulate 1s"; do
    # shellcheck disable=SC2086
    rates=$(for _ in $(seq "$runs"); do "$evlib" render --bench "$file" --mode "$mode" $flags --threads 1; done |
            sed -E 's/.* ([0-9.]+) M events\/s.*/\1/')
    row+=" $(summary <<<"$rates") |"
  done
  echo "$row"
done
