#!/usr/bin/env bash
# Run HERE before a GPU call: copies what the GPU machine's build needs but
# lacks (GoogleTest's source, the header-only CLI11 and nlohmann-json) into
# .device-deps/ (git-ignored), which the device call carries and CMake falls
# back to.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
rm -rf .device-deps
mkdir -p .device-deps/include
cp -r /usr/src/googletest .device-deps/googletest
cp -r /usr/include/CLI .device-deps/include/CLI
cp -r /usr/include/nlohmann .device-deps/include/nlohmann
cp /usr/include/xxhash.h .device-deps/include/xxhash.h
du -sh .device-deps
