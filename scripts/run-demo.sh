#!/usr/bin/env bash
# From a fresh clone: install what is missing, build in Release, and run the
# demo (a million Poisson-driven synapses on the GPU when present, else CPU).
# Extra arguments go to the demo (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBIONMDA_BUILD_TESTS=OFF >/dev/null
cmake --build build --target bionmda_demo -j"$(nproc)"
exec build/examples/bionmda_demo "$@"
