#!/usr/bin/env bash
# From a fresh clone: install what is missing, build in Release, and run the
# main job, `bionmda bench`: step throughput on the backend `auto` picks (the
# GPU when usable), against the copy bandwidth measured in the same run, after
# checking against the float64 reference. Extra arguments go to `bionmda bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBIONMDA_BUILD_TESTS=OFF >/dev/null
cmake --build build --target bionmda_cli -j"$(nproc)"
exec build/src/cli/bionmda bench "$@"
