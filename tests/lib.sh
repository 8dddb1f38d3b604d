# Shared set-up of the check scripts that drive a real `wangge serve` with
# clients nobody on this team wrote (tests/{ogc,open311,export}/check.sh).
# Source it after `set -euo pipefail`; each function stops the script with a
# message naming what failed.
#
#   wg_init NAME [path/to/wangge]   sets $here $root $bin $work (removed at exit)
#   wg_venv DIR REQUIREMENTS        a Python venv with the requirements; sets $venv
#   wg_demo [demo args…]            `wangge demo` into $work/demo.duckdb; sets $kiosk and $leader_pw
#   wg_serve [serve args…]          `wangge serve` on a free loopback port; sets $pid $base, waits for /healthz
#   wg_login NAME PASSWORD          prints the session cookie `wangge_session=…`

wg_init() {
  wg_name="$1"
  here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
  root="$(cd "$here/../.." && pwd)"
  bin="${2:-${WANGGE_BIN:-$root/target/release/wangge}}"
  [ -x "$bin" ] || { echo "$wg_name: no wangge binary at $bin" >&2; exit 1; }
  work="$(mktemp -d)"
  pid=""
  trap wg_cleanup EXIT
}

wg_cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}

wg_venv() {
  venv="$1"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$2"
}

wg_demo() {
  "$bin" demo --db "$work/demo.duckdb" "$@" > "$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
  kiosk="$(wg_secret 'kiosk token')"
  leader_pw="$(wg_secret leader)"
  [ -n "$kiosk" ] && [ -n "$leader_pw" ] || { echo "$wg_name: no demo accounts in demo.log" >&2; cat "$work/demo.log" >&2; exit 1; }
}

# A demo account's password (or the kiosk token) as `wangge demo` printed it.
wg_secret() { awk -F'\t' -v n="demo account: $1" '$1 == n {print $3}' "$work/demo.log"; }

wg_serve() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$bin" serve --db "$work/demo.duckdb" --addr "127.0.0.1:$port" --no-demo-feed "$@" > "$work/serve.log" 2>&1 &
  pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 240); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.5
  done
  curl -fsS "$base/healthz" >/dev/null || { echo "$wg_name: wangge serve not healthy" >&2; tail -20 "$work/serve.log" >&2; exit 1; }
}

wg_login() {
  local c
  c="$(curl -fsS -D - -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"password\":\"$2\"}" "$base/api/v1/session" \
    | sed -n 's/^[Ss]et-[Cc]ookie: \(wangge_session=[^;]*\).*/\1/p')"
  [ -n "$c" ] || { echo "$wg_name: log-in of $1 failed" >&2; exit 1; }
  printf '%s' "$c"
}
