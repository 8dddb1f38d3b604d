#!/usr/bin/env bash
# Wangge under load on loopback: cached tiles, API lists and details, intake
# writes and 1,000 open event streams, side by side in one run.
#
#   bash bench/load/run.sh            # prints a markdown table on stdout
#   bash bench/load/run.sh --long     # also: the server's RSS every ~100,000
#                                     # requests over 1,000,000 of a mix
#
# 1. `wangge demo --scale town` into a fresh store; `wangge serve --auth proxy`
#    on it (no demo feed, no background escalation), callers speak as the
#    authenticating proxy for a leader (X-Wangge-Proxy-Secret).
# 2. prepare.py fetches every z14-z16 tile of the `all` and `events` layers
#    over the town once (so they are cached) and lists them, and lists event
#    pages, element lists and event, building and grid details.
# 3. wrk (Lua scripts beside this file) at fixed connection counts, one after
#    the other: cached tiles (paths.lua), lists and details (paths.lua),
#    intake (intake.lua, POST /api/v1/events at random places in the town).
#    requests/s, p50 and p99 from wrk; any answer but 2xx (201 for intake) is
#    counted. With oha installed (OHA=path), the same paths again at fixed
#    rates (the aims of issue 17), one path each.
# 4. sse.py holds STREAMS event streams open and files SSE_EVENTS events;
#    it counts the streams that received every one of them.
# 5. --long: mix.lua (tiles, lists, details, and every 20th request an intake)
#    in rounds of ~100,000 requests up to LONG_REQUESTS, the server's VmRSS
#    read from /proc after each round.
# The 1-minute load average is read before each row: other builds share the
# 2 cores of this machine, and wrk itself takes one of them.
# ROWS=tiles,lists,intake,oha,sse (the default) picks the rows to run.
# Progress goes to stderr, the report to stdout. Not part of scripts/test.sh.
set -euo pipefail

LONG=0
for arg in "$@"; do
  case "$arg" in
    --long) LONG=1 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (expected --long)" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
cache="${WANGGE_CACHE:-$HOME/.cache/wangge}"
WANGGE="${WANGGE:-${WANGGE_BIN:-${CARGO_TARGET_DIR:-$cache/target}/release/wangge}}"
OHA="${OHA:-$(command -v oha || echo "$cache/oha/bin/oha")}"
DEMO_ARGS="${DEMO_ARGS:---scale town --seed 2026}"
WRK_SECONDS="${WRK_SECONDS:-15}"
WRK_THREADS="${WRK_THREADS:-2}"
TILE_CONNECTIONS="${TILE_CONNECTIONS:-64}"
API_CONNECTIONS="${API_CONNECTIONS:-32}"
INTAKE_CONNECTIONS="${INTAKE_CONNECTIONS:-16}"
STREAMS="${STREAMS:-1000}"
SSE_EVENTS="${SSE_EVENTS:-20}"
LONG_REQUESTS="${LONG_REQUESTS:-1000000}"
LONG_ROUND="${LONG_ROUND:-100000}"
LONG_CONNECTIONS="${LONG_CONNECTIONS:-32}"
LONG_POST_EVERY="${LONG_POST_EVERY:-20}"   # 0: the long run reads only (a leak, not data, would still grow RSS)
SERVE_ARGS="${SERVE_ARGS:-}"
ROWS="${ROWS:-tiles,lists,intake,oha,sse}"   # which rows to run, e.g. ROWS=intake
has_row() { [[ ",$ROWS," == *",$1,"* ]]; }

log() { printf '%s\n' "$*" >&2; }
[ -x "$WANGGE" ] || { log "run.sh: no wangge binary at $WANGGE (cargo build --release -p web-viewer)"; exit 1; }
command -v wrk >/dev/null || apt-get install -y wrk >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

