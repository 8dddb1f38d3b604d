#!/usr/bin/env bash
# The browser suite on a machine that is not idle (issue 17): no check may
# depend on spare CPU. Starts BURNERS busy loops at the tests' own priority
# (default: two per core, so the server, Chromium and node get about a third
# of the machine), runs tests/browser/ci.sh with the given arguments, stops the
# loops and prints the load average it ran under.
#   tests/browser/under-load.sh [path/to/wangge] [out-dir] [ci.sh args…]
# Not part of scripts/test.sh (it doubles the suite's time); last figures in
# docs/reliability.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
burners="${BURNERS:-$(( 2 * $(nproc) ))}"
pids=()
stop() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq "$burners"); do
  bash -c 'while :; do :; done' &
  pids+=($!)
done
echo "under-load: $burners busy loops on $(nproc) cores"
start=$SECONDS
rc=0
bash "$here/ci.sh" "$@" || rc=$?
echo "under-load: $((SECONDS - start)) s, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), exit $rc"
exit "$rc"
