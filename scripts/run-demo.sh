#!/usr/bin/env bash
# From a fresh clone: install what is missing, build in Release, and run the
# demo (a million Poisson-driven synapses on the GPU when present, else CPU).
# Extra arguments go to the demo (see --help). Builds in build-bench/ with the
# main job's options (scripts/run-bench.sh), never in the tests' build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBIONMDA_BUILD_TOOLS=ON -DBIONMDA_BUILD_EXAMPLES=ON \
  -DBIONMDA_BUILD_TESTS=OFF -DBIONMDA_BUILD_BENCHMARKS=OFF -DBIONMDA_SANITIZE= -DBIONMDA_BUILD_FUZZERS=OFF >/dev/null
cmake --build build-bench --target bionmda_demo -j"$(nproc)"
exec build-bench/examples/bionmda_demo "$@"