log "demo town ($DEMO_ARGS)"
# shellcheck disable=SC2086
"$WANGGE" demo --db "$work/town.duckdb" $DEMO_ARGS >"$work/demo.log" 2>&1
secret="load-bench-proxy-secret-$RANDOM$RANDOM"
printf '%s\n' "$secret" >"$work/proxy.secret"
chmod 600 "$work/proxy.secret"
port="$(free_port)"
# shellcheck disable=SC2086
"$WANGGE" --db "$work/town.duckdb" serve --addr "127.0.0.1:$port" --auth proxy \
  --proxy-secret-file "$work/proxy.secret" --no-demo-feed --escalate-every-s 0 \
  $SERVE_ARGS >"$work/serve.out" 2>"$work/serve.log" &
server=$!
pids+=("$server")
base="http://127.0.0.1:$port"
for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
duck="$(grep -m1 '^duckdb:' "$work/serve.log" || echo 'duckdb: ?')"
log "serving on $base ($duck); RSS $(rss_mib "$server") MiB"
rss_start="$(rss_mib "$server")"

bbox="$(python3 "$here/prepare.py" "$base" "$secret" "$work")"
export WRK_SECRET="$secret" WRK_BBOX="$bbox"

rows=()
# run_wrk LABEL SCRIPT PATHS CONNECTIONS AIM
run_wrk() {
  local label="$1" script="$2" paths="$3" conns="$4" aim="$5" la out res
  la="$(load1)"
  log "wrk: $label ($conns connections, ${WRK_SECONDS} s, load $la)"
  out="$(WRK_PATHS="$paths" wrk -t "$WRK_THREADS" -c "$conns" -d "${WRK_SECONDS}s" \
    --timeout 30s -s "$here/$script" "$base" 2>&1)"
  res="$(grep '^RESULT' <<<"$out" || true)"
  [ -n "$res" ] || { log "$out"; exit 1; }
  # shellcheck disable=SC2086
  set -- $res
  rows+=("| $label | wrk, $conns connections, ${WRK_SECONDS} s | $(printf "%d" "$2") | $(printf "%.0f" "$3") | $4 | $5 | $6 / $7 | $aim | $la |")
}

has_row tiles && run_wrk "cached tiles ($(wc -l <"$work/tiles.txt") z14-z16 tiles)" paths.lua "$work/tiles.txt" "$TILE_CONNECTIONS" "≥ 20,000 req/s, p99 < 10 ms"
has_row lists && run_wrk "lists and details ($(wc -l <"$work/api.txt") paths)" paths.lua "$work/api.txt" "$API_CONNECTIONS" "≥ 5,000 req/s, p99 < 50 ms"
has_row intake && run_wrk "intake (POST /api/v1/events)" intake.lua "$work/tiles.txt" "$INTAKE_CONNECTIONS" "≥ 1,000 events/s, p99 < 100 ms"

# Fixed rates with oha, when it is installed: one path each (oha takes one URL).
if ! has_row oha; then
  :
elif [ -x "$OHA" ]; then
  # run_oha LABEL RATE METHOD PATH [BODY]
  run_oha() {
    local label="$1" rate="$2" method="$3" path="$4" body="${5:-}" la js
    la="$(load1)"
    log "oha: $label at $rate/s (load $la)"
    local extra=()
    [ -n "$body" ] && extra=(-m POST -T application/json -d "$body")
    "$OHA" --no-tui --output-format json -z "${WRK_SECONDS}s" -q "$rate" -c 64 \
      -H "X-Wangge-Role: leader" -H "X-Wangge-Proxy-Secret: $secret" \
      -H "Accept-Encoding: gzip" "${extra[@]}" "$base$path" >"$work/oha.json" 2>"$work/oha.err" \
      || { log "oha failed: $(cat "$work/oha.err")"; exit 1; }
    # (The script comes by stdin, the figures by file.)
    rows+=("$(python3 - "$label" "$rate" "$la" "$work/oha.json" <<'PY'
import json, sys
label, rate, la, path = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
d = json.load(open(path))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
n = sum(codes.values())
# The requests still open when the time is up are cut ("aborted due to
# deadline"), not failures of the server.
errs = sum(v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k)
print(f"| {label} | oha, fixed rate {int(rate)}/s, 64 connections | {n} | {s['requestsPerSec']:.0f} | "
      f"{p['p50'] * 1000:.2f} | {p['p99'] * 1000:.2f} | {n - ok} / {errs} | — | {la} |")
PY
)")
  }
  run_oha "one cached tile" 20000 GET "$(sed -n '1p' "$work/tiles.txt")"
  run_oha "one event page (limit=100)" 5000 GET "/api/v1/events?limit=100"
  run_oha "one event detail" 5000 GET "$(grep -m1 '^/api/v1/events/' "$work/api.txt")"
  IFS=, read -r w s e n <<<"$bbox"
  mid_lon="$(python3 -c "print(($w+$e)/2)")"
  mid_lat="$(python3 -c "print(($s+$n)/2)")"
  run_oha "intake" 1000 POST /api/v1/events \
    "{\"category\":\"09.01\",\"title\":\"fixed rate report\",\"lon\":$mid_lon,\"lat\":$mid_lat}"
