#!/usr/bin/env bash
# From a fresh clone: install what is missing, build everything in Release in
# build/, and run every test. GPU tests skip (with their reason) when no device
# is usable.
# Every option the tests rely on is set here: a CMake cache keeps the options
# of whoever configured build/ before, and this command must build every test
# whatever they were. ctest fails when it finds no test. The main job
# (scripts/run-bench.sh) and the demo build in build-bench/, never here.
# Extra arguments go to the configure step (e.g. -DBIONMDA_ENABLE_CUDA=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBIONMDA_ENABLE_CUDA=AUTO -DBIONMDA_BUILD_TESTS=ON \
  -DBIONMDA_BUILD_TOOLS=ON -DBIONMDA_BUILD_EXAMPLES=ON -DBIONMDA_BUILD_BENCHMARKS=ON -DBIONMDA_WERROR=ON \
  -DBIONMDA_SANITIZE= -DBIONMDA_BUILD_FUZZERS=OFF -DBIONMDA_CPU_ISA_MAX=avx512 "$@" >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure --no-tests=error -j"$(nproc)"
