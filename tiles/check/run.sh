#!/usr/bin/env bash
# Cross-decoder checks of the tiles crate, for .ci/run:
#   bash tiles/check/run.sh
# Writes sample tiles with the dump example, decodes them with the JS
# reference decoder (@mapbox/vector-tile) and PyPI mapbox-vector-tile, and
# validates the pages' style (light and dark) with gl-style-validate (@maplibre/maplibre-gl-style-spec).
# Needs node/npm and python3 (venv); installs packages from npm and PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(cd "$root" && cargo run --release -q -p tiles --example dump -- "$out")
cd "$here"
npm ci --no-audit --no-fund --silent
node decode.mjs "$out"
# The style the pages draw, in both themes (tiles/src/style.rs is its one definition).
./node_modules/.bin/gl-style-validate "$out/style.json" "$out/style-dark.json"
echo "gl-style-validate: 2 passed, 0 failed"
venv="${TILES_CHECK_VENV:-$HOME/.cache/wangge/tiles-check-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r requirements.txt
"$venv/bin/python" decode.py "$out"
