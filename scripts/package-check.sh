#!/usr/bin/env bash
# The Debian package, end to end (CI runs it after the tests; root on Debian 12):
#   builds foghorn_<version>_amd64.deb (cpack, in build/), runs lintian on it (no errors), installs
#   it with dpkg -i, checks the binaries, the foghorn user, /var/lib/foghorn and the conffiles, runs
#   `foghornd --config /etc/foghorn/agent.yaml --check` as the foghorn user, verifies the installed
#   unit with systemd-analyze, then `dpkg -r` (state kept) and `dpkg -P` (state gone).
# It leaves the machine as it found it: it refuses to start when foghorn is installed or
# /var/lib/foghorn or /etc/foghorn exists, purges the package on any failure, and deletes the
# foghorn user and group if it created them. Runtime dependencies dpkg lacks are installed with
# apt-get first (and kept: they are ordinary Debian libraries).
#   scripts/package-check.sh
#   FOGHORN_BUILD_LOCK=/tmp/build.lock scripts/package-check.sh   # build steps under flock
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$here/build"
step() { echo "== package-check: $*"; }
fail() { echo "package-check: FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "needs root (dpkg -i, runuser); CI runs it as root"
command -v dpkg-deb >/dev/null || fail "not a Debian system (no dpkg-deb)"
command -v lintian >/dev/null || fail "lintian is missing: run scripts/setup.sh"
if dpkg-query -W -f='${Status}' foghorn 2>/dev/null | grep -q "installed\|config-files"; then
  fail "foghorn is already installed here; this check installs and purges its own copy"
fi
for d in /var/lib/foghorn /etc/foghorn; do
  [[ ! -e $d ]] || fail "$d exists; purging the package would delete it"
done
user_existed=0
getent passwd foghorn >/dev/null && user_existed=1
group_existed=0
getent group foghorn >/dev/null && group_existed=1

lock=()
[[ -n ${FOGHORN_BUILD_LOCK:-} ]] && lock=(flock "$FOGHORN_BUILD_LOCK")
step "build the package (cpack) in $build_dir"
export CCACHE_BASEDIR="$here" CCACHE_NOHASHDIR=true
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOGHORN_WERROR=ON)
  command -v ccache >/dev/null && cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  "${lock[@]}" cmake -S "$here" -B "$build_dir" "${cmake_args[@]}" >/dev/null
fi
# package_inputs: the three binaries and the compressed docs; `package` builds nothing else.
"${lock[@]}" cmake --build "$build_dir" --target package_inputs
rm -f "$build_dir"/foghorn_*_amd64.deb
"${lock[@]}" cmake --build "$build_dir" --target package
debs=("$build_dir"/foghorn_*_amd64.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "expected one foghorn_<version>_amd64.deb"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
[[ $(basename "$deb") == "foghorn_${version}_amd64.deb" ]] || fail "unexpected name $(basename "$deb")"
echo "package-check: $deb ($(du -h "$deb" | cut -f1)), version $version"
echo "package-check: Depends: $(dpkg-deb -f "$deb" Depends)"

step "lintian (no errors)"
# --fail-on error: warnings are printed, errors fail.
lintian --fail-on error "$deb"

# From here on, whatever happens, the package, its state and the user it created go again.
cleanup() {
  local rc=$?
  if dpkg-query -W -f='${Status}' foghorn 2>/dev/null | grep -q "installed\|config-files"; then
    echo "package-check: cleaning up: dpkg -P foghorn" >&2
    dpkg -P foghorn >/dev/null 2>&1 || true
  fi
  rm -rf /var/lib/foghorn /etc/foghorn
  if [[ $user_existed -eq 0 ]] && getent passwd foghorn >/dev/null; then
    userdel foghorn || true
  fi
  if [[ $group_existed -eq 0 ]] && getent group foghorn >/dev/null; then
    groupdel foghorn || true
  fi
  exit "$rc"
}
trap cleanup EXIT

step "runtime dependencies"
# A dependency is there when a package of that name is installed or an installed one provides it
# (libspdlog1.10-fmt9 is provided by libspdlog1.10).
provided=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package},${Provides}\n' |
  awk -F'|' '$1 ~ /^ii/ {print $2}' | tr ',' '\n' | sed -E 's/\(.*\)//; s/[[:space:]]//g')
missing=()
IFS=',' read -ra deps <<<"$(dpkg-deb -f "$deb" Depends)"
for dep in "${deps[@]}"; do
  name=$(echo "${dep%%|*}" | sed -E 's/\(.*\)//; s/[[:space:]]//g')
  grep -qxF "$name" <<<"$provided" || missing+=("$name")
done
if ((${#missing[@]})); then
  echo "package-check: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "package-check: all present"
fi

step "dpkg -i"
dpkg -i "$deb"
/usr/bin/foghornd --version
/usr/bin/foghorn --version
[[ $(/usr/bin/foghornd --version) == "foghornd $version (commit "* ]] || fail "foghornd --version"
getent passwd foghorn >/dev/null || fail "no foghorn user"
[[ $(stat -c '%U:%G %a' /var/lib/foghorn) == "foghorn:foghorn 700" ]] ||
  fail "/var/lib/foghorn is $(stat -c '%U:%G %a' /var/lib/foghorn), want foghorn:foghorn 700"
conffiles=$(dpkg-query -W -f='${Conffiles}' foghorn)
for f in /etc/foghorn/agent.yaml /etc/foghorn/runbooks/observe-only.yaml; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile"
done
for f in /usr/bin/foghorn-armsim /lib/systemd/system/foghornd.service \
  /usr/share/man/man8/foghornd.8.gz /usr/share/man/man1/foghorn.1.gz \
  /usr/share/man/man1/foghorn-armsim.1.gz /usr/share/bash-completion/completions/foghorn \
  /usr/lib/sysusers.d/foghorn.conf; do
  [[ -e $f ]] || fail "$f is not installed"
done

step "foghornd --check as the foghorn user"
runuser -u foghorn -- /usr/bin/foghornd --config /etc/foghorn/agent.yaml --check

step "systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/foghornd.service
  echo "package-check: foghornd.service verified"
else
  echo "package-check: SKIPPED systemd-analyze verify: systemd-analyze is not installed here"
fi

step "dpkg -r keeps the state"
echo "kept" >/var/lib/foghorn/package-check-marker
dpkg -r foghorn
[[ ! -e /usr/bin/foghornd ]] || fail "/usr/bin/foghornd is still there after dpkg -r"
[[ -f /var/lib/foghorn/package-check-marker ]] || fail "/var/lib/foghorn did not survive dpkg -r"
[[ -f /etc/foghorn/agent.yaml ]] || fail "the conffiles did not survive dpkg -r"
echo "package-check: /var/lib/foghorn and /etc/foghorn kept"

step "dpkg -P deletes it"
dpkg -P foghorn
[[ ! -e /var/lib/foghorn ]] || fail "/var/lib/foghorn is still there after dpkg -P"
[[ ! -e /etc/foghorn ]] || fail "/etc/foghorn is still there after dpkg -P"
if dpkg-query -W -f='${Status}' foghorn 2>/dev/null | grep -q "installed\|config-files"; then
  fail "dpkg still knows foghorn after dpkg -P"
fi
echo "package-check: /var/lib/foghorn and /etc/foghorn gone"

echo "package-check: ok ($(basename "$deb"))"
