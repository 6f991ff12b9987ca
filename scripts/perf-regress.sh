#!/usr/bin/env bash
# Kernel performance regression check by instruction counts (Callgrind), stable on a noisy
# shared machine where timings are not.
#
#   bash scripts/perf-regress.sh                  # compare the build with benchmarks/baseline.json
#   bash scripts/perf-regress.sh --update         # measure and rewrite the baseline
#   bash scripts/perf-regress.sh --build build-debug --no-build --threshold 5 --kernels evt3_decode,dat_decode
#
# Each kernel of benchmarks/kernel_probe.cpp (`evlib_kernel_probe --list`) runs once, in its own
# process, under `valgrind --tool=callgrind` on a fixed seeded input of N events (default
# 200 000); only the kernel is instrumented. The kernels: the decoders and encoders, the event
# filter, the digest, streaming (EVT3, and text lines with times in seconds) and re-batching, and the processing kernels of include/evlib/ops
# (ops_event_frame, ops_stacked_histogram, ops_voxel_grid (E2VID, zeroing its grid first),
# ops_voxel_grid_tonic (into a zeroed grid, as Python calls it) and the ops_refractory,
# ops_background_activity, ops_stcf and ops_fast_decay filters), each checked by an invariant of its result. The total instructions (Ir) divided by N is compared
# with the baseline; the script exits 1 when any kernel is more than the threshold (default 10 %)
# above it, or when a kernel produced a wrong result, and 2 on a usage or setup error. A kernel
# that got faster by more than the threshold is reported (not a failure): run --update to lock
# the gain in. Kernels missing from the baseline are reported as new and do not fail.
#
# Options (environment variable in brackets):
#   --build DIR      build directory holding benchmarks/evlib_kernel_probe [EVLIB_BUILD_DIR, default build]
#   --no-build       do not (re)build the probe first
#   --threshold PCT  allowed increase in % [EVLIB_REGRESS_THRESHOLD, default 10]
#   --baseline FILE  [EVLIB_REGRESS_BASELINE, default benchmarks/baseline.json]
#   --kernels LIST   comma-separated subset (default: all the probe has)
#   --events N       input size (default: the baseline's, else 200000)
#   --json FILE      also write the measurements as JSON
#   --update         write the measurements to the baseline instead of comparing
#
# Counts depend on the compiler, its flags and the libc/OpenSSL versions, so a baseline holds
# for one toolchain; the script warns when the compiler or valgrind differ from the baseline's.
# Runtime: about 1-2 s per kernel (valgrind start-up dominates), ~15-25 s in all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=${EVLIB_BUILD_DIR:-build}
threshold=${EVLIB_REGRESS_THRESHOLD:-10}
baseline=${EVLIB_REGRESS_BASELINE:-benchmarks/baseline.json}
kernels=""
events=""
json_out=""
update=0
do_build=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --threshold) threshold=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --kernels) kernels=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --update) update=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "perf-regress: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $threshold =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "perf-regress: --threshold wants a number of %" >&2; exit 2; }

command -v valgrind >/dev/null || { echo "perf-regress: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[[ $build = /* ]] || build=$root/$build
probe=$build/benchmarks/evlib_kernel_probe
if [[ $do_build == 1 ]]; then
  if [[ -f $build/build.ninja ]]; then
    ninja -C "$build" evlib_kernel_probe >/dev/null
  elif [[ $build == "$root/build" ]]; then
    bash scripts/build.sh >/dev/null
  else
    echo "perf-regress: $build is not a configured Ninja build directory; configure it with -DEVLIB_BUILD_BENCHMARKS=ON" >&2
    exit 2
  fi
fi
[[ -x $probe ]] || { echo "perf-regress: $probe not found (configure with -DEVLIB_BUILD_BENCHMARKS=ON)" >&2; exit 2; }

if [[ -z $events ]]; then
  events=200000
  if [[ -f $baseline ]]; then
    events=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("events", 200000))' "$baseline")
  fi
fi
if [[ -z $kernels ]]; then
  kernels=$("$probe" --list | paste -sd, -)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
: > "$results"
status=0
for k in ${kernels//,/ }; do
  out=$work/$k.callgrind
  # --instr-atstart=no: set-up runs uninstrumented (fast); the probe switches instrumentation and
  # collection on around the kernel only.
  if ! line=$(valgrind -q --tool=callgrind --instr-atstart=no --collect-atstart=no --callgrind-out-file="$out" \
                "$probe" "$k" --events "$events" 2>"$work/$k.err"); then
    echo "perf-regress: $k failed:" >&2
    cat "$work/$k.err" >&2
    printf '%s\t%s\t%s\t%s\n' "$k" "-1" "$events" "?" >> "$results"
    status=1
    continue
  fi
  ir=$(awk '/^totals:/ {print $2; found=1} END {if (!found) exit 1}' "$out" || awk '/^summary:/ {print $2}' "$out")
  n=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events"])' "$line")
  bt=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["build_type"])' "$line")
  printf '%s\t%s\t%s\t%s\n' "$k" "$ir" "$n" "$bt" >> "$results"
