#!/usr/bin/env bash
# Installs ferry's build and test dependencies (Debian 12, as root) and builds
# everything into ./build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git ca-certificates tzdata
  libboost1.81-dev libyaml-cpp-dev libsqlitecpp-dev libsqlite3-dev sqlite3
  libzip-dev zipcmp zipmerge ziptool zip unzip
  libspdlog-dev libfmt-dev nlohmann-json3-dev libsodium-dev libcli11-dev
  libhowardhinnant-date-dev libsystemd-dev
  zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev util-linux
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
