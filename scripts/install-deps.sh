#!/usr/bin/env bash
# Install the system packages chunkwise builds against (MPI, parallel HDF5, hwloc,
# libclang for bindgen, pkg-config, libudev, fontconfig's headers for the plots' text),
# a font for that text (fontconfig, fonts-dejavu-core), netcdf-bin (ncdump, which
# the tests use to check the files chunkwise writes), chromium (the tests load
# `chunkwise serve`'s dashboard in headless Chromium) and bsdutils (`script`, with which
# the tests run the shell in a pseudo-terminal), idempotently. On a machine where
# we cannot install (not root, no apt), say exactly what is missing and exit
# non-zero.
set -euo pipefail

# Debian/Ubuntu package names, one per capability.
pkgs=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libhwloc-dev libudev-dev libclang-dev pkg-config
      libfontconfig-dev fontconfig fonts-dejavu-core netcdf-bin chromium bsdutils)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
  if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
  fi
fi

cat >&2 <<MSG
install-deps: these system packages are missing and cannot be installed here:
  ${missing[*]}
On Debian/Ubuntu:  sudo apt-get install ${missing[*]}
On an HPC system, load the equivalent modules instead, for example:
  module load openmpi hdf5-parallel hwloc llvm fontconfig
and make sure mpicc, pkg-config and libclang are on PATH / LIBCLANG_PATH, and that
fontconfig finds at least one TrueType font (fc-list), which plots need for their text.
Only the tests need chromium (the dashboard test; CHUNKWISE_SKIP_BROWSER=1 skips it).
MSG
exit 1
