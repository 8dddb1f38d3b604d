#!/usr/bin/env bash
# The main job on the embedded demo data: build `wangge`, generate the demo
# town into ./wangge.duckdb if it is empty, and serve the viewer.
#   ./scripts/demo.sh [--addr 127.0.0.1:8080]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
wangge_setup run
# The same units the test command builds (`--workspace` features): after
# ./scripts/test.sh this compiles nothing.
cargo build --release --workspace --bins
exec "$WANGGE_BIN" --db "${WANGGE_DB:-wangge.duckdb}" serve "$@"
