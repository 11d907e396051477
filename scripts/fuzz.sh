#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (default 10)
# on the seed corpora in fuzz/corpus/<target>/, and fails on any crash or
# mismatch. Installs cargo-fuzz when it is missing. libFuzzer's sanitizer
# flags need a nightly feature; RUSTC_BOOTSTRAP=1 enables it on this
# stable toolchain. The targets build with 16 codegen units (cargo-fuzz's
# default is 1): the sanitizer build of every dependency is most of this
# script's time on two cores, and a slightly slower fuzzer costs little in
# a bounded run. FUZZ_CODEGEN_UNITS overrides it (1 for long runs).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-10}"
codegen_units="${FUZZ_CODEGEN_UNITS:-16}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
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
