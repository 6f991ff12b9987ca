#!/usr/bin/env bash
# Streams a large generated recording through the CLI's denoise + RVT stacked histogram and
# reports the peak resident memory against the streaming budget (64 MiB) plus one output tensor
# (2 * bins * height * width bytes): the claim that memory does not grow with the file.
# A benchmark, not a test: it prints the figures and exits 1 only when the peak is over.
#
#   bash benchmarks/stream_budget.sh                        # 1 B events (2.3 GB + 17.6 GB of frames)
#   bash benchmarks/stream_budget.sh --events 100000000 --dir /var/tmp
#
# Options: --events N (default 1000000000), --dir DIR for the recording and the frames (default
# $TMPDIR or /tmp; both are deleted afterwards), --window TIME (default 50ms: 1 M events a window
# at the generator's 20 M events/s; a stacked histogram keeps its open window's events, 13 bytes
# each, so longer windows take more memory: 1s peaks at about 225 MiB; 50 ms frames take 17.6 GB of
# disk at 1 B events), --denoise SPEC (default baf:2ms), --bins N (default 10), --cli PATH
# (default build/tools/evlib/evlib). Needs GNU time (/usr/bin/time).
#
# The recording: `evlib generate` (1280x720, EVT3, 20 M events/s, seed 1). The run:
#   /usr/bin/time -v evlib frames REC.raw FRAMES.npy --repr stacked-histogram --window W
#                                --denoise SPEC --bins N --cutoff 10 -q
# Disk space is checked first: the EVT3 file takes about 2 bytes an event and the frames
# 2 * bins * 1280 * 720 bytes each.
set -euo pipefail
cd "$(dirname "$0")/.."

events=1000000000
dir=${TMPDIR:-/tmp}
window=50ms
denoise=baf:2ms
bins=10
cli=build/tools/evlib/evlib
while [[ $# -gt 0 ]]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --denoise) denoise=$2; shift 2 ;;
    --bins) bins=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "stream_budget: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x $cli ]] || { echo "stream_budget: $cli not found (build the evlib_cli target)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "stream_budget: GNU time is missing (apt-get install time)" >&2; exit 2; }

readonly width=1280 height=720 rate=20000000
window_s=$(/usr/bin/python3 -c "import re,sys; v,u=re.fullmatch(r'([0-9.]+)(us|ms|s)',sys.argv[1]).groups(); print(float(v)*{'us':1e-6,'ms':1e-3,'s':1}[u])" "$window")
tensor=$((2 * bins * width * height))
frames_bytes=$(/usr/bin/python3 -c "import math,sys; n,r,w,t=map(float,sys.argv[1:]); print(int(math.ceil(n/r/w)*t))" "$events" "$rate" "$window_s" "$tensor")
need=$((events * 5 / 2 + frames_bytes))
free=$(($(df --output=avail -B1 "$dir" | tail -1)))
if (( need > free * 9 / 10 )); then
  echo "stream_budget: $dir has $((free >> 20)) MiB free, the run needs about $((need >> 20)) MiB: use --dir or fewer --events" >&2
  exit 2
fi

work=$(mktemp -d "$dir/evlib-stream-budget.XXXXXX")
trap 'rm -rf "$work"' EXIT
rec=$work/rec.raw
echo "stream_budget: generating $events events into $rec" >&2
gen_start=$(date +%s.%N)
"$cli" generate "$rec" --to evt3 -n "$events" --width "$width" --height "$height" --rate "$rate" --seed 1 -q
gen_end=$(date +%s.%N)
echo "stream_budget: $(du -BM "$rec" | cut -f1) written in $(/usr/bin/python3 -c "print(f'{$gen_end - $gen_start:.0f}')") s" >&2

/usr/bin/time -v -o "$work/time.txt" "$cli" frames "$rec" "$work/frames.npy" --repr stacked-histogram \
  --window "$window" --denoise "$denoise" --bins "$bins" --cutoff 10 -q
peak_kib=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/time.txt")
wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
cpu_user=$(sed -n 's/^[[:space:]]*User time (seconds): //p' "$work/time.txt")
cpu_sys=$(sed -n 's/^[[:space:]]*System time (seconds): //p' "$work/time.txt")
budget_kib=$((64 * 1024 + tensor / 1024))
frames=$(/usr/bin/python3 -c "import numpy as np,sys; print(np.load(sys.argv[1], mmap_mode='r').shape[0])" "$work/frames.npy" 2>/dev/null || echo "?")
echo "events: $events ($width x $height EVT3, $(du -BM "$rec" | cut -f1)), $frames frames of $window, --denoise $denoise, $bins bins"
echo "peak RSS: $((peak_kib / 1024)) MiB; budget 64 MiB + one tensor $((tensor >> 20)) MiB = $((budget_kib / 1024)) MiB"
echo "time: $wall wall, $cpu_user s user + $cpu_sys s system"
(( peak_kib <= budget_kib )) || { echo "stream_budget: over the budget" >&2; exit 1; }
