#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang-14 + ASan + UBSan in build-fuzz/ and runs each
# for a bounded time. Exits non-zero when any target finds a crash, a sanitizer report, a timeout,
# an out-of-memory or an oracle failure. Reproducers of known open bugs in fuzz/crashes/ are
# replayed and reported first (fatal only with FUZZ_STRICT_CRASHES=1).
#
#   bash scripts/fuzz.sh            # 30 s per target
#   bash scripts/fuzz.sh 120        # 120 s per target (or FUZZ_SECONDS=120)
#   FUZZ_TARGETS="fuzz_evt3 fuzz_reader" bash scripts/fuzz.sh 60
#
# Environment: FUZZ_SECONDS (per target, default 30), FUZZ_TARGETS (space-separated subset),
# FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build parallelism, default 2),
# FUZZ_SHARED_DATA (real recordings used as extra seeds, default ../shared/data when present),
# FUZZ_EXTRA_ARGS (extra libFuzzer flags), FUZZ_CMAKE_ARGS (extra configure arguments), FUZZ_STRICT_CRASHES=1 (fail on fuzz/crashes/ too).
#
# The evolving corpus lives in $FUZZ_BUILD_DIR/corpus/<target> (kept between runs, never
# committed); the checked-in seeds in fuzz/corpus/<target> are only read. Crash artifacts are
# written to $FUZZ_BUILD_DIR/artifacts/<target>-crash-<sha1> and so on; logs to $FUZZ_BUILD_DIR/logs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SECONDS_EACH=${1:-${FUZZ_SECONDS:-30}}
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [ "$SECONDS_EACH" -lt 1 ]; then
  echo "usage: $0 [seconds-per-target]   (got '$SECONDS_EACH')" >&2
  exit 2
fi
ALL_TARGETS="fuzz_evt3 fuzz_evt2 fuzz_evt21 fuzz_dat fuzz_raw_header fuzz_reader fuzz_ecf fuzz_aedat2 fuzz_aedat3 fuzz_aedat4 fuzz_text fuzz_npy"
read -r -a TARGETS <<< "${FUZZ_TARGETS:-$ALL_TARGETS}"
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-2}
SHARED_DATA=${FUZZ_SHARED_DATA:-$ROOT/../shared/data}
CXX_FUZZ=clang++-14
CC_FUZZ=clang-14

log() { printf '[fuzz.sh] %s\n' "$*"; }

# ---------------------------------------------------------------- toolchain
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2
    return 1
  fi
}

# Can clang++-14 link a libFuzzer binary with ASan and UBSan?
fuzzer_toolchain_ok() {
  command -v "$CXX_FUZZ" >/dev/null 2>&1 || return 1
  local tmp
  tmp=$(mktemp -d)
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' > "$tmp/t.cpp"
  "$CXX_FUZZ" -fsanitize=fuzzer,address,undefined "$tmp/t.cpp" -o "$tmp/t" >/dev/null 2>&1
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

ensure_packages() {
  local missing=()
  local pkg
  for pkg in clang-14 libclang-rt-14-dev libssl-dev cmake; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ! fuzzer_toolchain_ok; then
    # The packages may be there but broken or partial: reinstall the toolchain ones.
    for pkg in clang-14 libclang-rt-14-dev; do
      [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
    done
  fi
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing packages (${missing[*]}) and no apt-get to install them" >&2
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y "${missing[@]}" || { as_root apt-get update && as_root apt-get install -y "${missing[@]}"; }
  if ! fuzzer_toolchain_ok; then
    echo "$CXX_FUZZ still cannot link -fsanitize=fuzzer,address,undefined" >&2
    exit 1
  fi
}

# The project's own dependency installer (HDF5, LZ4, Zstd, ...; installs only what is missing).
if [ -f "$ROOT/scripts/install-deps.sh" ]; then EVLIB_WITH_FUZZ=1 bash "$ROOT/scripts/install-deps.sh"; fi
ensure_packages

# ---------------------------------------------------------------- build
log "configuring $BUILD_DIR (the CMake preset \"fuzz\": clang-14, -fsanitize=fuzzer,address,undefined)"
cmake --preset fuzz -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DCMAKE_C_COMPILER="$CC_FUZZ" ${FUZZ_CMAKE_ARGS:-} >/dev/null
log "building ${TARGETS[*]}"
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}"

# ---------------------------------------------------------------- seeds from real recordings
# Real files are never copied into the repository; when ../shared/data is there, the reader and
# header targets read them directly and the decoder targets get their payloads (header stripped,
# first 16 KiB) behind a control prefix in $BUILD_DIR/seeds/<target>.
SEEDS_DIR="$BUILD_DIR/seeds"
rm -rf "$SEEDS_DIR"
mkdir -p "$SEEDS_DIR"

# Length of the `% ` header of a file (docs/formats.md 1.1), in bytes.
header_length() {
  LC_ALL=C head -c 65536 "$1" | LC_ALL=C awk '
    BEGIN { n = 0 }
    /^% / { n += length($0) + 1; if ($1 == "%" && $2 == "end") { print n; done = 1; exit } next }
    { print n; done = 1; exit }
    END { if (!done) print n }' || true   # awk exits early: head may die of SIGPIPE
}

# derive_seed <target> <file> <control-bytes-escape> <extra bytes to skip after the header>
derive_seed() {
  local target=$1 file=$2 control=$3 skip=$4 off
  off=$(header_length "$file")
  mkdir -p "$SEEDS_DIR/$target"
  local out="$SEEDS_DIR/$target/$(basename "$file")"
  { printf "$control"; tail -c +$((off + skip + 1)) "$file" | head -c 16384 || true; } > "$out"
}

extra_dirs() {  # prints extra corpus directories for a target, one per line
  local target=$1 d
  case "$target" in
    fuzz_reader|fuzz_raw_header)
      for d in evt3 evt2 dat; do [ -d "$SHARED_DATA/$d" ] && echo "$SHARED_DATA/$d"; done ;;
    *) [ -d "$SEEDS_DIR/$target" ] && echo "$SEEDS_DIR/$target" ;;
  esac
  return 0
}

