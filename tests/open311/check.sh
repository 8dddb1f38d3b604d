#!/usr/bin/env bash
# Open311 GeoReport v2 checked with a client nobody on this team wrote (issue 18):
#   bash tests/open311/check.sh [path/to/wangge]
# Builds a demo town, makes an Open311 API key (`wangge token add --role open311
# --source hotline`), starts `wangge serve --open311-jurisdiction … --open311-codes …`
# on a free loopback port, and reads /open311/v2 with the PyPI client `georeport`
# (XML and JSON) while a Python script posts form-encoded requests with the key
# (`requests`, georeport's own HTTP library). Counts must equal what our own JSON
# API answers the leader; public answers must hold no personal data or exact place.
# Needs: python3-venv, curl (scripts/env.sh's wangge_setup installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${WANGGE_BIN:-$root/target/release/wangge}}"
[ -x "$bin" ] || { echo "tests/open311/check.sh: no wangge binary at $bin" >&2; exit 1; }
venv="${OPEN311_CHECK_VENV:-$HOME/.cache/wangge/open311-check-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"

work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$bin" demo --db "$work/demo.duckdb" > "$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
leader_pw="$(awk -F'\t' '$1 == "demo account: leader" {print $3}' "$work/demo.log")"
[ -n "$leader_pw" ] || { echo "no demo leader in demo.log" >&2; cat "$work/demo.log" >&2; exit 1; }
key="$("$bin" --db "$work/demo.duckdb" token add --role open311 --source hotline --label "12345 bridge" | grep '^wgo_')"
[ -n "$key" ] || { echo "wangge token add --role open311 printed no key" >&2; exit 1; }
# A 12345 platform's own service code, mapped onto our category 02.05.
printf '# test map\n[map]\n"HOTLINE-0205" = "02.05"\n' > "$work/codes.toml"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --db "$work/demo.duckdb" --addr "127.0.0.1:$port" --no-demo-feed \
  --open311-jurisdiction chengguan.test --open311-codes "$work/codes.toml" > "$work/serve.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 240); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null || { echo "wangge serve not healthy" >&2; tail -20 "$work/serve.log" >&2; exit 1; }
cookie="$(curl -fsS -D - -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"name\":\"leader\",\"password\":\"$leader_pw\"}" "$base/api/v1/session" \
  | sed -n 's/^[Ss]et-[Cc]ookie: \(wangge_session=[^;]*\).*/\1/p')"
[ -n "$cookie" ] || { echo "leader log-in failed" >&2; exit 1; }

if "$venv/bin/python" "$here/georeport_check.py" "$base" "$key" "$cookie" chengguan.test; then
  echo "open311 client: all passed"
else
  echo "open311 client: failures above"; tail -5 "$work/serve.log"; exit 1
fi
