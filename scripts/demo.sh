#!/usr/bin/env bash
# Run the chunkwise demo: a real computation on generated data.
#   bash scripts/demo.sh [DEMO ARGS...]          one rank (no mpirun needed)
#   bash scripts/demo.sh -n 4 [DEMO ARGS...]     4 MPI ranks under mpirun
# Installs the system packages first (scripts/install-deps.sh), then builds in release mode.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ranks=""
if [ "${1:-}" = "-n" ]; then
  if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
    echo "demo.sh: -n needs a positive number of ranks, e.g. 'bash scripts/demo.sh -n 4'" >&2
    exit 2
  fi
  ranks=$2
  shift 2
fi

# A fresh shell may not have cargo on PATH yet (rustup puts it in ~/.cargo/bin).
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "demo.sh: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }

echo "demo.sh: checking system packages (scripts/install-deps.sh)" >&2
bash scripts/install-deps.sh
echo "demo.sh: building (cargo build --release)" >&2
cargo build --release

bin="${CARGO_TARGET_DIR:-target}/release/chunkwise"
if [ -z "$ranks" ]; then
  exec "$bin" demo "$@"
fi

command -v mpirun >/dev/null 2>&1 || { echo "demo.sh: mpirun not found (install-deps should have installed openmpi-bin)" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then
  # Open MPI refuses to run as root unless told twice (containers and CI run as root).
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Containers lack the kernel's single-copy mechanism; without this Open MPI prints "Read -1" errors.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
exec mpirun -n "$ranks" --oversubscribe "$bin" demo "$@"
