#!/usr/bin/env bash
# Installs the Debian packages evlib needs, only those missing. Safe to run repeatedly.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libssl-dev libcli11-dev
          libgtest-dev libgmock-dev libbenchmark-dev
          libhdf5-dev liblz4-dev libzstd-dev zlib1g-dev libflatbuffers-dev flatbuffers-compiler
          python3-numpy python3-h5py python3-venv python3-dev time valgrind libpng-dev
          libavcodec-dev libavformat-dev libswscale-dev libavutil-dev)
if [[ "${EVLIB_WITH_FUZZ:-0}" == 1 ]]; then packages+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then exit 0; fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
