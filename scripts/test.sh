#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this).
# Needs only the Rust toolchain; everything else is built from Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

# Lints first: the workspace denies unwrap/expect/panic/indexing outside tests.
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets --locked -- -D warnings
else
  echo "clippy is not installed: skipping lints" >&2
fi

cargo test --workspace --locked
