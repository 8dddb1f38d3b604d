#!/usr/bin/env bash
# Wangge's OGC API – Features beside pygeoapi, on the same buildings, in one run.
#
#   bash bench/ogc/run.sh                 # from anywhere; prints a markdown table
#
# 1. Installs what is missing: wrk (Debian) and pygeoapi + gunicorn (PyPI, in a
#    venv under ~/.cache/wangge). Does not build wangge: it uses the release
#    binary (WANGGE).
# 2. `wangge demo --scale town` into a fresh store; `wangge export buildings`
#    as GeoJSON; pygeoapi serves that file (its GeoJSON provider) under
#    gunicorn (GUNICORN_WORKERS sync workers); `wangge serve` serves the store,
#    read by the demo's kiosk token (the screen role).
#    With PG=1 (the default) the same buildings also go into PostGIS
#    (Debian's postgresql-15 + postgis, a throw-away cluster on a loopback
#    port, loaded by ogr2ogr) and pygeoapi serves them a second time through
#    its PostgreSQL provider, the one that takes CQL2 filters.
# 3. wrk against each, one after the other, for each query: a page of 1,000
#    buildings, the same page filtered by an attribute, the CQL2 filters
#    (pygeoapi's GeoJSON provider takes no CQL2: what it answers one is
#    reported), a bbox. The export names the building use `use` where the OGC
#    API's queryable is `usage`: pygeoapi is asked by its own name.
#    requests/s and p99 from wrk --latency; matched counts side by side.
# Progress goes to stderr, the report to stdout. Not part of scripts/test.sh.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WANGGE_CACHE:-$HOME/.cache/wangge}"
WANGGE="${WANGGE:-${WANGGE_BIN:-$cache/target/release/wangge}}"
VENV="${VENV:-$cache/bench-ogc-venv}"
PYGEOAPI_VERSION="${PYGEOAPI_VERSION:-0.21.0}"
DEMO_ARGS="${DEMO_ARGS:---scale town}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-16}"
GUNICORN_WORKERS="${GUNICORN_WORKERS:-2}"
PG="${PG:-1}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

log() { printf '%s\n' "$*" >&2; }
[ -x "$WANGGE" ] || { log "run.sh: no wangge binary at $WANGGE (cargo build --release -p web-viewer)"; exit 1; }
command -v wrk >/dev/null || apt-get install -y wrk >&2
[ -x "$VENV/bin/gunicorn" ] && "$VENV/bin/python" -c 'import pygeoapi' 2>/dev/null || {
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "pygeoapi==$PYGEOAPI_VERSION" gunicorn >&2
}
if [ "$PG" = 1 ]; then
  { [ -x "$PGBIN/initdb" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] && command -v ogr2ogr >/dev/null; } || {
    apt-get update >&2 && apt-get install -y postgresql-15 postgresql-15-postgis-3 gdal-bin >&2
  }
  "$VENV/bin/python" -c 'import psycopg2, geoalchemy2' 2>/dev/null \
    || "$VENV/bin/pip" install -q psycopg2-binary geoalchemy2 >&2
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if [ "$p" = pg ]; then
      runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
    else
      kill "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log "demo town ($DEMO_ARGS)"
# shellcheck disable=SC2086
"$WANGGE" demo --db "$work/demo.duckdb" $DEMO_ARGS >"$work/demo.log" 2>&1
kiosk="$(awk -F'\t' '$1 == "demo account: kiosk token" {print $3}' "$work/demo.log")"
"$WANGGE" --db "$work/demo.duckdb" export buildings --out "$work/buildings.geojson" >&2
n_buildings="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$work/buildings.geojson")"
log "$n_buildings buildings exported"

