#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (default 10)
# on the seed corpora in fuzz/corpus/<target>/, and fails on any crash or
# mismatch. Installs cargo-fuzz when it is missing. libFuzzer's sanitizer
# flags need a nightly feature; RUSTC_BOOTSTRAP=1 enables it on this
# stable toolchain.
#
# The sanitizer build of every dependency is most of this script's time on
# two cores, so by default the targets build for a short run: 16 codegen
# units (cargo-fuzz's default is 1) and opt-level 1 (its release build uses
# 3); debug assertions and overflow checks stay on. The fuzzer then runs
# slower, which costs little in a 10-second run. For long runs set
# FUZZ_CODEGEN_UNITS=1 FUZZ_OPT_LEVEL=3.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-10}"
codegen_units="${FUZZ_CODEGEN_UNITS:-16}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
# After installing cargo-fuzz, which should not be built at this level.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${FUZZ_OPT_LEVEL:-1}"
targets=(parse_text parse_json fmt_roundtrip list_file event_decode diff_jit_interp velocity_model snapshot_restore)
for t in "${targets[@]}"; do
  echo "fuzzing $t for ${seconds}s" >&2
  # Work on a copy so CI runs never grow the committed seed corpora.
  work="$(mktemp -d)"
  cp -r "fuzz/corpus/$t/." "$work/"
  log="$work.log"
  status=0
  cargo fuzz run --fuzz-dir fuzz --codegen-units "$codegen_units" "$t" "$work" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  # The figures for the log: executions, coverage, memory; and any failure.
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE|ERROR|panicked|SUMMARY" "$log" || true
  if [ "$status" != 0 ]; then
    tail -n 60 "$log" >&2
  fi
  rm -rf "$work" "$log"
  if [ "$status" != 0 ]; then
    echo "fuzz target $t failed (exit $status)" >&2
    exit 1
  fi
done
