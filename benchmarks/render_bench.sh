#!/usr/bin/env bash
# Rendering throughput, fresh process per run.
#
#   benchmarks/render_bench.sh [EVENTS=20000000] [RUNS=5]
#     `evlib render --bench` decodes a synthetic 1280x720 recording into memory, then times the
#     frame generator alone over it (one core), for each mode, at 30 fps with a 10 ms window (the
#     recording's events per second of rendering) and at 1 fps with a 1 s window (every event
#     drawn). Prints median (min-max) of RUNS runs of the thread's CPU time (on a shared machine
#     the wall time also counts the time spent waiting for a core; --bench prints both).
#
#   benchmarks/render_bench.sh video [SECONDS=60] [RUNS=1] [EXTRA evlib render flags...]
#     A SECONDS-long synthetic 1280x720 recording at 20 M events/s (generated first, not timed)
#     rendered at 30 fps with a 10 ms window to H.264 (libx264, preset fast unless EXTRA says
#     otherwise): wall and CPU time, their ratio to SECONDS (below 1: faster than real time) and
#     the peak resident memory, from /usr/bin/time, per run.
#
# EVLIB=path/to/evlib; TMPDIR for the recordings (60 s: 1.2 G events, about 2.8 GB; 4.9 GB for
# SCENE=edges). SCENE=noise (default) or edges: `evlib generate --scene`, uniform noise (the
# worst case for a video encoder) or the rims of moving discs (what an event camera sees of
# moving objects) with BACKGROUND (default 0.05) of the events as background activity.
set -euo pipefail
evlib=${EVLIB:-build/tools/evlib/evlib}
scene=${SCENE:-noise}
background=${BACKGROUND:-0.05}
dir=${TMPDIR:-/tmp}/evlib-render-bench
mkdir -p "$dir"
name=$scene
[[ $scene == noise ]] || name=$scene-$background

recording() {  # recording EVENTS: path of the synthetic recording, generated once
  local file=$dir/render-$1.raw
  [[ $scene == noise ]] || file=$dir/render-$name-$1.raw
  [[ -f $file ]] || "$evlib" generate -q --force -n "$1" --rate 2e7 --scene "$scene" --background "$background" "$file"
  echo "$file"
}

if [[ ${1:-} == video ]]; then
  seconds=${2:-60}
  runs=${3:-1}
  shift $(($# < 3 ? $# : 3))
  file=$(recording $((seconds * 20000000)))
  out=$dir/render-$name-$seconds.mp4
  echo "| run | wall s | CPU s (user+sys) | wall / $seconds s | peak RSS MiB |"
  echo "|---|---|---|---|---|"
  for run in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$evlib" render -q --force "$file" "$out" "$@"
    read -r wall user sys rss <"$dir/time.txt"
    awk -v r="$run" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v d="$seconds" \
      'BEGIN {printf "| %d | %.1f | %.1f | %.2f | %.0f |\n", r, w, u + s, w / d, m / 1024}'
  done
  exit 0
fi

events=${1:-20000000}
runs=${2:-5}
file=$(recording "$events")
summary() {  # median (min-max) of the numbers on stdin
  sort -g | awk '{v[NR]=$1} END {printf "%.0f (%.0f-%.0f)", v[int((NR+1)/2)], v[1], v[NR]}'
}
echo "| mode | 30 fps, 10 ms window: M events/s | 1 fps, 1 s window (every event drawn): M events/s |"
echo "|---|---|---|"
for mode in last counts time-surface exp-decay linear-decay time-decay; do
  row="| $mode |"
  for flags in "--fps 30 --accumulate 10ms" "--fps 1 --accumulate 1s"; do
    # shellcheck disable=SC2086
    rates=$(for _ in $(seq "$runs"); do "$evlib" render --bench "$file" --mode "$mode" $flags --threads 1; done |
            sed -E 's/.*thread CPU .* ([0-9.]+) M events\/s.*/\1/')
    row+=" $(summary <<<"$rates") |"
  done
  echo "$row"
done
