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
. "$(dirname "$0")/../lib.sh"
wg_init tests/export/check.sh "${1:-}"
wg_venv "${EXPORT_CHECK_VENV:-$HOME/.cache/wangge/export-check-venv}" "$here/requirements.txt"
# The community-scale demo: every kind, small enough to check every row.
wg_demo --scale community --seed 3

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
wg_serve
cookie="$(wg_login leader "$leader_pw")"
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