if [ -d "$SHARED_DATA" ]; then
  log "using real recordings under $SHARED_DATA as extra seeds"
  # Control prefix: geometry byte, options byte, split (LE16), sink byte (fuzz/fuzz_common.hpp).
  for f in "$SHARED_DATA"/evt3/*.raw; do
    [ -f "$f" ] || continue
    derive_seed fuzz_evt3 "$f" '\x24\x00\x31\x07\x05' 0            # 1280x720, split 1841
  done
  for f in "$SHARED_DATA"/evt2/*.raw; do
    [ -f "$f" ] || continue
    derive_seed fuzz_evt2 "$f" '\x1b\x00\x02\x0c\x45' 0            # 640x480, split 3074, 1-byte pieces
  done
  for f in "$SHARED_DATA"/dat/*.dat; do
    [ -f "$f" ] || continue
    derive_seed fuzz_dat "$f" '\x1b\x00\x11\x05\x00' 2             # Event2d, 120x100 (N-CARS), split 1297
  done
else
  log "no $SHARED_DATA: checked-in seeds only"
fi

# ---------------------------------------------------------------- open bugs: saved reproducers
# fuzz/crashes/<target>-<name> are reproducers of library bugs not fixed yet. They are replayed
# and reported, but only fail the script with FUZZ_STRICT_CRASHES=1 (CI runs this script). Once a
# bug is fixed, move its reproducer to fuzz/corpus/<target>/: every fuzz run starts by executing
# the corpus, so a regression then fails the run.
FAILED=()
KNOWN=()
declare -A RESULT
if compgen -G "fuzz/crashes/*" >/dev/null; then
  log "replaying reproducers of open bugs in fuzz/crashes/"
  for f in fuzz/crashes/*; do
    t=${f##*/}
    t=${t%%-*}
    [ -x "$BUILD_DIR/fuzz/$t" ] || continue
    if EVLIB_FUZZ_STRICT=1 "$BUILD_DIR/fuzz/$t" -timeout=10 -artifact_prefix="$BUILD_DIR/reproducer-" "$f" >"$BUILD_DIR/reproducer.log" 2>&1; then
      log "  passes now (fixed? move it to fuzz/corpus/$t/): $f"
    else
      log "  still fails: $f"
      grep -m 2 -E 'ERROR|runtime error|oracle failed' "$BUILD_DIR/reproducer.log" | sed 's/^/      /' || true
      KNOWN+=("$f")
      if [ "${FUZZ_STRICT_CRASHES:-0}" = 1 ]; then FAILED+=("$f"); fi
    fi
  done
fi

# ---------------------------------------------------------------- fuzz
mkdir -p "$BUILD_DIR/corpus" "$BUILD_DIR/artifacts" "$BUILD_DIR/logs" "$BUILD_DIR/tmp"
case $BUILD_DIR in /*) TMPDIR="$BUILD_DIR/tmp" ;; *) TMPDIR="$ROOT/$BUILD_DIR/tmp" ;; esac
export TMPDIR   # fuzz_reader and fuzz_text write their input files here (FUZZ_BUILD_DIR may be absolute)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
read -r -a EXTRA <<< "${FUZZ_EXTRA_ARGS:-}"

for t in "${TARGETS[@]}"; do
  corpus="$BUILD_DIR/corpus/$t"
  mkdir -p "$corpus"
  dirs=("$corpus" "fuzz/corpus/$t")
  while IFS= read -r d; do [ -n "$d" ] && dirs+=("$d"); done < <(extra_dirs "$t")
  logf="$BUILD_DIR/logs/$t.log"
  log "running $t for ${SECONDS_EACH}s (corpus: ${dirs[*]})"
  set +e
  "$BUILD_DIR/fuzz/$t" "${dirs[@]}" \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$t-" "${EXTRA[@]}" >"$logf" 2>&1
  rc=$?
  set -e
  # (|| true: a target that died before printing its stats matches nothing, which under pipefail
  # would end the script before its summary)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logf" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -oE '(DONE|pulse|NEW|REDUCE|INITED) +cov: [0-9]+ ft: [0-9]+' "$logf" | tail -1 | sed -E 's/^[A-Z]+ +//' || true)
  corp=$(find "$corpus" -type f | wc -l)
  if [ $rc -ne 0 ]; then
    RESULT[$t]="FAILED (exit $rc; execs ${execs:-?}; $cov)"
    FAILED+=("$t")
    log "$t FAILED (exit $rc), see $logf"
    grep -m 8 -E 'ERROR|runtime error|oracle failed|SUMMARY|Test unit written' "$logf" | sed 's/^/    /' || true
  else
    RESULT[$t]="ok (execs ${execs:-?}; $cov; corpus $corp files)"
  fi
done

echo
echo "==== fuzz summary (${SECONDS_EACH}s per target) ===="
for t in "${TARGETS[@]}"; do printf '  %-16s %s\n' "$t" "${RESULT[$t]}"; done
if [ ${#KNOWN[@]} -ne 0 ]; then echo "open bugs (fuzz/crashes/, still failing): ${KNOWN[*]}"; fi
if [ ${#FAILED[@]} -ne 0 ]; then
  echo "FAILED: ${FAILED[*]}"
  echo "artifacts: $BUILD_DIR/artifacts/   logs: $BUILD_DIR/logs/"
  exit 1
fi
echo "no crashes"
