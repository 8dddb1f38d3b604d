# Shared environment of the scripts: one cargo target dir outside the clone
# (so repeated runs reuse DuckDB's bundled C++ build), ccache for the C++ side,
# and one build profile (release) for the binary, the tests and clippy.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wangge/target}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/wangge/ccache}"
if command -v ccache >/dev/null 2>&1; then
  export CC="${CC:-ccache gcc}" CXX="${CXX:-ccache g++}"
fi
WANGGE_BIN="$CARGO_TARGET_DIR/release/wangge"
export WANGGE_BIN

# Installs what a fresh Debian machine lacks (root or sudo needed once).
wangge_setup() {
  local want=()
  command -v ccache >/dev/null 2>&1 || want+=(ccache)
  command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
  [ -x /usr/bin/chromium ] || want+=(chromium)
  fc-list 2>/dev/null | grep -qi 'dejavu' || want+=(fonts-dejavu-core)
  fc-list 2>/dev/null | grep -qi 'noto sans cjk' || want+=(fonts-noto-cjk)
  python3 -m venv --help >/dev/null 2>&1 || want+=(python3-venv)
  if [ "$1" = "tests" ]; then
    command -v curl >/dev/null 2>&1 || want+=(curl)
    # GDAL's OGR OAPIF driver reads /ogc in tests/ogc/check.sh.
    command -v ogrinfo >/dev/null 2>&1 || want+=(gdal-bin)
  fi
  if [ ${#want[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Debian packages: ${want[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${want[@]}" >/dev/null
  fi
  if command -v ccache >/dev/null 2>&1; then
    export CC="ccache gcc" CXX="ccache g++"
  fi
}
