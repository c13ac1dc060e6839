#!/bin/sh
# Build the SPMD scenario benchmarks (bench/spmd.rs) and run them under mpirun.
#
#   bench/mpi.sh RANKS [overhead|seed|pb-plan|all] [options of bench/spmd.rs]
#   bench/mpi.sh 2 overhead
#   bench/mpi.sh 2 pb-plan --chunks 100000
#
# The binary is built with `cargo bench --no-run` (honours CARGO_TARGET_DIR) and
# found from cargo's JSON messages. As root, Open MPI is told that is fine; with
# more ranks than cores, it may oversubscribe. Extra mpirun options: MPIRUN_ARGS.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: bench/mpi.sh RANKS [overhead|seed|pb-plan|all] [options]" >&2
    exit 2
fi
ranks=$1
shift
cd "$(dirname "$0")/.."

bin=$(cargo bench --bench spmd --no-run --message-format=json-render-diagnostics |
    grep '"name":"spmd"' | grep -o '"executable":"[^"]*"' | tail -n 1 |
    sed 's/^"executable":"//; s/"$//')
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "bench/mpi.sh: cargo built no spmd benchmark binary" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Containers often forbid the single-copy (CMA) transfers of Open MPI's shared
# memory transport; the tests turn it off too.
export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
over=
if [ "$ranks" -gt "$(nproc)" ]; then
    over=--oversubscribe
fi
echo "+ mpirun -n $ranks $over ${MPIRUN_ARGS:-} $bin $*" >&2
# shellcheck disable=SC2086 # word splitting of $over and MPIRUN_ARGS is wanted
exec mpirun -n "$ranks" $over ${MPIRUN_ARGS:-} "$bin" "$@"
