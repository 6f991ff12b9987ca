#!/usr/bin/env bash
# The 1-billion-event run of the README: generates a ${EVLIB_SCALE_EVENTS:-1000000000}-event
# EVT 3.0 file (1280x720, seed 1) under ${EVLIB_SCALE_DIR:-/tmp/evlib-scale}, then measures with
# /usr/bin/time (wall time, peak RSS) in fresh processes:
#   1. `evlib info --digest` over the whole file: a first run on all cores builds the time index;
#      then $EVLIB_SCALE_RUNS (default 3) runs on all cores (the default) and on one thread
#      (without the index, so that each one decodes everything): the digests must agree,
#   2. `evlib bench --stream` on one thread and on all cores (decode throughput, median of the
#      same number of runs),
#   3. ten random 10 ms windows with `evlib info --from --to` once the index exists (wall time
#      of the process, which includes ~2.5 ms of start-up, and the time inside it).
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
runs=${EVLIB_SCALE_RUNS:-3}
size=$(stat -c %s "$file")
# "median (min-max)" of numbers on stdin, printed with format $1 (default %.3g).
spread() {
  sort -g | awk -v f="${1:-%.3g}" '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                                     printf f " (" f "-" f ")", m, v[1], v[NR]}'
}
# Runs an info command $runs times in fresh processes: "| label | wall | M events/s | peak RSS |".
info_row() {
  local label=$1; shift
  : > "$dir/walls"; : > "$dir/rates"; : > "$dir/rsss"
  for ((r = 1; r <= runs; r++)); do
    read -r wall rss < <(measure "$evlib" info --digest --json -q "$@" "$file")
    echo "$wall" >> "$dir/walls"
    awk "BEGIN{print $events / $wall / 1e6}" >> "$dir/rates"
    echo $((rss / 1024)) >> "$dir/rsss"
  done
  echo "| $label | $(spread < "$dir/walls") | $(spread %.0f < "$dir/rates") | $(spread %.0f < "$dir/rsss") MiB |"
}
# The first run (index built, then cached) gives the time range and the digest of all cores.
read -r _ _ < <(measure "$evlib" info --digest --json -q "$file")
digest=$(sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p' "$dir/last.out")
t_min=$(sed -n 's/.*"t_min": \([0-9]*\).*/\1/p' "$dir/last.out")
t_max=$(sed -n 's/.*"t_max": \([0-9]*\).*/\1/p' "$dir/last.out")
echo "$events events, $((size / 1000000)) MB EVT3; median (min-max) of $runs fresh processes per row"
echo
echo "| run | wall s | M events/s | peak RSS |"
echo "|---|---|---|---|"
info_row "info --digest, $cores threads (default)" --no-index
info_row "info --digest --threads 1" --no-index --threads 1
digest1=$(sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p' "$dir/last.out")
for threads in 1 "$cores"; do
  stream=$("$evlib" bench "$file" --stream --threads "$threads" --runs "$runs" --json)
  srss=$(/usr/bin/time -f %M "$evlib" bench "$file" --stream --threads "$threads" --runs 1 --json 2>&1 >/dev/null | tail -1)
  field() { echo "$stream" | sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p"; }
  printf '| bench --stream --threads %s (decode only, %s runs in one process) | %.3g (%.3g-%.3g) | %.0f (%.0f-%.0f) | %s MiB |\n' \
    "$threads" "$runs" "$(field median_s)" "$(field min_s)" "$(field max_s)" "$(field median_mev_s)" "$(field min_mev_s)" \
    "$(field max_mev_s)" $((srss / 1024))
done
: > "$dir/walls"; : > "$dir/inside"; : > "$dir/rsss"; : > "$dir/counts"
for i in $(seq 1 10); do
  t0=$(( t_min + (RANDOM * 32768 + RANDOM) % (t_max - t_min - 10000) ))
  # Wall time of the evlib process alone, from bash's own clock (no `date` or `time` process in
  # the interval; %e of /usr/bin/time has 10 ms steps); peak RSS from a second run of the same.
  start=$EPOCHREALTIME
  "$evlib" info --json -q --from "${t0}us" --to "$((t0 + 10000))us" "$file" > "$dir/last.out"
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print (b - a) * 1000}' >> "$dir/walls"  # ms
  read -r _ rss < <(measure "$evlib" info --json -q --from "${t0}us" --to "$((t0 + 10000))us" "$file")
  echo $((rss / 1024)) >> "$dir/rsss"
  sed -n 's/.*"events": \([0-9]*\).*/\1/p' "$dir/last.out" >> "$dir/counts"
  sed -n 's/.*"seconds": \([0-9.e+-]*\).*/\1/p' "$dir/last.out" | awk '{print $1 * 1000}' >> "$dir/inside"
done
echo "| 10 ms windows at 10 random places (index cached; $(spread %.0f < "$dir/counts") events), ms of wall time | $(spread < "$dir/walls") ms | - | $(spread %.0f < "$dir/rsss") MiB |"
echo "| the same windows, ms inside the process (no start-up) | $(spread < "$dir/inside") ms | - | - |"
echo
echo "digest $digest (all cores), $digest1 (one thread)"
[[ "$digest" == "$digest1" ]] || { echo "the digests differ" >&2; exit 1; }
