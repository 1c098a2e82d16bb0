#!/usr/bin/env bash
# From a fresh clone: install what is missing, build the tool in Release, and
# run the main job, `bionmda bench`: step throughput on the backend `auto`
# picks (the GPU when usable), against the copy bandwidth measured in the same
# run, after checking against the float64 reference. Extra arguments go to
# `bionmda bench`.
# It builds in its own folder, build-bench/ (shared with scripts/run-demo.sh,
# same options), so that it never changes what scripts/run-tests.sh builds in
# build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBIONMDA_BUILD_TOOLS=ON -DBIONMDA_BUILD_EXAMPLES=ON \
  -DBIONMDA_BUILD_TESTS=OFF -DBIONMDA_BUILD_BENCHMARKS=OFF -DBIONMDA_SANITIZE= -DBIONMDA_BUILD_FUZZERS=OFF >/dev/null
cmake --build build-bench --target bionmda_cli -j"$(nproc)"
exec build-bench/src/cli/bionmda bench "$@"
