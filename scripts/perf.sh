#!/usr/bin/env bash
# The README's performance table: generates 100 M-event synthetic files (seed 1, 1280x720) in
# EVT 3.0, EVT 2.0 and DAT under ${EVLIB_PERF_DIR:-/tmp/evlib-perf}, then measures each with
# `evlib bench` (whole file into memory and streaming; median, min and max of 5 runs) and peak
# RSS of a fresh process with /usr/bin/time. EVLIB_PERF_EVENTS overrides the event count.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/tools/evlib/evlib ]] || bash scripts/build.sh
evlib=$PWD/build/tools/evlib/evlib
dir=${EVLIB_PERF_DIR:-/tmp/evlib-perf}
events=${EVLIB_PERF_EVENTS:-100000000}
mkdir -p "$dir"
declare -A files=([evt3]="$dir/synthetic_evt3.raw" [evt2]="$dir/synthetic_evt2.raw" [dat]="$dir/synthetic.dat")
for fmt in evt3 evt2 dat; do
  f=${files[$fmt]}
  if [[ ! -f $f ]]; then "$evlib" generate "$f" --to "$fmt" -n "$events" --seed 1 --trigger-rate 1000 -q; fi
done
echo "| format | bytes/event (file) | whole file: M events/s median (min-max) | peak RSS bytes/event | streaming: M events/s median (min-max) | streaming peak RSS |"
echo "|---|---|---|---|---|---|"
for fmt in evt3 evt2 dat; do
  f=${files[$fmt]}
  cat "$f" > /dev/null
  whole=$("$evlib" bench "$f" --runs 5 --json)
  stream=$("$evlib" bench "$f" --runs 5 --stream --json)
  rss_kb=$(/usr/bin/time -f %M "$evlib" bench "$f" --runs 1 --json 2>&1 >/dev/null | tail -1)
  srss_kb=$(/usr/bin/time -f %M "$evlib" info -q "$f" 2>&1 >/dev/null | tail -1)
  /usr/bin/python3 - "$fmt" "$f" "$whole" "$stream" "$rss_kb" "$srss_kb" <<'PY'
import json, os, sys
fmt, path, whole, stream, rss_kb, srss_kb = sys.argv[1:]
w, s = json.loads(whole), json.loads(stream)
ev = w["events"]
print(f"| {fmt} | {os.path.getsize(path)/ev:.2f} | {w['median_mev_s']:.0f} ({w['min_mev_s']:.0f}-{w['max_mev_s']:.0f}) "
      f"| {int(rss_kb)*1024/ev:.2f} | {s['median_mev_s']:.0f} ({s['min_mev_s']:.0f}-{s['max_mev_s']:.0f}) "
      f"| {int(srss_kb)/1024:.0f} MiB |")
PY
done
