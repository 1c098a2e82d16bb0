#!/usr/bin/env bash
# Builds the CPU backend, the tool and the tests with clang's
# UndefinedBehaviorSanitizer in build-ubsan-clang/ (no CUDA: host code) and
# runs the tests (all but the GCC-specific bitwise fingerprints); any report
# stops the test that made it and fails the run, and so does finding no test.
# Beside the GCC build of scripts/run-sanitizer-tests.sh: GCC's
# -fsanitize=undefined has no float-cast-overflow (an out-of-range
# float-to-integer conversion), and clang adds the checks below. Which checks,
# and why: docs/reliability.md, "Sanitizers". Warnings are not errors here:
# clang warns where the instrumentation stops a `#pragma omp simd` loop from
# vectorising. Installs clang and its OpenMP runtime with apt-get if missing.
# Extra arguments go to the configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh clang libomp-dev
# undefined: clang's group (alignment, bool, bounds, enum, float-cast-overflow,
#   shift, signed-integer-overflow, null, pointer-overflow, vptr, ...);
# float-cast-overflow, signed-integer-overflow: named again, what this build is
#   for whatever the group holds;
# nullability: _Nonnull arguments, assignments and returns;
# implicit-integer-truncation: an implicit integer conversion that loses bits.
# Not implicit-integer-sign-change (the rest of implicit-conversion): its only
# reports are byte copies through char, by design.
# No bionmda::mpi (as the ASan build; the main build runs the MPI tests).
checks=undefined,float-cast-overflow,signed-integer-overflow,nullability,implicit-integer-truncation
cmake -S . -B build-ubsan-clang -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DBIONMDA_ENABLE_CUDA=OFF -DBIONMDA_SANITIZE="$checks" -DBIONMDA_CPU_ISA_MAX=generic -DBIONMDA_ENABLE_MPI=OFF \
  -DBIONMDA_BUILD_TESTS=ON -DBIONMDA_BUILD_TOOLS=ON -DBIONMDA_BUILD_EXAMPLES=ON \
  -DBIONMDA_BUILD_BENCHMARKS=OFF -DBIONMDA_BUILD_FUZZERS=OFF -DBIONMDA_WERROR=OFF "$@" >/dev/null
cmake --build build-ubsan-clang -j"$(nproc)"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:report_error_type=1
# Every test but the bitwise fingerprints (they hold the GCC build's results
# bit for bit, and clang's code rounds differently; the GCC builds run them)
# and the reruns on each CPU instruction set (.cpu_isa_*, run in the main build).
ctest --test-dir build-ubsan-clang --output-on-failure --no-tests=error -j"$(nproc)" -E '^bitwise_test\.|\.cpu_isa_'

