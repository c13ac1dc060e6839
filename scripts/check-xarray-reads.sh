#!/usr/bin/env bash
# Check that xarray reads what chunkwise writes (issue 4: "files we write open in ncdump and in
# xarray"), with the right values.
#
# Builds examples/seasonal_difference.rs, runs the seed workflow on tests/fixtures/data/nc/mf/*.nc
# on 1 rank and under `mpirun -n 3`, each run writing its result `d` both as NetCDF-4 (to_netcdf)
# and as a Zarr v3 store (to_zarr); then scripts/check_xarray_reads.py opens every output with
# xr.open_dataset / xr.open_zarr and compares dims, coordinates, attributes and values with
# xarray's own computation of the same workflow on the same files (float32 tolerance), and the
# outputs with each other (same bits). Exits non-zero on any mismatch.
#
# Needs the fixtures' Python venv (xarray, netCDF4, zarr, dask at the pinned versions). If it is
# missing, run first:
#     bash scripts/make-fixtures.sh --venv-only
#
# Usage: bash scripts/check-xarray-reads.sh
#   RANKS="1 2 4"   rank counts to run (default "1 3"); 1 runs without mpirun
#   KEEP=1          keep the outputs (the directory is printed)
# Honours CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=tests/fixtures/.venv
pattern='tests/fixtures/data/nc/mf/*.nc'
ranks="${RANKS:-1 3}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import xarray, netCDF4, zarr, dask' 2>/dev/null; then
  echo "check-xarray-reads: no usable Python venv at $venv (xarray, netCDF4, zarr, dask)." >&2
  echo "  Create it first with:  bash scripts/make-fixtures.sh --venv-only" >&2
  exit 2
fi

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

echo "check-xarray-reads: building examples/seasonal_difference.rs (release)" >&2
timeout 3600 cargo build --release --example seasonal_difference
bin="${CARGO_TARGET_DIR:-target}/release/examples/seasonal_difference"

out="$(mktemp -d "${TMPDIR:-/tmp}/chunkwise-xarray-reads.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
  echo "check-xarray-reads: outputs kept in $out" >&2
else
  trap 'rm -rf "$out"' EXIT
fi

if [ "$(id -u)" -eq 0 ]; then
  # Open MPI refuses to run as root unless told twice (containers and CI run as root).
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Containers lack the kernel's single-copy mechanism; without this Open MPI prints "Read -1" errors.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

outputs=()
for n in $ranks; do
  nc="$out/d_n$n.nc"
  zarr="$out/d_n$n.zarr"
  if [ "$n" = 1 ]; then
    label="1 rank"
    echo "== $label: seasonal_difference '$pattern' $nc $zarr"
    timeout 300 "$bin" "$pattern" "$nc" "$zarr"
  else
    label="$n ranks"
    echo "== $label: mpirun -n $n seasonal_difference '$pattern' $nc $zarr"
    timeout 300 mpirun -n "$n" --oversubscribe "$bin" "$pattern" "$nc" "$zarr"
  fi
  outputs+=("$label=$nc" "$label=$zarr")
done

echo "== xarray reads the outputs"
timeout 600 "$venv/bin/python" scripts/check_xarray_reads.py "$pattern" "${outputs[@]}"
