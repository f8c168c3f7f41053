#!/usr/bin/env bash
# The test command: installs what is missing, builds foghorn and runs the whole test suite.
#   scripts/test.sh              build in build/ (warnings are errors, as in CI)
#   scripts/test.sh --sanitize   address+undefined sanitizers in build-asan/
#   scripts/test.sh --quick      skip the slow end-to-end scenarios (ctest label e2e)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"

build_dir="$here/build"
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOGHORN_WERROR=ON)
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    # -O1 -g1: the usual sanitizer setting; about twice as fast to compile as -O2 -g.
    --sanitize) build_dir="$here/build-asan"
                cmake_args+=(-DFOGHORN_SANITIZE=ON -DFOGHORN_BENCH=OFF
                             "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG") ;;
    --werror) ;;  # always on; kept for old scripts
    --quick) ctest_args+=(-LE e2e) ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [[ "$build_dir" == */build-asan ]]; then
  export LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
# ccache keyed on paths relative to the checkout, so clones share the cache.
export CCACHE_BASEDIR="$here" CCACHE_NOHASHDIR=true
command -v ccache >/dev/null && cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S "$here" -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir"
cd "$build_dir"
ctest --output-on-failure --timeout 900 -j2 "${ctest_args[@]}"
