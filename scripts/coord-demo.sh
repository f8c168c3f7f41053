#!/usr/bin/env bash
# Coordinated agents on this machine (docs/coordination.md): starts a local 3-member etcd cluster,
# foghorn-armsim with three vantages (v1, v2, v3) and three foghornd, one per vantage, all on
# 127.0.0.1 with free ports. Prints each agent's API and metrics address and how to cut a vantage
# off from the primary's region or take the region down, then follows the leader and decisions.
# Ctrl-C stops everything (--keep keeps the work directory: logs, journals, configs).
#
# Needs /usr/bin/etcd (Debian etcd-server; scripts/setup.sh installs it). Set FOGHORN_NO_BUILD=1 to
# use the binaries already in build/bin.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$here/build"
if [[ ! -x /usr/bin/etcd ]]; then
  echo "coord-demo: /usr/bin/etcd not found; install etcd-server (scripts/setup.sh)" >&2
  exit 1
fi
if [[ "${FOGHORN_NO_BUILD:-0}" != 1 ]]; then
  "$here/scripts/setup.sh"
  args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOGHORN_WERROR=ON)
  export CCACHE_BASEDIR="$here" CCACHE_NOHASHDIR=true
  command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$here" -B "$build_dir" "${args[@]}" >/dev/null
  cmake --build "$build_dir" --target foghornd foghorn foghorn_armsim_bin
fi
FOGHORN_BIN_DIR="$build_dir/bin" exec python3 "$here/tests/e2e/coord_harness.py" --demo "$@"
