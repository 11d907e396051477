#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this).
# Needs only the Rust toolchain; everything else is built from Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says how long it took, so the log shows where CI's time goes.
step_started=$SECONDS
step() {
  echo "[test.sh] $1: $((SECONDS - step_started)) s" >&2
  step_started=$SECONDS
}

# Lints first: the workspace denies unwrap/expect/panic/indexing outside tests.
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets --locked -- -D warnings
  step "clippy"
else
  echo "clippy is not installed: skipping lints" >&2
fi

# The simulation report is checked in a real headless browser: install
# Debian's chromium when it is missing (CI runs as root on Debian).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the report test" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  step "installing chromium"
fi

cargo test --workspace --locked
step "cargo test"

# The benches must keep compiling (peers included); the stateless and scale
# benches run once in criterion's test mode, which checks that every engine
# they time agrees with the hand-written Rust; and one smoke run of
# `kensa bench` prints the example rule set's figures into the log.
cargo bench -p kensa-benches --locked --no-run
step "building the benches"
cargo bench -p kensa-benches --locked --bench stateless --bench scale -- --test
step "benches in test mode"
cargo run -q --release --locked -p kensa-cli -- bench --rules examples/default.kensa --lists examples/lists \
  --input examples/events.jsonl --seconds 1
step "kensa bench smoke run"

# The embedding examples: a payment switch deciding payments, and rule sets
# and lists hot-swapped under load (its last line gives the p99 figures).
cargo run -q --release --locked -p kensa-runtime --example embed
cargo run -q --release --locked -p kensa-runtime --example hot_swap -- 2
step "embedding examples"

# Every fuzz target for FUZZ_SECONDS (default 10) seconds; fails on any
# crash or JIT/interpreter mismatch.
bash scripts/fuzz.sh
step "fuzz targets"
