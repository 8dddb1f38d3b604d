#!/usr/bin/env bash
# OGC API – Features checked with clients nobody on this team wrote (issue 18):
#   bash tests/ogc/check.sh [path/to/wangge]
# Builds a demo town, starts `wangge serve` on a free loopback port, and reads
# /ogc with GDAL's OGR OAPIF driver (ogrinfo, ogr2ogr with -spat and -where,
# the latter pushed to the server as CQL2 filters; Debian gdal-bin) and curl as the big screen (its kiosk token as a bearer header) and
# with OWSLib (PyPI, in a venv) as the leader (a session cookie). Every count
# must equal what our own JSON API (/api/v1/{kind}) answers the same caller.
# Needs: gdal-bin, python3-venv, curl (scripts/env.sh's wangge_setup installs them).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
wg_init tests/ogc/check.sh "${1:-}"
command -v ogrinfo >/dev/null || { echo "tests/ogc/check.sh: ogrinfo missing (apt-get install -y gdal-bin)" >&2; exit 1; }
wg_venv "${OGC_CHECK_VENV:-$HOME/.cache/wangge/ogc-check-venv}" "$here/requirements.txt"
wg_demo
wg_serve
cookie="$(wg_login leader "$leader_pw")"

fail=0
ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fail=1; }
# Our own API's total for a kind and query, as the kiosk (screen) sees it.
ours() { curl -fsS -H "Authorization: Bearer $kiosk" "$base/api/v1/$1?limit=1${2:+&$2}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

# --- GDAL's OGR OAPIF driver, as the big screen (kiosk token).
export GDAL_HTTP_HEADERS="Authorization: Bearer $kiosk"
export GDAL_HTTP_TIMEOUT=60 CPL_VSIL_CURL_CACHE_SIZE=0
info="$(ogrinfo -ro -q "OAPIF:$base/ogc" 2>&1)" || { echo "$info"; bad "ogrinfo lists the collections"; }
for c in communities grids compounds buildings places roads events; do
  grep -q "$c" <<<"$info" && ok "ogrinfo lists $c" || bad "ogrinfo does not list $c: $info"
done
count() { ogrinfo -ro -so "OAPIF:$base/ogc" "$@" 2>/dev/null | sed -n 's/^Feature Count: //p'; }
for c in communities grids buildings events; do
  n="$(count "$c")"; want="$(ours "$c")"
  [ "$n" = "$want" ] && ok "ogrinfo $c: $n features = /api/v1/$c" || bad "ogrinfo $c: $n features, /api/v1/$c: $want"
done
# The town's extent, and its south-west quarter for -spat.
read -r w s e n < <(curl -fsS -H "Authorization: Bearer $kiosk" "$base/api/v1/info" \
  | python3 -c 'import json,sys; e=json.load(sys.stdin)["extent"]; print(*e)')
read -r cx cy < <(python3 -c "print(($w+$e)/2, ($s+$n)/2)")
ogr2ogr -f GeoJSON "$work/spat.geojson" "OAPIF:$base/ogc" buildings -spat "$w" "$s" "$cx" "$cy" 2>"$work/ogr2ogr.err" \
  || { cat "$work/ogr2ogr.err"; bad "ogr2ogr -spat"; }
n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$work/spat.geojson" 2>/dev/null || echo none)"
want="$(ours buildings "bbox=$w,$s,$cx,$cy")"
[ "$n" = "$want" ] && ok "ogr2ogr -spat buildings: $n = /api/v1/buildings?bbox" || bad "ogr2ogr -spat buildings: $n, /api/v1/buildings?bbox: $want"
ogr2ogr -f GeoJSON "$work/where.geojson" "OAPIF:$base/ogc" grids -where "kind = 'micro'" 2>"$work/ogr2ogr.err" \
  || { cat "$work/ogr2ogr.err"; bad "ogr2ogr -where"; }
n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$work/where.geojson" 2>/dev/null || echo none)"
want="$(ours grids kind=micro)"
[ "$n" = "$want" ] && ok "ogr2ogr -where kind='micro' grids: $n = /api/v1/grids?kind=micro" || bad "ogr2ogr -where grids: $n, /api/v1/grids?kind=micro: $want"
ogr2ogr -f GeoJSON "$work/events.geojson" "OAPIF:$base/ogc" events -oo PAGE_SIZE=10000 -where "status = 'closed'" 2>"$work/ogr2ogr.err" \
  || { cat "$work/ogr2ogr.err"; bad "ogr2ogr -where events"; }
n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$work/events.geojson" 2>/dev/null || echo none)"
want="$(ours events status=closed)"
[ "$n" = "$want" ] && ok "ogr2ogr -where status='closed' events: $n = /api/v1/events?status=closed" || bad "ogr2ogr -where events: $n, /api/v1/events?status=closed: $want"
# CQL2 (Part 3): GDAL sends -where as filter=…&filter-lang=cql-text when the
# OpenAPI document offers it. Each count must equal our JSON API's features
# that pass the same condition (worked out here in Python), and GDAL's debug
# log must show the filter in the URL it fetched (pushed to the server, not
# evaluated by GDAL over every feature). PAGE_SIZE=10000: a filtered page
# builds every feature of the caller's scope before filtering (ogc::filter
# runs over the caller's copies), so GDAL's small default pages cost as many
# full passes over the town's 37k events as there are pages.
# Our JSON API's features of a kind for which a Python condition on `p`
# (the properties) and `g` (the geometry) holds, counted.
ours_where() { python3 - "$base/api/v1/$1" "$kiosk" "$2" <<'PY'
import json, sys, urllib.request
url, token, cond = sys.argv[1:4]
n, offset = 0, 0
while True:  # every page of 10000
    req = urllib.request.Request(f"{url}?limit=10000&offset={offset}", headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(req, timeout=60))
    n += sum(1 for f in page["features"] if eval(cond, {}, {"p": f["properties"], "g": f["geometry"]}))
    offset += len(page["features"])
    if not page["features"] or offset >= page["total"]:
        break
print(n)
PY
}
where_check() { # collection, -where, python condition
  local c="$1" w="$2" py="$3" out="$work/where-$RANDOM.geojson"
  CPL_DEBUG=ON ogr2ogr -f GeoJSON "$out" "OAPIF:$base/ogc" "$c" -oo PAGE_SIZE=10000 -where "$w" 2>"$work/ogr2ogr.err" \
    || { tail -5 "$work/ogr2ogr.err"; bad "ogr2ogr -where $w"; return; }
  local n want pushed
  n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$out" 2>/dev/null || echo none)"
  want="$(ours_where "$c" "$py")"
  pushed="$(grep -c "Fetch(.*/collections/$c/items?.*filter=.*filter-lang=cql-text" "$work/ogr2ogr.err" || true)"
  [ "$n" = "$want" ] && ok "ogr2ogr $c -where \"$w\": $n = /api/v1/$c filtered" || bad "ogr2ogr $c -where \"$w\": $n, /api/v1/$c filtered: $want"
  [ "$pushed" -gt 0 ] && ok "  … sent to the server as a CQL2 filter ($pushed requests)" || { bad "  … not sent as a filter: $(grep -m3 'Fetch(' "$work/ogr2ogr.err")"; }
}
where_check buildings "levels > 5 AND usage = 'residential'" "p['levels'] > 5 and p['usage'] == 'residential'"
where_check buildings "usage LIKE 'res%' OR levels <= 2" "p['usage'].startswith('res') or p['levels'] <= 2"
where_check buildings "NOT (levels BETWEEN 3 AND 6)" "not (3 <= p['levels'] <= 6)"
where_check events "status = 'closed' AND source <> 'hotline'" "p['status'] == 'closed' and p['source'] != 'hotline'"
where_check events "satisfaction IS NULL" "p.get('satisfaction') is None"
# curl: a spatial and a temporal filter, and a bad one (400 naming it).
curl_n() { curl -fsS -G -H "Authorization: Bearer $kiosk" "$base/ogc/collections/$1/items" --data-urlencode "limit=1" --data-urlencode "filter=$2" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])'; }
# The screen's events sit at their H3 cell's centre: the filter sees that
# place (its copy), so the count is of the copies' points in the box.
n="$(curl_n events "S_INTERSECTS(geometry, BBOX($w,$s,$cx,$cy))")"
want="$(ours_where events "$w <= g['coordinates'][0] <= $cx and $s <= g['coordinates'][1] <= $cy")"
[ "$n" = "$want" ] && ok "curl events S_INTERSECTS(geometry, BBOX(sw quarter)): $n = /api/v1/events copies in the box" || bad "curl S_INTERSECTS events: $n, /api/v1/events copies in the box: $want"
n="$(curl_n events "T_INTERSECTS(reported_at, INTERVAL('2026-09-01T00:00:00Z','2026-09-30T23:59:59Z'))")"
want="$(ours events "from=2026-09-01&to=2026-10-01")"
[ "$n" = "$want" ] && ok "curl events T_INTERSECTS(reported_at, September): $n = /api/v1/events?from&to" || bad "curl T_INTERSECTS events: $n, /api/v1/events?from&to: $want"
# The screen's copy carries no handler or title: filtering on them finds
# nothing (the leader's finds events: they are there).
n="$(curl_n events "handler IS NOT NULL OR title LIKE '%'")"
[ "$n" = 0 ] && ok "curl events handler/title filters as the screen: 0 (its copy carries neither)" || bad "curl events handler filter as the screen: $n"
n="$(curl -fsS -G -H "Cookie: $cookie" "$base/ogc/collections/events/items" --data-urlencode limit=1 --data-urlencode "filter=handler IS NOT NULL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')"
[ "$n" -gt 0 ] && ok "curl events handler IS NOT NULL as the leader: $n" || bad "curl events handler IS NOT NULL as the leader: $n"
code="$(curl -sS -o "$work/bad.json" -w '%{http_code}' -G -H "Authorization: Bearer $kiosk" "$base/ogc/collections/buildings/items" --data-urlencode "filter=colour = 'red'")"
[ "$code" = 400 ] && grep -q '"bad_filter"' "$work/bad.json" && grep -q colour "$work/bad.json" \
  && ok "curl filter on an unknown property: 400 bad_filter naming it" || bad "curl unknown property: $code $(cat "$work/bad.json")"
unset GDAL_HTTP_HEADERS

# --- OWSLib, as the leader (session cookie).
"$venv/bin/python" "$here/owslib_check.py" "$base" "$cookie" || fail=1

[ "$fail" = 0 ] && echo "ogc clients: all passed" || { echo "ogc clients: failures above"; tail -5 "$work/serve.log"; exit 1; }