# --- the same buildings in PostGIS (a throw-away cluster, run as postgres)
pg_collection=""
if [ "$PG" = 1 ]; then
  chmod 755 "$work"
  install -d -o postgres -g postgres "$work/pg"
  pgport="$(free_port)"
  runuser -u postgres -- "$PGBIN/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1" start >&2
  pids+=("pg")
  psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE bench" >&2
  psql -h 127.0.0.1 -p "$pgport" -U postgres -d bench -qc "CREATE EXTENSION postgis" >&2
  ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 port=$pgport user=postgres dbname=bench" \
    "$work/buildings.geojson" -nln buildings -lco GEOMETRY_NAME=geom -lco FID=id >&2
  n_pg="$(psql -h 127.0.0.1 -p "$pgport" -U postgres -d bench -Atc 'SELECT count(*) FROM buildings')"
  log "$n_pg buildings in PostGIS ($(psql -h 127.0.0.1 -p "$pgport" -U postgres -d bench -Atc 'SELECT postgis_lib_version()'))"
  pg_collection="
  buildings_pg:
    type: collection
    title: buildings in PostGIS
    description: buildings in PostGIS
    keywords: [buildings]
    links: []
    extents:
      spatial: {bbox: [-180, -90, 180, 90], crs: \"http://www.opengis.net/def/crs/OGC/1.3/CRS84\"}
    providers:
      - type: feature
        name: PostgreSQL
        data: {host: 127.0.0.1, port: $pgport, dbname: bench, user: postgres, password: bench, search_path: [public]}
        id_field: id
        table: buildings
        geom_field: geom"
fi

# --- pygeoapi on the exported GeoJSON (and PostGIS)
pport="$(free_port)"
cat >"$work/pygeoapi.yml" <<YML
server:
  bind: {host: 127.0.0.1, port: $pport}
  url: "http://127.0.0.1:$pport"
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  cors: false
  pretty_print: false
  limits: {default_items: 100, max_items: 10000}
  map: {url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", attribution: OSM}
logging: {level: ERROR}
metadata:
  identification: {title: bench, description: bench, keywords: [bench], keywords_type: theme, terms_of_service: "none", url: "http://example.org"}
  license: {name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}
  provider: {name: bench, url: "http://example.org"}
  contact: {name: bench, position: bench, address: x, city: x, stateorprovince: x, postalcode: x, country: x, phone: x, fax: x, email: x@example.org, url: "http://example.org", hours: x, instructions: x, role: pointOfContact}
resources:
  buildings:
    type: collection
    title: buildings
    description: buildings
    keywords: [buildings]
    links: []
    extents:
      spatial: {bbox: [-180, -90, 180, 90], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    providers:
      - type: feature
        name: GeoJSON
        data: $work/buildings.geojson
        id_field: id
$pg_collection
YML
PYGEOAPI_CONFIG="$work/pygeoapi.yml" "$VENV/bin/pygeoapi" openapi generate "$work/pygeoapi.yml" --output-file "$work/openapi.yml" >&2
PYGEOAPI_CONFIG="$work/pygeoapi.yml" PYGEOAPI_OPENAPI="$work/openapi.yml" \
  "$VENV/bin/gunicorn" -w "$GUNICORN_WORKERS" -b "127.0.0.1:$pport" pygeoapi.flask_app:APP >"$work/pygeoapi.log" 2>&1 &
pids+=($!)

# --- wangge serve
wport="$(free_port)"
"$WANGGE" serve --db "$work/demo.duckdb" --addr "127.0.0.1:$wport" --no-demo-feed >"$work/serve.log" 2>&1 &
pids+=($!)
wbase="http://127.0.0.1:$wport"
pbase="http://127.0.0.1:$pport"
for _ in $(seq 1 240); do
  curl -fsS "$wbase/healthz" >/dev/null 2>&1 && curl -fsS "$pbase/collections/buildings?f=json" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$pbase/collections/buildings?f=json" >/dev/null || { log "pygeoapi did not start"; tail -30 "$work/pygeoapi.log" >&2; exit 1; }
curl -fsS "$wbase/healthz" >/dev/null || { log "wangge serve did not start"; tail -20 "$work/serve.log" >&2; exit 1; }

urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
run_wrk() { # url [auth] -> "req/s p99 non2xx"
  local out="$work/wrk.out"
  if [ -n "${2:-}" ]; then
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $2" "$1" >"$out"
  else
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "$1" >"$out"
  fi
  local rps p99 non2xx
  rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  p99="$(awk '$1 == "99%" {print $2}' "$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' "$out")"
  echo "$rps $p99 ${non2xx:-0}"
}
matched() { # url [auth] -> numberMatched (or the features' count); a refusal is logged
  curl -sS ${2:+-H "Authorization: Bearer $2"} "$1" | python3 -c 'import json,sys
d=json.load(sys.stdin)
if "features" in d: print(d.get("numberMatched", len(d["features"])), len(d["features"]))
else: print("refused:", str(d)[:400], file=sys.stderr); print("refused –")'
}

cql_attr="levels > 5 AND usage = 'residential'"
cql_spatial="$(python3 - "$work/buildings.geojson" <<'PY'
import json, sys
fs = json.load(open(sys.argv[1]))["features"]
xs, ys = [], []
def walk(c):
    if isinstance(c[0], (int, float)):
        xs.append(c[0]); ys.append(c[1])
    else:
        for d in c: walk(d)
for f in fs: walk(f["geometry"]["coordinates"])
w, s, e, n = min(xs), min(ys), max(xs), max(ys)
print(f"S_INTERSECTS(geometry, BBOX({w},{s},{(w+e)/2},{(s+n)/2}))")
PY
)"
rows=()
bench() { # label, wangge path+query, pygeoapi GeoJSON path+query (or -), pygeoapi PostGIS path+query (or -)
  local label="$1" wq="$2" pq="$3" gq="${4:--}" wm pm gm
  log "wrk: $label"
  wm="$(matched "$wbase$wq" "$kiosk")"
  read -r w_rps w_p99 w_bad < <(run_wrk "$wbase$wq" "$kiosk")
  if [ "$pq" != - ]; then
    pm="$(matched "$pbase$pq")"
    read -r p_rps p_p99 p_bad < <(run_wrk "$pbase$pq")
  else
    pm="– –"; p_rps="–"; p_p99="–"; p_bad="–"
  fi
  if [ "$PG" = 1 ] && [ "$gq" != - ]; then
    gm="$(matched "$pbase$gq")"
    read -r g_rps g_p99 g_bad < <(run_wrk "$pbase$gq")
  else
    gm="– –"; g_rps="–"; g_p99="–"; g_bad="–"
  fi
  rows+=("| $label | ${wm% *} / ${wm#* } | $w_rps | $w_p99 | ${pm% *} / ${pm#* } | $p_rps | $p_p99 | ${gm% *} / ${gm#* } | $g_rps | $g_p99 | $w_bad / $p_bad / $g_bad |")
}
pg_cql_attr="levels > 5 AND use = 'residential'"
bbox="$(sed 's/.*BBOX(\(.*\)))/\1/' <<<"$cql_spatial")"
# pygeoapi 0.21 reads filter-lang=cql-text (its default) with pygeofilter's
# ECQL grammar: the same box as a polygon literal.
pg_cql_spatial="$(python3 -c 'import sys; w,s,e,n=sys.argv[1].split(","); print(f"INTERSECTS(geom, POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s})))")' "$bbox")"
G=/collections/buildings_pg/items?f=json
bench "page of 1,000 buildings" "/ogc/collections/buildings/items?limit=1000" "/collections/buildings/items?f=json&limit=1000" "$G&limit=1000"
bench "usage = residential (equality parameter), 1,000 a page" "/ogc/collections/buildings/items?limit=1000&usage=residential" "/collections/buildings/items?f=json&limit=1000&use=residential" "$G&limit=1000&use=residential"
bench "CQL2 \`$cql_attr\`" "/ogc/collections/buildings/items?limit=1000&filter=$(urlenc "$cql_attr")" - "$G&limit=1000&filter=$(urlenc "$pg_cql_attr")"
bench "CQL2 \`S_INTERSECTS(geometry, BBOX(south-west quarter))\`" "/ogc/collections/buildings/items?limit=1000&filter=$(urlenc "$cql_spatial")" - "$G&limit=1000&filter=$(urlenc "$pg_cql_spatial")"
bench "bbox= south-west quarter" "/ogc/collections/buildings/items?limit=1000&bbox=$bbox" "/collections/buildings/items?f=json&limit=1000&bbox=$bbox" "$G&limit=1000&bbox=$bbox"
# What pygeoapi's GeoJSON provider does with a CQL2 filter.
p_cql="$(curl -sS -o "$work/p_cql.json" -w '%{http_code}' "$pbase/collections/buildings/items?f=json&limit=1000&filter=$(urlenc "$cql_attr")")"
p_cql_what="$(python3 -c 'import json,sys
try:
    d=json.load(open(sys.argv[1])); print(d.get("numberMatched", len(d.get("features", []))) if "features" in d else d.get("description", d)[:120])
