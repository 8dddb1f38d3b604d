#!/usr/bin/env bash
# Demo generation through the real store: `wangge demo --scale S` into a
# fresh DuckDB file under /usr/bin/time -v, per scale; prints a markdown table
# of wall time, CPU time, peak RSS, what was stored and the store's size.
#
#   bash bench/demo/run.sh                          # community and town
#   SCALES="community town district province" bash bench/demo/run.sh
#   CARGO_BENCH=1 bash bench/demo/run.sh            # also the in-process table
#
# Does not build wangge: it copies the release binary (WANGGE) first, so a
# rebuild during a long run does not affect it. While a scale runs, its RSS
# and store size are sampled every SAMPLE_S seconds into $WORK/S.samples
# (printed as the last sample when the run ends or is stopped), so a province
# run that is cut short still shows how far it got.
#
# Progress goes to stderr, the report to stdout. Knobs: the variables below.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WANGGE_CACHE:-$HOME/.cache/wangge}"
WANGGE="${WANGGE:-$cache/target/release/wangge}"
SCALES="${SCALES:-community town}"
SEED="${SEED:-2026}"
SAMPLE_S="${SAMPLE_S:-30}"
CARGO_BENCH="${CARGO_BENCH:-0}"
KEEP="${KEEP:-0}"                  # 1: keep $WORK (the stores) afterwards
WORK="${WORK:-$(mktemp -d)}"
mkdir -p "$WORK"

log() { echo "run.sh: $*" >&2; }
cleanup() {
  if [ -n "${sampler:-}" ]; then kill "$sampler" 2>/dev/null || true; fi
  if [ "$KEEP" != 1 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

[ -x "$WANGGE" ] || { log "no wangge binary at $WANGGE (build: cargo build --release -p web-viewer --bin wangge)"; exit 1; }
W="$WORK/wangge"
cp "$WANGGE" "$W"

echo "# wangge demo through the store, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM."
echo "Load before: \`$(uptime | sed 's/^ *//')\`"
echo
echo "Each row: \`/usr/bin/time -v wangge --db \$WORK/S.duckdb demo --scale S --seed $SEED\` into a fresh store,"
echo "then \`wangge --db \$WORK/S.duckdb info --json\` for the stored counts."
echo
echo "| scale | seed | wall s | user s | sys s | peak RSS MiB | residents | households | events | store MiB | exit |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"

for s in $SCALES; do
  db="$WORK/$s.duckdb"
  rm -f "$db" "$db.wal"
  log "$s: wangge demo --scale $s --seed $SEED"
  : > "$WORK/$s.samples"
  /usr/bin/time -v "$W" --db "$db" demo --scale "$s" --seed "$SEED" \
    > "$WORK/$s.out" 2> "$WORK/$s.time" &
  tpid=$!
  (
    start=$(date +%s)
    while kill -0 "$tpid" 2>/dev/null; do
      sleep "$SAMPLE_S"
      pid=$(pgrep -P "$tpid" || true)
      [ -n "$pid" ] || continue
      rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status" 2>/dev/null || echo "?")
      hwm=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status" 2>/dev/null || echo "?")
      size=$(du -m "$db" 2>/dev/null | cut -f1 || echo 0)
      echo "$(( $(date +%s) - start )) s: RSS $rss MiB, peak $hwm MiB, store $size MiB" >> "$WORK/$s.samples"
    done
  ) &
  sampler=$!
  set +e
  wait "$tpid"
  code=$?
  set -e
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sampler=""
  field() { grep -m1 "$1" "$WORK/$s.time" | sed 's/.*: //'; }
  wall=$(field "Elapsed (wall clock)" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  user=$(field "User time (seconds)")
  sys=$(field "System time (seconds)")
  rss_kb=$(field "Maximum resident set size")
  rss=$(( rss_kb / 1024 ))
  size=$(du -m "$db" 2>/dev/null | cut -f1 || echo 0)
  if [ "$code" = 0 ]; then
    read -r residents households events < <("$W" --db "$db" info --json | python3 -c '
import json, sys
c = json.load(sys.stdin)
el = dict(c["elements"])
print(c["residents"], el.get("households", 0), el.get("events", 0))')
  else
    residents="?"; households="?"; events="?"
    log "$s failed (exit $code):"; tail -5 "$WORK/$s.time" >&2
  fi
  echo "| $s | $SEED | $wall | $user | $sys | $rss | $residents | $households | $events | $size | $code |"
  last=$(tail -1 "$WORK/$s.samples" || true)
  [ -n "$last" ] && log "$s: last sample $last"
  grep -m1 "^demo " "$WORK/$s.time" >&2 || true
  rm -f "$db" "$db.wal"
done

if [ "$CARGO_BENCH" = 1 ]; then
  echo
  echo "In-process generation into a counting sink (\`cargo bench -p wangge-data --bench demo\`, one child process per scale):"
  echo
  (cd "$root" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/dev}" \
    WANGGE_BENCH_SCALES="$(echo "$SCALES" | tr ' ' ',')" \
    cargo bench -q -p wangge-data --bench demo 2>/dev/null | grep '^|')
fi
