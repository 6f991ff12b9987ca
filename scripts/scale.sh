#!/usr/bin/env bash
# The 1-billion-event run of the README: generates a ${EVLIB_SCALE_EVENTS:-1000000000}-event
# EVT 3.0 file (1280x720, seed 1) under ${EVLIB_SCALE_DIR:-/tmp/evlib-scale}, then measures with
# /usr/bin/time (wall time, peak RSS) in fresh processes:
#   1. `evlib info --digest` over the whole file (streaming on all cores, the default; also
#      builds the time index), then again on one thread: the digests must agree,
#   2. `evlib bench --stream` on one thread and on all cores (decode throughput, median of 3),
#   3. ten random 10 ms windows with `evlib info --from --to` once the index exists (wall time
#      of the process, which includes ~7 ms of loading shared libraries, and the time inside it).
# Needs about 2.5 GB of disk per billion events.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/tools/evlib/evlib ]] || bash scripts/build.sh
evlib=$PWD/build/tools/evlib/evlib
dir=${EVLIB_SCALE_DIR:-/tmp/evlib-scale}
events=${EVLIB_SCALE_EVENTS:-1000000000}
file=$dir/scale_${events}.raw
mkdir -p "$dir"
export XDG_CACHE_HOME=$dir/cache
if [[ ! -f $file ]]; then
  echo "generating $events events into $file" >&2
  "$evlib" generate "$file" --to evt3 -n "$events" --seed 1 -q
fi
cat "$file" > /dev/null
measure() {  # prints "wall_s peak_rss_kib" of a command, its stdout to $dir/last.out
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > "$dir/last.out"
  cat "$dir/time.txt"
}
rm -rf "$XDG_CACHE_HOME"
cores=$(nproc)
read -r wall rss < <(measure "$evlib" info --digest --json -q "$file")
digest=$(sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p' "$dir/last.out")
t_min=$(sed -n 's/.*"t_min": \([0-9]*\).*/\1/p' "$dir/last.out")
t_max=$(sed -n 's/.*"t_max": \([0-9]*\).*/\1/p' "$dir/last.out")
size=$(stat -c %s "$file")
echo "| run | wall s | M events/s | peak RSS |"
echo "|---|---|---|---|"
echo "| info --digest, $events events, $((size / 1000000)) MB EVT3, $cores threads (default) | $wall | $(awk "BEGIN{printf \"%.0f\", $events/$wall/1e6}") | $((rss / 1024)) MiB |"
read -r wall rss < <(measure "$evlib" info --digest --json -q --no-index --threads 1 "$file")
digest1=$(sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p' "$dir/last.out")
echo "| info --digest --threads 1 | $wall | $(awk "BEGIN{printf \"%.0f\", $events/$wall/1e6}") | $((rss / 1024)) MiB |"
for threads in 1 "$cores"; do
  stream=$("$evlib" bench "$file" --stream --threads "$threads" --runs 3 --json)
  srss=$(/usr/bin/time -f %M "$evlib" bench "$file" --stream --threads "$threads" --runs 1 --json 2>&1 >/dev/null | tail -1)
  echo "| bench --stream --threads $threads (decode only, median of 3) | $(echo "$stream" | sed -n 's/.*"median_s": \([0-9.e+-]*\).*/\1/p') | $(echo "$stream" | sed -n 's/.*"median_mev_s": \([0-9.e+-]*\).*/\1/p' | awk '{printf "%.0f", $1}') | $((srss / 1024)) MiB |"
done
worst=0
for i in $(seq 1 10); do
  t0=$(( t_min + (RANDOM * 32768 + RANDOM) % (t_max - t_min - 10000) ))
  read -r wall rss < <(measure "$evlib" info --json -q --from "${t0}us" --to "$((t0 + 10000))us" "$file")
  n=$(sed -n 's/.*"events": \([0-9]*\).*/\1/p' "$dir/last.out")
  inside=$(sed -n 's/.*"seconds": \([0-9.e+-]*\).*/\1/p' "$dir/last.out" | awk '{printf "%.1f", $1 * 1000}')
  echo "| 10 ms window at ${t0} us: $n events, ${inside} ms in the process | $wall | - | $((rss / 1024)) MiB |"
done
echo
echo "digest $digest (all cores), $digest1 (one thread)"
[[ "$digest" == "$digest1" ]] || { echo "the digests differ" >&2; exit 1; }
