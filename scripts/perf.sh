#!/usr/bin/env bash
# Real-world performance of the evlib build: the tables of the README's "Performance" section.
#
#   bash scripts/perf.sh              # 10 M and 100 M events, every format this build can write
#   bash scripts/perf.sh --huge       # also 500 M and 1 B events (EVLIB_PERF_HUGE=1 does the same)
#   EVLIB_PERF_SIZES=2000000 EVLIB_PERF_RUNS=3 bash scripts/perf.sh     # a quick check
#
# For each size and format it writes a seeded synthetic recording (`evlib generate`, seed 1,
# 1280x720, no triggers; `evlib convert` from the EVT 3.0 file when generate cannot write the
# format), warms the page cache, and then, in rounds that alternate the modes so that a noisy
# machine's drift falls on all of them alike, runs one fresh process per measurement:
#   - whole file into memory:  evlib bench FILE --runs 1 --json
#   - streaming at each chunk: evlib bench FILE --stream --chunk C --runs 1 --json
#   - streaming on all cores:  evlib bench FILE --stream --threads $(nproc) --runs 1 --json
#     (the scan path `info`/`convert` take by default; EVT 2.0/2.1/3.0 and DAT split across
#     threads, other formats stream on one)
# under /usr/bin/time -f %M (the process's peak RSS). Reported: file bytes per event, median /
# min / max M events/s over the runs, peak RSS (MiB and bytes per event) for the whole-file read,
# and streaming throughput and peak RSS at each chunk size, which shows that streaming memory
# follows the chunk size and not the file size. Throughput excludes the page-cache warm-up.
#
# Formats this build cannot write (or read back) are skipped and listed, so the script keeps
# working as formats are added: name them in EVLIB_PERF_FORMATS. Whole-file reads that would not
# fit in memory (about 14 bytes/event against 80 % of MemAvailable) are skipped, and so are files
# that would not fit on the disk.
#
# Output: a Markdown table on stdout and in $EVLIB_PERF_OUT/perf.md, all numbers (every run) in
# $EVLIB_PERF_OUT/perf.json.
#
# Settings (environment):
#   EVLIB_PERF_SIZES     event counts (default "10000000 100000000"); EVLIB_PERF_EVENTS is an alias
#   EVLIB_PERF_HUGE=1    add 500 M and 1 B events (or --huge; ~55 GB of disk without text, an hour or more)
#   EVLIB_PERF_FORMATS   default "evt3 evt2 dat hdf5 aedat4 text"; "all" = every format
#                        `evlib convert --to` lists (csv, npy, npz... too)
#   EVLIB_PERF_RUNS      fresh-process runs per measurement (default 5, at least 5 for the README)
#   EVLIB_PERF_CHUNKS    streaming chunk sizes in events (default "65536 1048576 4194304"; 1048576
#                        is the CLI default and gives the "streaming" column)
#   EVLIB_PERF_TEXT_MAX  largest size measured for text formats (text, csv; default 100000000):
#                        1 B events of text are 16 GB and take most of an hour
#   EVLIB_PERF_DIR       where the recordings go (default /tmp/evlib-perf; kept for reuse, delete
#                        to regenerate, or set EVLIB_PERF_REGENERATE=1)
#   EVLIB_PERF_OUT       where perf.md and perf.json go (default $EVLIB_PERF_DIR)
#   EVLIB_BUILD_DIR      the build to measure (default build; built with scripts/build.sh if missing)
#
# Runtime with the defaults on the 2-core development machine: about 5 minutes (an estimate
# scaled from a 2 M-event run, which takes under 10 s: 120 fresh-process runs plus writing the
# files; the 100 M-event files dominate, text the most). Files: about 6 GB in EVLIB_PERF_DIR.
# A second run reuses the files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

huge=${EVLIB_PERF_HUGE:-0}
for arg in "$@"; do
  case $arg in
    --huge) huge=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "perf.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

