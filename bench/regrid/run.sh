#!/usr/bin/env bash
# Compare the re-gridding recommender with PySAL spopt's MaxPHeuristic on the
# same seeded synthetic instances and the same adjacency graph.
#   bench/regrid/run.sh [sizes…]        (default 500 2000 5000 10000)
# Env: SPOPT_TIMEOUT_S (default 600) per size; CARGO_TARGET_DIR honoured.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${WANGGE_VENV:-$HOME/.cache/wangge/venv}"
out="${REGRID_BENCH_DIR:-$HOME/.cache/wangge/regrid-bench}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(500 2000 5000 10000)

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import spopt, libpysal" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet spopt libpysal
fi

(cd "$root" && cargo run --quiet --release -p analytics --example export_instances -- "$out" "${sizes[@]}")
"$venv/bin/python" "$here/spopt_compare.py" "$out" --timeout "${SPOPT_TIMEOUT_S:-600}" "${sizes[@]}"
