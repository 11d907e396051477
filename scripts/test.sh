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

# Every optimised artifact in one build: the benches (peers included), the
# `kensa` binary and the embedding examples. One package selection means
# one feature resolution, so the steps below reuse these artifacts; a
# `cargo run --release -p ...` per step would resolve other features and
# rebuild the workspace each time (155-175 s a step on this machine).
# On CI these artifacts are only run, never profiled: built without the
# release profile's debug info (`debug = 1`, kept for perf locally), which
# is about 15% of this build's time.
if [ "${CI:-}" = true ]; then
  export CARGO_PROFILE_RELEASE_DEBUG=false
fi
release=(-p kensa-benches -p kensa-cli -p kensa-runtime)
cargo build --release --locked "${release[@]}" --bins --examples --bench '*'
bin="${CARGO_TARGET_DIR:-target}/release"
step "release build (benches, kensa, examples)"

# The stateless, default-rule-set and scale benches run once in criterion's
# test mode, which checks that every engine they time agrees with the
# hand-written Rust (and the scale bench its matched rules); one smoke run
# of `kensa bench` prints the example rule set's figures.
cargo bench --locked "${release[@]}" --bench stateless --bench default_ruleset --bench scale -- --test
"$bin/kensa" bench --rules examples/default.kensa --lists examples/lists \
  --input examples/events.jsonl --seconds 1
step "benches in test mode, kensa bench smoke run"

# The embedding examples: a payment switch deciding payments, and rule sets
# and lists hot-swapped under load (its last line gives the p99 figures).
"$bin/examples/embed"
"$bin/examples/hot_swap" 2
step "embedding examples"

# Every fuzz target for FUZZ_SECONDS (default 10) seconds; fails on any
# crash or JIT/interpreter mismatch.
bash scripts/fuzz.sh
step "fuzz targets"
