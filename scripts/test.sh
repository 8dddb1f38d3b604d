#!/usr/bin/env bash
# Every test of the project, as CI runs it (.ci/run calls this script).
#   ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
wangge_setup tests

# Each step prints the time the one before it took, and the last line the
# whole run's: the figures a fresh machine's run is judged by (issue 13).
STEP_NAME="" STEP_START=$SECONDS
step() {
  [ -n "$STEP_NAME" ] && printf '   (%s: %d s)\n' "$STEP_NAME" $((SECONDS - STEP_START))
  STEP_NAME="$*" STEP_START=$SECONDS
  printf '\n== %s\n' "$*"
}
OUT="${WANGGE_TEST_OUT:-$CARGO_TARGET_DIR/test-output}"
mkdir -p "$OUT"
# The tests' temporary stores (each end-to-end test writes a demo town,
# tens of MB) go to one folder on disk, removed when this script ends:
# several GB a run that would otherwise stay in /tmp (which may be RAM).
mkdir -p "$CARGO_TARGET_DIR"
TMPDIR="$(mktemp -d "$CARGO_TARGET_DIR/tmp-tests.XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

step "shared data present"
for f in hk-dcca-2019.geojson sf-downtown.osm.pbf sf-incidents-downtown-2003-2015.csv.gz \
         shanghai-lujiazui-buildings.geojson; do
  [ -f "../shared/data/real/$f" ] || { echo "missing ../shared/data/real/$f (tests read it)"; exit 1; }
done

step "format"
cargo fmt --all --check

step "front end: lint (biome) and type checks (tsc, // @ts-check)"
assets=web-viewer/assets
[ -x "$assets/node_modules/.bin/biome" ] && [ -x "$assets/node_modules/.bin/tsc" ] \
  || (cd "$assets" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$assets" && npx --no-install biome check && npx --no-install tsc --noEmit -p .)

# The fast lane checks (clippy) before anything links DuckDB. Its tests run
# once, in the workspace's step below: built here, without the store, they
# were a second build of geo-core and every crate on it (260 s of a fresh
# machine's 2 cores) and ran twice.
step "fast lane: crates without DuckDB checked (clippy: geo-core without its store, tiles, analytics, data)"
cargo clippy --release -p geo-core -p tiles -p analytics -p wangge-data --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps -p geo-core -p tiles -p analytics -p wangge-data

# What the tests run (libraries, binaries, test and example targets); the
# benches are checked by clippy below and built by `cargo bench`: their
# optimised build (45 s of 2 cores) serves no test.
step "build (release profile; the store links DuckDB's prebuilt library)"
cargo build --release --workspace --lib --bins --tests --examples

step "clippy; crate docs build without a warning (broken links included)"
cargo clippy --release --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --workspace

step "unit, property and end-to-end tests"
cargo test --release --workspace

step "fuzz: every parser target briefly (cargo-fuzz, nightly; docs/fuzz-results.md)"
# The import parsers' targets; the server's (post_bodies, query_strings,
# tile_paths) link web-viewer and DuckDB and take far longer to build under
# nightly: they run with `./scripts/fuzz.sh 60` (docs/fuzz-results.md).
# WANGGE_FUZZ_SECONDS=0 skips the step.
if [ "${WANGGE_FUZZ_SECONDS:-20}" -gt 0 ]; then
  ./scripts/fuzz.sh "${WANGGE_FUZZ_SECONDS:-20}" geojson_import csv_import osm_pbf incident_csv
fi

step "tiles decode in JavaScript and Python; style validates"
bash tiles/check/run.sh

step "OGC API – Features read by GDAL (ogrinfo, ogr2ogr) and OWSLib; counts equal the JSON API's"
bash tests/ogc/check.sh "$WANGGE_BIN"

step "Open311 GeoReport v2 read by georeport (PyPI), form posts with an API key; counts equal the JSON API's"
bash tests/open311/check.sh "$WANGGE_BIN"

step "exports read back: GeoParquet by pyarrow and geopandas, XLSX by openpyxl; counts and geometry equal the GeoJSON export's"
bash tests/export/check.sh "$WANGGE_BIN"

step "viewer, big screen and embed in headless Chromium"
bash tests/browser/ci.sh "$WANGGE_BIN" "$OUT/browser"

step "all tests passed"
printf '   (whole test command: %d min %d s)\n' $((SECONDS / 60)) $((SECONDS % 60))
