#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and
# runs each for SECONDS (default 600) from the committed seed corpus, writing
# new inputs to build-fuzz/corpus-<target>/ and crashes to build-fuzz/.
# Usage: scripts/run-fuzzers.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spike_csv npy checkpoint options unit_values)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBIONMDA_ENABLE_CUDA=OFF \
  -DBIONMDA_BUILD_FUZZERS=ON -DBIONMDA_SANITIZE=address,undefined -DBIONMDA_WERROR=OFF \
  -DBIONMDA_BUILD_TESTS=OFF -DBIONMDA_BUILD_TOOLS=OFF -DBIONMDA_BUILD_EXAMPLES=OFF \
  -DBIONMDA_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus-$t"
  # A finding stops that target (crash file in build-fuzz/) but not the others.
  if ! (cd build-fuzz && "./fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -max_len=65536 \
        -artifact_prefix="crash-$t-" "corpus-$t" "../fuzz/corpus/$t") >"build-fuzz/fuzz-$t.log" 2>&1; then
    status=1
  fi
  tail -n 12 "build-fuzz/fuzz-$t.log"
done
exit $status
