#!/usr/bin/env bash
# The main job, end to end on this machine: starts foghorn-armsim (the local ARM emulator) and
# foghornd with an automatic runbook, takes the primary's region down, and shows foghornd fail the
# group over on its own (planned attempt, then forced after the data-loss grace).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
build_dir="$here/build"
args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOGHORN_WERROR=ON)
export CCACHE_BASEDIR="$here" CCACHE_NOHASHDIR=true
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$build_dir" "${args[@]}" >/dev/null
cmake --build "$build_dir" --target foghornd foghorn_armsim_bin
FOGHORN_BIN_DIR="$build_dir/bin" exec python3 "$here/tests/e2e/demo.py" "$@"
