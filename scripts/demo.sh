#!/usr/bin/env bash
# Quick start, command 1: set up, build, and run the main job: LeNet-5 trained on Fashion-MNIST
# (Debian's dataset-fashion-mnist, installed here when missing; the shipped 1000 + 1000 image subset
# if it cannot be had). Extra arguments go to the example, e.g. --epochs 3 --engine tape.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if ! dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "install ok installed"; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q dataset-fashion-mnist ||
    echo "svertka: dataset-fashion-mnist not installed; training on the shipped subset"
fi
meson compile -C build
./build/examples/lenet_fashion_mnist "$@"
