#!/usr/bin/env bash
# The element exports read back by clients nobody on this team wrote (issue 18):
#   bash tests/export/check.sh [path/to/wangge]
# Builds a demo town, exports kinds with `wangge export` as GeoJSON,
# GeoParquet and XLSX, starts `wangge serve` on a free loopback port and
# downloads `GET /api/v1/{kind}?format=geoparquet|xlsx` as the leader; then
# pyarrow and geopandas read the GeoParquet (metadata, counts, every
# geometry equal to the GeoJSON export's) and openpyxl the XLSX (row counts,
# personal data masked). See tests/export/check.py.
# Needs: python3-venv, curl (scripts/env.sh's wangge_setup installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${WANGGE_BIN:-$root/target/release/wangge}}"
[ -x "$bin" ] || { echo "tests/export/check.sh: no wangge binary at $bin" >&2; exit 1; }
venv="${EXPORT_CHECK_VENV:-$HOME/.cache/wangge/export-check-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"

work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# The community-scale demo: every kind, small enough to check every row.
"$bin" demo --db "$work/demo.duckdb" --scale community --seed 3 > "$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
secret() { awk -F'\t' -v n="demo account: $1" '$1 == n {print $3}' "$work/demo.log"; }
kiosk="$(secret 'kiosk token')"
leader_pw="$(secret leader)"
[ -n "$kiosk" ] && [ -n "$leader_pw" ] || { echo "no demo accounts in demo.log" >&2; cat "$work/demo.log" >&2; exit 1; }

# --- the CLI: the same kinds as GeoJSON, GeoParquet and XLSX.
mkdir -p "$work/cli"
for k in communities buildings places roads events; do
  "$bin" export "$k" --db "$work/demo.duckdb" --format geojson --out "$work/cli/$k.geojson" 2>>"$work/export.log"
  "$bin" export "$k" --db "$work/demo.duckdb" --format geoparquet --out "$work/cli/$k.parquet" 2>>"$work/export.log"
done
for k in buildings persons households; do
  "$bin" export "$k" --db "$work/demo.duckdb" --format geojson --out "$work/cli/$k.geojson" 2>>"$work/export.log"
  "$bin" export "$k" --db "$work/demo.duckdb" --format xlsx --out "$work/cli/$k.xlsx" 2>>"$work/export.log"
done

# --- the API, as the leader (session cookie) and the big screen (kiosk).
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --db "$work/demo.duckdb" --addr "127.0.0.1:$port" --no-demo-feed > "$work/serve.log" 2>&1 &
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
mkdir -p "$work/api"
get() { # get WHO PATH FILE: the download, its status and content type in FILE.meta
  local auth=(-H "Cookie: $cookie")
  [ "$1" = screen ] && auth=(-H "Authorization: Bearer $kiosk")
  curl -sS "${auth[@]}" -o "$3" -w '%{http_code} %{content_type}\n' "$base$2" > "$3.meta"
}
get leader "/api/v1/buildings?format=geoparquet" "$work/api/buildings.parquet"
get leader "/api/v1/buildings?limit=10000" "$work/api/buildings.json"
get leader "/api/v1/events?format=geoparquet" "$work/api/events.parquet"
get leader "/api/v1/persons?format=xlsx" "$work/api/persons.xlsx"
get leader "/api/v1/persons?limit=100" "$work/api/persons.json"
get leader "/api/v1/info" "$work/api/info.json"
get screen "/api/v1/events?format=geoparquet" "$work/api/screen-events.parquet"
get screen "/api/v1/persons?format=xlsx" "$work/api/screen-persons.xlsx"
get leader "/api/v1/persons?format=geoparquet" "$work/api/persons.parquet"

"$venv/bin/python" "$here/check.py" "$work" && ok=1 || ok=0
# Every export, CLI and API, is in the audit log (read once the server has
# closed the store).
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""
n="$("$bin" audit --db "$work/demo.duckdb" --action export 2>/dev/null | tail -n +2 | wc -l)"
# 16 CLI exports and 4 API downloads (the screen's persons and a GeoParquet
# of persons are refused before anything is read).
if [ "$n" -eq 20 ]; then echo "ok   audit log: $n export lines"; else echo "FAIL audit log: $n export lines, want 20"; ok=0; fi
[ "$ok" = 1 ] && echo "export readers: all passed" || { echo "export readers: failures above"; tail -5 "$work/serve.log"; exit 1; }
