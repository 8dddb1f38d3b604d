#!/usr/bin/env bash
# Runs the browser tests against a freshly built demo town:
#   tests/browser/ci.sh [path/to/wangge] [out-dir]
# Needs: Debian chromium and fonts-noto-cjk (apt-get install -y chromium fonts-noto-cjk),
# node >= 18 and npm. Starts the server on a free loopback port and stops it afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${WANGGE_BIN:-$root/target/release/wangge}}"
out="${2:-$root/target/browser}"
[ -x "$bin" ] || { echo "tests/browser/ci.sh: no wangge binary at $bin" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "tests/browser/ci.sh: /usr/bin/chromium missing (apt-get install -y chromium fonts-noto-cjk)" >&2; exit 1; }
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm ci --no-audit --no-fund)

work="$(mktemp -d)"
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
"$bin" demo --db "$work/demo.duckdb" > "$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
"$bin" serve --db "$work/demo.duckdb" --addr "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "server exited:" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.5
done
status=0
node "$here/run.mjs" --base "http://127.0.0.1:$port" --out "$out" || status=$?
if [ "$status" -ne 0 ]; then echo "--- server log (tail)"; tail -n 40 "$work/serve.log"; fi
exit "$status"
