#!/usr/bin/env bash
# From a fresh clone: install what is missing, build everything in Release,
# and run every test. GPU tests skip (with their reason) when no device is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
