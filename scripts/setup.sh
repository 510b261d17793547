#!/usr/bin/env bash
# Installs what svertka needs on Debian 12 (only the packages that are missing) and configures the
# release build in ./build. Sourced by the quick-start scripts; safe to run again.
set -euo pipefail

packages=(g++ meson ninja-build pkg-config libboost-dev libboost-test-dev libfmt-dev zlib1g-dev
          libpng-dev libbenchmark-dev libopenblas-dev doxygen python3-numpy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "svertka: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release
fi
