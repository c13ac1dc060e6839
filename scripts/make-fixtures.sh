#!/usr/bin/env bash
# Regenerate the file fixtures under tests/fixtures/data/ (HDF5, NetCDF-4, Zarr files written
# by h5py, netCDF4-python, xarray and zarr-python, and the values xarray computes from them in
# tests/fixtures/data/expected/*.json).
#
# What it does:
#   1. creates a CPython 3.11 venv at tests/fixtures/.venv (ignored by git) if it is missing or
#      was made for other pins than those below, and pip-installs exactly these versions;
#   2. runs tests/fixtures/make_fixtures.py, which deletes tests/fixtures/data/ and writes it
#      again, deterministically (fixed seeds, no timestamps): running this twice gives the same
#      bytes (tests/fixtures/data/MANIFEST.txt lists every file with its hash).
#
# The outputs are committed: the Rust tests read them and need no Python. Run this only to
# change the fixtures, then commit tests/fixtures/data together with the script change.
#
# Usage: bash scripts/make-fixtures.sh      (PYTHON=/path/to/python3.11 to choose the interpreter)
#        bash scripts/make-fixtures.sh --venv-only   step 1 only: make the venv, leave data/ as is
#        (what scripts/check-xarray-reads.sh needs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/tests/fixtures/.venv"
python="${PYTHON:-python3.11}"

# The tools, then everything they pull in, pinned exactly (pip freeze of the venv).
pins=(
  numpy==2.4.6
  h5py==3.16.0
  netCDF4==1.7.5.1.post1
  xarray==2026.9.0
  zarr==3.1.6
  cftime==1.6.6.1
  pandas==3.1.1
  dask==2026.8.0            # xr.open_mfdataset opens each file as dask arrays
  certifi==2026.10.19.post1
  click==8.5.1
  cloudpickle==3.1.3
  donfig==0.8.1.post1
  fsspec==2026.9.0
  google-crc32c==1.9.0
  importlib_metadata==10.2.0
  lazy-importer==0.1.0
  locket==1.0.0
  numcodecs==0.16.6
  packaging==26.4
  partd==1.4.2
  python-dateutil==4.0.0
  PyYAML==6.0.4
  toolz==1.2.0
  typing_extensions==4.16.0
  tzdata==2026.6
  zipp==4.1.2
)
want="$(printf '%s\n' "${pins[@]}")"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "make-fixtures: $python not found; install CPython 3.11 or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.pins" 2>/dev/null)" != "$want" ]; then
  echo "make-fixtures: creating $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
  "$venv/bin/python" -m pip check
  printf '%s\n' "$want" > "$venv/.pins"
fi

if [ "${1:-}" = "--venv-only" ]; then
  echo "make-fixtures: venv ready at $venv (fixtures not regenerated)" >&2
  exit 0
fi

"$venv/bin/python" "$root/tests/fixtures/make_fixtures.py"
