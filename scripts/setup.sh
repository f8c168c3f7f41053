#!/usr/bin/env bash
# Installs what foghorn needs to build and test on Debian 12, and nothing that is already there.
# Idempotent: safe to run before every build. Uses apt-get as root, sudo otherwise.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

debs=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libcurl4-openssl-dev libssl-dev libabsl-dev libfmt-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev libsqlite3-dev libcpp-httplib-dev libspdlog-dev libbenchmark-dev
  prometheus-cpp-dev libsystemd-dev lintian
  nlohmann-json3-dev libcli11-dev clang-format openssl
  python3-azure
  etcd-server
  chromium
)
# Node.js may come from elsewhere than Debian (the CI image ships its own); install Debian's only
# when there is none.
command -v npm >/dev/null 2>&1 || debs+=(nodejs npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Node tools (buf for proto lint, and the independent clients used by tests) from the npm registry,
# pinned by tools/node/package-lock.json.
if [[ ! -x "$here/tools/node/node_modules/.bin/buf" ]] ||
   [[ "$here/tools/node/package.json" -nt "$here/tools/node/node_modules/.stamp" ]]; then
  echo "setup: installing node tools"
  (cd "$here/tools/node" && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
fi
