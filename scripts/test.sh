#!/usr/bin/env bash
# Run every check CI runs: system packages, formatting, clippy, all tests (unit, doc and
# integration tests, some of which launch `mpirun -n 1..4`). Stops at the first failing
# step and says which one failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A fresh shell may not have cargo on PATH yet (rustup puts it in ~/.cargo/bin).
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

fail() {
  echo "" >&2
  echo "test.sh: FAILED at step: $1" >&2
  exit 1
}

step() {
  local name=$1
  shift
  echo "" >&2
  echo "test.sh: === $name: $* ===" >&2
  "$@" || fail "$name (command: $*)"
}

command -v cargo >/dev/null 2>&1 || fail "toolchain (cargo not found; install Rust with rustup)"

# rustfmt and clippy are rustup components; add them if this toolchain lacks them.
for comp in rustfmt clippy; do
  sub=${comp/rustfmt/fmt}
  if ! cargo "$sub" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      echo "test.sh: adding the rustup component $comp" >&2
      rustup component add "$comp" >&2 || fail "toolchain (rustup component add $comp)"
    else
      fail "toolchain (cargo $sub is missing and rustup is not available to add $comp)"
    fi
  fi
done

step "system packages" bash scripts/install-deps.sh

# Open MPI as root (CI, containers) and in containers; the tests' harness sets these too.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_btl_vader_single_copy_mechanism=none

step "format" cargo fmt --all -- --check
step "clippy" cargo clippy --all-targets --release -- -D warnings
step "tests" cargo test --release --no-fail-fast

echo "" >&2
echo "test.sh: all steps passed (install-deps, fmt, clippy, tests)" >&2