except Exception as e: print(e)' "$work/p_cql.json")"

echo "# OGC API – Features: Wangge beside pygeoapi"
echo
echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m)); load before: $(uptime | sed 's/.*load average/load average/')."
echo "Command: \`bash bench/ogc/run.sh\` (WRK_SECONDS=$WRK_SECONDS WRK_THREADS=$WRK_THREADS WRK_CONNECTIONS=$WRK_CONNECTIONS GUNICORN_WORKERS=$GUNICORN_WORKERS)."
echo "Data: \`wangge demo $DEMO_ARGS\`, $n_buildings buildings; pygeoapi $("$VENV/bin/python" -c 'import pygeoapi; print(pygeoapi.__version__)') (GeoJSON provider on \`wangge export buildings\`$( [ "$PG" = 1 ] && echo ", and PostgreSQL provider on the same file loaded into PostGIS $(psql -h 127.0.0.1 -p "$pgport" -U postgres -d bench -Atc 'SELECT postgis_lib_version()') / $(psql -h 127.0.0.1 -p "$pgport" -U postgres -d bench -Atc 'SHOW server_version') by ogr2ogr"), gunicorn $GUNICORN_WORKERS sync workers) vs \`wangge serve\` ($("$WANGGE" --version)), as the screen role (kiosk token). $(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}'), loopback, each server alone under load."
echo
echo "| query | Wangge matched / returned | Wangge req/s | Wangge p99 | pygeoapi GeoJSON matched / returned | req/s | p99 | pygeoapi PostGIS matched / returned | req/s | p99 | non-2xx W / G / P |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "pygeoapi asked the CQL2 filter \`$cql_attr\` (GeoJSON provider): HTTP $p_cql, $p_cql_what."
