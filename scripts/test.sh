#!/usr/bin/env bash
# The test command: installs what is missing, builds foghorn and runs the whole test suite.
#   scripts/test.sh              regular build in build/
#   scripts/test.sh --sanitize   address+undefined sanitizers in build-asan/
#   scripts/test.sh --werror     treat warnings as errors (CI)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"

build_dir="$here/build"
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir="$here/build-asan"; cmake_args+=(-DFOGHORN_SANITIZE=ON) ;;
    --werror) cmake_args+=(-DFOGHORN_WERROR=ON) ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
command -v ccache >/dev/null && cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S "$here" -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir"
cd "$build_dir"
ctest --output-on-failure --timeout 300 -j2