build=${EVLIB_BUILD_DIR:-build}
[[ $build = /* ]] || build=$root/$build
evlib=$build/tools/evlib/evlib
if [[ ! -x $evlib ]]; then
  if [[ $build == "$root/build" ]]; then bash scripts/build.sh; else echo "perf.sh: no $evlib" >&2; exit 2; fi
fi
[[ -x /usr/bin/time ]] || { echo "perf.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

sizes=${EVLIB_PERF_SIZES:-${EVLIB_PERF_EVENTS:-10000000 100000000}}
[[ $huge == 1 ]] && sizes="$sizes 500000000 1000000000"
formats=${EVLIB_PERF_FORMATS:-evt3 evt2 dat hdf5 aedat4 text}
if [[ $formats == all ]]; then
  formats=$("$evlib" convert --help | sed -n 's/.*--to TEXT *Output format: //p' | tr -d ',')
fi
runs=${EVLIB_PERF_RUNS:-5}
chunks=${EVLIB_PERF_CHUNKS:-65536 1048576 4194304}
text_max=${EVLIB_PERF_TEXT_MAX:-100000000}
dir=${EVLIB_PERF_DIR:-/tmp/evlib-perf}
out=${EVLIB_PERF_OUT:-$dir}
mkdir -p "$dir" "$out"
raw=$out/perf-raw.jsonl
notes=$out/perf-notes.jsonl
: > "$raw"
: > "$notes"

note() {  # format events reason
  printf '{"format": "%s", "events": %s, "note": "%s"}\n' "$1" "$2" "$3" >> "$notes"
  echo "perf.sh: $1 at $2 events: $3" >&2
}

ext_of() {
  case $1 in
    evt3) echo _evt3.raw ;; evt2) echo _evt2.raw ;; evt21) echo _evt21.raw ;; dat) echo .dat ;;
    hdf5) echo .h5 ;; aedat4) echo .aedat4 ;; text) echo .txt ;; csv) echo .csv ;;
    npy) echo .npy ;; npz) echo .npz ;; *) echo ".$1" ;;
  esac
}

# Writes `events` events of `fmt` to `file`: generate directly, else convert from the EVT 3.0
# recording of the same size. Returns non-zero when this build can do neither.
make_file() {
  local fmt=$1 events=$2 file=$3 src
  if "$evlib" generate "$file" --to "$fmt" -n "$events" --seed 1 -q --force 2>/dev/null; then return 0; fi
  src=$dir/synthetic_${events}$(ext_of evt3)
  [[ -f $src ]] || "$evlib" generate "$src" --to evt3 -n "$events" --seed 1 -q --force || return 1
  "$evlib" convert "$src" "$file" --to "$fmt" --force -q 2>/dev/null
}

# Which formats this build can write and read back, and how many bytes an event takes in each
# (from a 100 000-event probe file), for the disk-space check.
declare -A bpe read_args
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
usable=()
for fmt in $formats; do
  f=$probe_dir/probe$(ext_of "$fmt")
  if ! make_file "$fmt" 100000 "$f"; then note "$fmt" 0 "this build cannot write it (generate/convert failed): skipped"; continue; fi
  read_args[$fmt]=""
  if ! "$evlib" info -q "$f" >/dev/null 2>&1; then
    if "$evlib" info -q --format "$fmt" "$f" >/dev/null 2>&1; then
      read_args[$fmt]="--format $fmt"
    else
      note "$fmt" 0 "this build cannot read it back: skipped"; continue
    fi
  fi
  bpe[$fmt]=$(( $(stat -c %s "$f") * 1000 / 100000 ))  # milli-bytes per event
  usable+=("$fmt")
done
rm -f "$dir"/synthetic_100000_evt3.raw

mem_avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
total=0
for events in $sizes; do
  for fmt in "${usable[@]}"; do
    file=$dir/synthetic_${events}$(ext_of "$fmt")
    if [[ ($fmt == text || $fmt == csv) && $events -gt $text_max ]]; then
      note "$fmt" "$events" "above EVLIB_PERF_TEXT_MAX=$text_max: skipped"; continue
    fi
    if [[ ! -s $file || ${EVLIB_PERF_REGENERATE:-0} == 1 ]]; then
      need_kib=$(( events * ${bpe[$fmt]} * 11 / 10 / 1000 / 1024 ))
      free_kib=$(df -Pk "$dir" | awk 'NR == 2 {print $4}')
      if (( need_kib > free_kib )); then note "$fmt" "$events" "needs ~$((need_kib / 1048576)) GiB of disk, $((free_kib / 1048576)) GiB free: skipped"; continue; fi
      echo "perf.sh: writing $file" >&2
      make_file "$fmt" "$events" "$file" || { note "$fmt" "$events" "writing the file failed: skipped"; continue; }
    fi
    file_bytes=$(stat -c %s "$file")
    cat "$file" > /dev/null  # page cache (each bench run also reads it once before timing)
    # Whole-file reads need ~13.5 bytes/event of columns; leave the rest of memory alone.
    whole=1
    if (( events * 14 / 1024 > mem_avail_kib * 8 / 10 )); then
      whole=0
      note "$fmt" "$events" "whole-file read needs ~$((events * 14 / 1073741824)) GiB, more than 80 % of available memory: streaming only"
    fi
    modes=()
    [[ $whole == 1 ]] && modes+=(whole)
    for c in $chunks; do modes+=("$c"); done
    modes+=(cores)
    echo "perf.sh: measuring $fmt, $events events, $runs rounds of: ${modes[*]}" >&2
    for ((r = 1; r <= runs; r++)); do
      for m in "${modes[@]}"; do
        # shellcheck disable=SC2206  # read_args holds "--format NAME" or nothing: split on purpose
        args=(bench "$file" --runs 1 --json ${read_args[$fmt]})
        case $m in
          whole) ;;
          cores) args+=(--stream --threads "$(nproc)") ;;
          *) args+=(--stream --chunk "$m") ;;
        esac
        if ! json=$(/usr/bin/time -f %M -o "$probe_dir/rss" "$evlib" "${args[@]}"); then
          note "$fmt" "$events" "evlib ${args[*]} failed"; continue
        fi
        printf '{"events": %s, "format": "%s", "mode": "%s", "run": %d, "file_bytes": %s, "max_rss_kib": %s, "bench": %s}\n' \
          "$events" "$fmt" "$m" "$r" "$file_bytes" "$(tail -1 "$probe_dir/rss")" "$json" >> "$raw"
        total=$((total + 1))
      done
    done
  done
done

# The machine, for the record.
cpu=$(sed -n '/^model name/{s/^model name[[:space:]]*: //p;q}' /proc/cpuinfo)
flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx2|avx512f|bmi2' | sort -u | paste -sd' ' - || true)
thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)
compiler=$(sed -n '/^CMAKE_CXX_COMPILER:/{s/^CMAKE_CXX_COMPILER:[A-Z]*=//p;q}' "$build/CMakeCache.txt" 2>/dev/null || true)
compiler=$("${compiler:-c++}" --version 2>/dev/null | head -1 || true)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=" (with uncommitted changes)"; fi

/usr/bin/python3 - "$raw" "$notes" "$out" "$cpu" "$(nproc)" "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" \
  "$flags" "$thp" "$compiler" "$rev$dirty" "$runs" "$chunks" "$(uname -r)" <<'PY'
import json, statistics, sys
raw, notes_path, out, cpu, nproc, memtotal_kib, flags, thp, compiler, rev, runs, chunks, kernel = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
notes = [json.loads(l) for l in open(notes_path) if l.strip()]
chunks = [int(c) for c in chunks.split()]
default_chunk = 1048576 if 1048576 in chunks else chunks[len(chunks) // 2]

def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)} if v else None

results = {}
for r in rows:
    key = (r["events"], r["format"])
    e = results.setdefault(key, {"events": r["events"], "format": r["format"], "file_bytes": r["file_bytes"], "modes": {}})
    m = e["modes"].setdefault(r["mode"], {"mev_s": [], "max_rss_kib": [], "decoded_events": set()})
    m["mev_s"].append(r["bench"]["median_mev_s"])
    m["max_rss_kib"].append(r["max_rss_kib"])
    m["decoded_events"].add(r["bench"]["events"])

doc = {"machine": {"cpu": cpu, "nproc": int(nproc), "mem_total_kib": int(memtotal_kib), "cpu_flags": flags,
                   "transparent_hugepages": thp, "kernel": kernel, "compiler": compiler, "evlib_revision": rev},
       "settings": {"runs": int(runs), "chunks": chunks, "scene": "evlib generate --seed 1, 1280x720, no triggers",
                    "process": "fresh process per run, /usr/bin/time -f %M peak RSS, file in page cache"},
       "results": [], "notes": notes}
# Sizes ascending; formats in the order they were measured (EVLIB_PERF_FORMATS).
for (events, fmt), e in sorted(results.items(), key=lambda kv: kv[0][0]):
    entry = {"events": events, "format": fmt, "file_bytes": e["file_bytes"],
             "file_bytes_per_event": e["file_bytes"] / events, "modes": {}}
    for mode, m in e["modes"].items():
        if m["decoded_events"] != {events}:
            notes.append({"format": fmt, "events": events, "note": f"{mode}: decoded {sorted(m['decoded_events'])} events, expected {events}"})
        entry["modes"][mode] = {"runs": len(m["mev_s"]), "mev_s": stats(m["mev_s"]), "peak_rss_mib": stats([k / 1024 for k in m["max_rss_kib"]]),
                                "peak_rss_bytes_per_event": statistics.median(m["max_rss_kib"]) * 1024 / events,
                                "all_mev_s": m["mev_s"], "all_max_rss_kib": m["max_rss_kib"]}
    doc["results"].append(entry)
with open(f"{out}/perf.json", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

def count(n):
    return f"{n // 1_000_000_000} B" if n % 1_000_000_000 == 0 and n >= 1_000_000_000 else f"{n / 1e6:g} M"
def chunk_label(c):
    return f"{c >> 20} Mi" if c % (1 << 20) == 0 else f"{c >> 10} Ki" if c % 1024 == 0 else str(c)
def rate(s):
    return f"{s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f})" if s else "-"

lines = []
mem_gib = int(memtotal_kib) / 1048576
lines.append(f"Machine: {cpu}, {nproc} cores ({flags}), {mem_gib:.0f} GiB, transparent huge pages `{thp}`, "
             f"Linux {kernel}, {compiler}; evlib {rev}. Median (min-max) of {runs} runs, fresh process each, file in page cache.")
lines.append("")
lines.append(f"| events | format | file bytes/event | whole file: M events/s | whole file: peak RSS | streaming ({chunk_label(default_chunk)} chunk): M events/s | streaming: peak RSS "
             f"| streaming on {nproc} threads: M events/s | peak RSS |")
lines.append("|---|---|---|---|---|---|---|---|---|")
for e in doc["results"]:
    w = e["modes"].get("whole")
    s = e["modes"].get(str(default_chunk))
    wr = f"{w['peak_rss_mib']['median']:.0f} MiB ({w['peak_rss_bytes_per_event']:.2f} B/event)" if w else "skipped"
    sr = f"{s['peak_rss_mib']['median']:.0f} MiB" if s else "-"
    c = e["modes"].get("cores")
    cr = f"{c['peak_rss_mib']['median']:.0f} MiB" if c else "-"
    lines.append(f"| {count(e['events'])} | {e['format']} | {e['file_bytes_per_event']:.2f} | {rate(w['mev_s']) if w else 'skipped'} | {wr} "
                 f"| {rate(s['mev_s']) if s else '-'} | {sr} | {rate(c['mev_s']) if c else '-'} | {cr} |")
lines.append("")
sizes = sorted({e["events"] for e in doc["results"]})
lines.append("Streaming by chunk size: M events/s median (min-max), peak RSS. Memory follows the chunk, not the file.")
lines.append("")
lines.append("| format | chunk, events | " + " | ".join(count(n) + " events" for n in sizes) + " |")
lines.append("|---|---|" + "---|" * len(sizes))
by_key = {(e["events"], e["format"]): e for e in doc["results"]}
for fmt in dict.fromkeys(e["format"] for e in doc["results"]):
    for c in chunks:
        cells = []
        for n in sizes:
            m = by_key.get((n, fmt), {}).get("modes", {}).get(str(c))
            cells.append(f"{rate(m['mev_s'])}, {m['peak_rss_mib']['median']:.0f} MiB" if m else "-")
        lines.append(f"| {fmt} | {chunk_label(c)} ({c * 13 / 1048576:.1f} MiB of columns) | " + " | ".join(cells) + " |")
if notes:
    lines.append("")
    for n in notes:
        lines.append(f"- {n['format']}" + (f" at {count(n['events'])} events" if n["events"] else "") + f": {n['note']}")
text = "\n".join(lines) + "\n"
with open(f"{out}/perf.md", "w") as f:
    f.write(text)
print(text, end="")
PY
echo "perf.sh: $total runs; tables in $out/perf.md, every number in $out/perf.json" >&2
