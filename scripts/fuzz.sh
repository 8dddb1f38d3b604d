#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for a given time each, with the limits
# of issue 17: 2 GiB RSS, 1 s per input. Seeds are cut from
# ../shared/data/real/ and the import fixtures at run time
# (scripts/fuzz_seeds.py) plus the small hand-written ones in fuzz/seeds/.
#   ./scripts/fuzz.sh [seconds-per-target] [target ...]
# Prints one line per target (executions, new corpus units, result) and a
# closing "N passed, N failed" line; exits non-zero if any target crashed,
# timed out or ran out of memory. Crash inputs land in
# $CARGO_TARGET_DIR/fuzz-out/artifacts/<target>/ — turn each into a
# regression test of the normal suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

secs="${1:-60}"
shift || true
all=(geojson_import csv_import osm_pbf incident_csv post_bodies query_strings tile_paths)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# cargo-fuzz passes nightly-only flags (-Z sanitizer=…). A nightly toolchain
# is used when the machine has one; a machine with only its stable
# toolchain (rustup cannot fetch another offline) builds the same targets
# with the stable compiler told to accept them (RUSTC_BOOTSTRAP=1).
# WANGGE_FUZZ_TOOLCHAIN=stable|nightly forces one.
toolchain="${WANGGE_FUZZ_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then toolchain=nightly; else toolchain=stable; fi
fi
if [ "$toolchain" = stable ]; then
  export RUSTC_BOOTSTRAP=1
  echo "fuzz: building with the stable toolchain (RUSTC_BOOTSTRAP=1)"
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

real=../shared/data/real
[ -f "$real/sf-downtown.osm.pbf" ] || { echo "missing $real (the fuzz seeds are cut from it)"; exit 1; }
# WANGGE_FUZZ_OUT: another folder for seeds, corpora, logs and crashes, so
# two runs (two cores) can go side by side on one build.
out="${WANGGE_FUZZ_OUT:-$CARGO_TARGET_DIR/fuzz-out}"
fuzz_target_dir="$CARGO_TARGET_DIR/fuzz"
rm -rf "$out/seeds" "$out/corpus"
mkdir -p "$out/seeds" "$out/corpus" "$out/logs"
python3 scripts/fuzz_seeds.py "$out/seeds" "$real"

# The server's targets link web-viewer (and DuckDB's library): built only
# when one of them is asked for.
features=()
for t in "${targets[@]}"; do
  case "$t" in post_bodies|query_strings|tile_paths) features=(--features server) ;; esac
done
fuzz() {
  local cmd="$1"
  shift
  (cd fuzz && cargo "+$toolchain" fuzz "$cmd" -O "${features[@]}" --target-dir "$fuzz_target_dir" "$@")
}
start=$(date +%s)
fuzz build
echo "fuzz build: $(( $(date +%s) - start )) s"

passed=0
failed=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  mkdir -p "$corpus" "$out/artifacts/$t"
  seeds=()
  [ -d "$out/seeds/$t" ] && seeds+=("$out/seeds/$t")
  # Absolute: cargo fuzz runs inside fuzz/.
  [ -d "fuzz/seeds/$t" ] && seeds+=("$PWD/fuzz/seeds/$t")
  log="$out/logs/$t.log"
  rc=0
  fuzz run "$t" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=1 -max_len=262144 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" >"$log" 2>&1 || rc=$?
  # No stats line (a target that did not start) must not end the script here.
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  units=$(ls "$corpus" | wc -l)
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz $t: ok, ${execs:-?} executions in ${secs} s, corpus $units"
  else
    failed=$((failed + 1))
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; log $log"
    grep -E 'ERROR: libFuzzer|panicked at|SUMMARY' "$log" | head -5 || true
  fi
done
echo "fuzz: $(( $(date +%s) - start )) s in all"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
