#!/usr/bin/env bash
# Open311 GeoReport v2 checked with a client nobody on this team wrote (issue 18):
#   bash tests/open311/check.sh [path/to/wangge]
# Builds a demo town, makes an Open311 API key (`wangge token add --role open311
# --source hotline`), starts `wangge serve --open311-jurisdiction … --open311-codes …`
# on a free loopback port, and reads /open311/v2 with the PyPI client `georeport`
# (XML and JSON) while a Python script posts form-encoded requests with the key
# (`requests`, georeport's own HTTP library). Counts must equal what our own JSON
# API answers the leader; public answers must hold no personal data or exact place.
# Needs: python3-venv, curl (scripts/env.sh's wangge_setup installs them).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
wg_init tests/open311/check.sh "${1:-}"
wg_venv "${OPEN311_CHECK_VENV:-$HOME/.cache/wangge/open311-check-venv}" "$here/requirements.txt"
wg_demo
key="$("$bin" --db "$work/demo.duckdb" token add --role open311 --source hotline --label "12345 bridge" | grep '^wgo_')"
[ -n "$key" ] || { echo "wangge token add --role open311 printed no key" >&2; exit 1; }
# A 12345 platform's own service code, mapped onto our category 02.05.
printf '# test map\n[map]\n"HOTLINE-0205" = "02.05"\n' > "$work/codes.toml"
wg_serve --open311-jurisdiction chengguan.test --open311-codes "$work/codes.toml"
cookie="$(wg_login leader "$leader_pw")"

if "$venv/bin/python" "$here/georeport_check.py" "$base" "$key" "$cookie" chengguan.test; then
  echo "open311 client: all passed"
else
  echo "open311 client: failures above"; tail -5 "$work/serve.log"; exit 1
fi
