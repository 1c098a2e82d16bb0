#!/usr/bin/env bash
# Builds the CPU backend, the tool and the tests with GCC's AddressSanitizer and
# UndefinedBehaviorSanitizer (no CUDA: the sanitizers cover host code) in
# build-asan/, and runs every test. Any report fails the run; so does finding
# no test. scripts/run-clang-ubsan-tests.sh adds clang's UBSan checks beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# -g1: line tables and functions (what a report needs), no variables: a third
# less compile time than -g for the test files. The generic CPU kernels only
# (the same code at SSE2 width; the AVX2 and AVX-512 copies, the heaviest
# files, are the main build's): CI's time limit.
# No bionmda::mpi: Open MPI's own allocations read as leaks, and the network
# layer it transports (projection, schedule, checkpoints) is tested here
# without it; the main build runs the MPI tests.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DBIONMDA_ENABLE_CUDA=OFF -DBIONMDA_CPU_ISA_MAX=generic -DBIONMDA_ENABLE_MPI=OFF \
  -DBIONMDA_SANITIZE=address,undefined -DBIONMDA_BUILD_TESTS=ON -DBIONMDA_BUILD_TOOLS=ON \
  -DBIONMDA_BUILD_EXAMPLES=ON -DBIONMDA_BUILD_BENCHMARKS=OFF -DBIONMDA_BUILD_FUZZERS=OFF >/dev/null
cmake --build build-asan -j"$(nproc)"
# allocator_may_return_null: a request no allocator can serve returns null (and
# the library throws out_of_memory) as it does without ASan, instead of aborting.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Left to the main build: the multi-chunk checkpoint round trips (millions of
# elements, minutes under ASan; the other checkpoint tests cover the same code
# on small files), and the reruns of the scenario and window tests on each CPU
# instruction set (.cpu_isa_*: the same code as the tests run here, on other
# SIMD variants; minutes under ASan).
ctest --test-dir build-asan --output-on-failure --no-tests=error -j"$(nproc)" -E 'CheckpointChunks|\.cpu_isa_'
