#!/usr/bin/env bash
# Every test of the project, as CI runs it (.ci/run calls this script).
#   ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
wangge_setup tests

step() { printf '\n== %s\n' "$*"; }
OUT="${WANGGE_TEST_OUT:-$CARGO_TARGET_DIR/test-output}"
mkdir -p "$OUT"

step "shared data present"
for f in hk-dcca-2019.geojson sf-downtown.osm.pbf sf-incidents-downtown-2003-2015.csv.gz \
         shanghai-lujiazui-buildings.geojson; do
  [ -f "../shared/data/real/$f" ] || { echo "missing ../shared/data/real/$f (tests read it)"; exit 1; }
done

step "format"
cargo fmt --all --check

step "build (release profile only: DuckDB's C++ is built once)"
cargo build --release --workspace --all-targets

step "clippy"
cargo clippy --release --workspace --all-targets -- -D warnings

step "unit, property and end-to-end tests"
cargo test --release --workspace

step "tiles decode in JavaScript and Python; style validates"
TILE_DIR="$OUT/tiles"
rm -rf "$TILE_DIR" && mkdir -p "$TILE_DIR"
cargo run --release -q -p tiles --example dump -- "$TILE_DIR"
(cd tiles/check && npm ci --no-audit --no-fund --loglevel=error)
node tiles/check/decode.mjs "$TILE_DIR"
VENV="$HOME/.cache/wangge/venv-check"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q mapbox-vector-tile
"$VENV/bin/python" tiles/check/decode.py "$TILE_DIR"

step "viewer, big screen and embed in headless Chromium"
DB="$OUT/browser.duckdb"
rm -f "$DB" "$DB.wal"
"$WANGGE_BIN" --db "$DB" demo --scale town --seed 2026
PORT="${WANGGE_TEST_PORT:-18080}"
"$WANGGE_BIN" --db "$DB" serve --no-demo --addr "127.0.0.1:$PORT" --allow-origin "http://127.0.0.1:$PORT" \
  > "$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$OUT/serve.log"; exit 1; }
curl -fs "http://127.0.0.1:$PORT/style.json" > "$OUT/style.json"
(cd tiles/check && npx --no-install gl-style-validate "$OUT/style.json")
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
node tests/browser/run.mjs --base "http://127.0.0.1:$PORT" --out "$OUT/screenshots"

step "all tests passed"