done

compiler=$(sed -n '/^CMAKE_CXX_COMPILER:/{s/^CMAKE_CXX_COMPILER:[A-Z]*=//p;q}' "$build/CMakeCache.txt" 2>/dev/null || true)
compiler_version=$("${compiler:-c++}" --version 2>/dev/null | head -1 || true)
cpu=$(sed -n '/^model name/{s/^model name[[:space:]]*: //p;q}' /proc/cpuinfo)

/usr/bin/python3 - "$results" "$baseline" "$threshold" "$update" "$events" "$json_out" "$compiler_version" \
  "$(valgrind --version)" "$cpu" "$status" <<'PY'
import json, os, sys, datetime
results, baseline_path, threshold, update, events, json_out, compiler, valgrind, cpu, status = sys.argv[1:]
threshold, update, events, status = float(threshold), update == "1", int(events), int(status)
rows = []
for line in open(results):
    k, ir, n, bt = line.rstrip("\n").split("\t")
    rows.append({"kernel": k, "ir": int(ir), "events": int(n), "build_type": bt})
measured = {r["kernel"]: {"ir": r["ir"], "ir_per_event": round(r["ir"] / r["events"], 4)} for r in rows if r["ir"] >= 0}
build_types = sorted({r["build_type"] for r in rows if r["ir"] >= 0})

doc = {"events": events, "threshold_pct": threshold, "compiler": compiler, "valgrind": valgrind, "cpu": cpu,
       "build_type": ",".join(build_types), "kernels": measured}
if json_out:
    with open(json_out, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")

if update:
    if status != 0:
        print("perf-regress: not updating the baseline: a kernel failed", file=sys.stderr)
        sys.exit(1)
    old = {}
    if os.path.exists(baseline_path):
        with open(baseline_path) as f:
            old = json.load(f).get("kernels", {})
    if old and set(old) - set(measured):
        # A partial run (--kernels) keeps the kernels it did not measure.
        for k in set(old) - set(measured):
            measured[k] = old[k]
    doc["kernels"] = dict(sorted(measured.items()))
    doc["updated"] = datetime.date.today().isoformat()
    with open(baseline_path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"baseline written to {baseline_path} ({len(measured)} kernels, {events} events each)")
    for k, v in doc["kernels"].items():
        print(f"  {k:24s} {v['ir_per_event']:10.2f} instructions/event")
    sys.exit(0)

if not os.path.exists(baseline_path):
    print(f"perf-regress: no baseline at {baseline_path}; create one with --update", file=sys.stderr)
    sys.exit(2)
with open(baseline_path) as f:
    base = json.load(f)
if base.get("events") != events:
    print(f"perf-regress: the baseline was measured on {base.get('events')} events, this run on {events}; "
          "counts per event are not comparable across sizes (use --events or --update)", file=sys.stderr)
    sys.exit(2)
for key, now in (("compiler", compiler), ("valgrind", valgrind)):
    if base.get(key) and base[key] != now:
        print(f"warning: baseline {key} was '{base[key]}', now '{now}': counts may differ for that reason alone")
if base.get("build_type") and base["build_type"] != doc["build_type"]:
    print(f"warning: baseline build type {base['build_type']}, this build {doc['build_type']}")

failed = status != 0
print(f"instructions per event, {events} events per kernel, threshold +{threshold:g} %")
print(f"| {'kernel':24s} | {'baseline':>10s} | {'current':>10s} | {'change':>8s} | status |")
print(f"|{'-'*26}|{'-'*12}|{'-'*12}|{'-'*10}|--------|")
for r in rows:
    k = r["kernel"]
    b = base.get("kernels", {}).get(k)
    if r["ir"] < 0:
        print(f"| {k:24s} | {(b or {}).get('ir_per_event', float('nan')):10.2f} | {'-':>10s} | {'-':>8s} | FAILED (wrong result or crash) |")
        failed = True
        continue
    cur = measured[k]["ir_per_event"]
    if b is None:
        print(f"| {k:24s} | {'-':>10s} | {cur:10.2f} | {'-':>8s} | new (not in baseline) |")
        continue
    change = (cur / b["ir_per_event"] - 1) * 100
    if change > threshold:
        verdict = "REGRESSED"
        failed = True
    elif change < -threshold:
        verdict = "faster (run --update)"
    else:
        verdict = "ok"
    print(f"| {k:24s} | {b['ir_per_event']:10.2f} | {cur:10.2f} | {change:+7.1f}% | {verdict} |")
for k in sorted(set(base.get("kernels", {})) - {r['kernel'] for r in rows}):
    print(f"note: {k} is in the baseline but was not measured")
print("FAIL: a kernel regressed or failed" if failed else "PASS")
sys.exit(1 if failed else 0)
PY
