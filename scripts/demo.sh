#!/usr/bin/env bash
# Quick start, command 1: set up, build, and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
meson compile -C build
./build/examples/linear_regression_gd "$@"
