#!/usr/bin/env bash
# Quick start, command 2: set up, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
meson compile -C build
meson test -C build --print-errorlogs "$@"
