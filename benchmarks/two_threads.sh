#!/usr/bin/env bash
# One thread against two, streaming, for the formats that decode in parallel (EVT 3.0, EVT 2.0,
# EVT 2.1, DAT), and what the machine gives two independent one-thread processes running at once
# (the same decoder twice, no sharing: the most two cores can do with this memory system).
#
#   bash benchmarks/two_threads.sh [EVENTS]     # default 100000000; files kept in $EVLIB_TWO_DIR
#
# Per format: `evlib bench FILE --stream --compare-threads 1,2 --runs R` (fresh processes,
# alternating, median (min-max)), then R rounds of two `bench --stream --threads 1 --runs 1`
# processes started together, whose rates are summed. Needs a quiet machine: other load on
# either core shows up as a lower two-thread ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-100000000}
RUNS=${EVLIB_TWO_RUNS:-5}
DIR=${EVLIB_TWO_DIR:-/tmp/evlib-two-threads}
EVLIB=${EVLIB_CLI:-build/tools/evlib/evlib}
mkdir -p "$DIR"
rate() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_mev_s"])' "$1"; }
median() { python3 -c 'import statistics,sys; v=sorted(map(float,sys.argv[1:])); print(f"{statistics.median(v):.0f} ({v[0]:.0f}-{v[-1]:.0f})")' "$@"; }

echo "| format | 1 thread, M events/s | 2 threads | 2 threads / 1 | two 1-thread processes at once, sum | sum / 1 thread |"
echo "|---|---|---|---|---|---|"
for fmt in evt3 evt2 evt21 dat; do
  ext=raw; [[ $fmt == dat ]] && ext=dat
  file="$DIR/$fmt-$EVENTS.$ext"
  [[ -f $file ]] || "$EVLIB" generate "$file" -n "$EVENTS" --seed 1 --to "$fmt" -q
  cat "$file" > /dev/null  # page cache
  out=$("$EVLIB" bench "$file" --stream --compare-threads 1,2 --runs "$RUNS")
  one=$(awk '$1 == "--threads" && $2 == "1" && $3 ~ /str/ {print $5, $6}' <<<"$out")
  two=$(awk '$1 == "--threads" && $2 == "2" && $3 ~ /str/ {print $5, $6}' <<<"$out")
  ratio=$(grep -oE 'ratio of medians [0-9.]+' <<<"$out" | awk '{print $4}')
  sums=()
  for ((r = 0; r < RUNS; r++)); do
    "$EVLIB" bench "$file" --stream --threads 1 --runs 1 --json > "$DIR/a.json" &
    "$EVLIB" bench "$file" --stream --threads 1 --runs 1 --json > "$DIR/b.json"
    wait
    sums+=("$(python3 -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[2]))' "$(rate "$DIR/a.json")" "$(rate "$DIR/b.json")")")
  done
  sum=$(median "${sums[@]}")
  one_median=${one%% *}
  echo "| $fmt | $one | $two | ${ratio}x | $sum | $(python3 -c "print(f'{${sum%% *}/$one_median:.2f}x')") |"
done
