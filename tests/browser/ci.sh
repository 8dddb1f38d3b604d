#!/usr/bin/env bash
# Runs the browser tests against a freshly built demo town:
#   tests/browser/ci.sh [path/to/wangge] [out-dir] [extra run.mjs args, e.g. --assets web-viewer/assets/dist]
# Needs: Debian chromium and fonts-noto-cjk (apt-get install -y chromium fonts-noto-cjk),
# node >= 18 and npm. run.mjs starts `wangge serve` on a free loopback port itself
# (it restarts it once for the big screen's reconnection test) and stops it afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${WANGGE_BIN:-$root/target/release/wangge}}"
out="${2:-$root/target/browser}"
shift $(( $# < 2 ? $# : 2 ))
[ -x "$bin" ] || { echo "tests/browser/ci.sh: no wangge binary at $bin" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "tests/browser/ci.sh: /usr/bin/chromium missing (apt-get install -y chromium fonts-noto-cjk)" >&2; exit 1; }
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm ci --no-audit --no-fund)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" demo --db "$work/demo.duckdb" > "$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
node "$here/run.mjs" --bin "$bin" --db "$work/demo.duckdb" --accounts "$work/demo.log" --out "$out" "$@"