else
  log "oha not installed ($OHA): fixed connection counts only"
fi

sse_row="| (not run: ROWS=$ROWS) | | | |"
has_row sse && {
la="$(load1)"
log "sse: $STREAMS streams, $SSE_EVENTS events (load $la)"
read -r _ opened complete nfiled p50 p99 pmax refused < <(python3 "$here/sse.py" 127.0.0.1 "$port" "$secret" "$STREAMS" "$SSE_EVENTS" "$bbox")
sse_row="| $STREAMS open event streams, $nfiled events filed | $opened open, $refused refused; **$complete of $opened** received all $nfiled events | delivery from sending the intake: p50 $p50 ms, p99 $p99 ms, max $pmax ms | $la |"
}
rss_after="$(rss_mib "$server")"

date_utc="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "## Load on loopback ($date_utc)"
echo
echo "\`bash bench/load/run.sh$([ "$LONG" = 1 ] && echo ' --long')\` on the demo town (\`wangge demo $DEMO_ARGS\`), \`wangge serve --auth proxy\` ($duck), $(nproc) cores shared with wrk and other builds; load = 1-minute load average when the row started."
echo
echo "| what | how | requests | req/s | p50 ms | p99 ms | not 2xx / socket errors | aim | load |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| streams | delivered | latency | load |"
echo "|---|---|---|---|"
echo "$sse_row"
echo
echo "Server RSS: $rss_start MiB after start, $rss_after MiB after the runs above."

if [ "$LONG" = 1 ]; then
  cat "$work/tiles.txt" "$work/api.txt" >"$work/mix.txt"
  echo
  echo "### RSS over $(printf "%d" "$LONG_REQUESTS") requests (mix.lua: tiles, lists, details, $([ "$LONG_POST_EVERY" -gt 0 ] && echo "every ${LONG_POST_EVERY}th an intake" || echo "reads only"))"
  echo
  echo "| requests so far | RSS MiB | events in store | round req/s | round p99 ms | not 2xx | load |"
  echo "|---|---|---|---|---|---|---|"
  echo "| 0 | $(rss_mib "$server") | — | — | — | — | $(load1) |"
  total=0
  secs=10
  while [ "$total" -lt "$LONG_REQUESTS" ]; do
    la="$(load1)"
    res="$(WRK_PATHS="$work/mix.txt" WRK_POST_EVERY="$LONG_POST_EVERY" wrk -t "$WRK_THREADS" -c "$LONG_CONNECTIONS" \
      -d "${secs}s" --timeout 30s -s "$here/mix.lua" "$base" 2>&1 | grep '^RESULT')"
    # shellcheck disable=SC2086
    set -- $res
    total=$((total + $2))
    events="$(curl -fsS -H "X-Wangge-Role: leader" -H "X-Wangge-Proxy-Secret: $secret" \
      "$base/api/v1/events?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
    echo "| $(printf "%d" "$total") | $(rss_mib "$server") | $(printf "%d" "$events") | $(printf "%.0f" "$3") | $5 | $6 | $la |"
    log "long: $total requests, RSS $(rss_mib "$server") MiB"
    # The next round aims at LONG_ROUND requests at this round's rate.
    secs="$(python3 -c "print(max(2, min(120, round($LONG_ROUND / max($3, 1)))))")"
  done
fi
