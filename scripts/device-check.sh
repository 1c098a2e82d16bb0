#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root, after
# scripts/device-prep.sh ran here and with .device-deps carried:
#   build (Release, sm_90) -> GPU tests -> compute-sanitizer memcheck and
#   racecheck (scenarios, per-post sums, windows, window g_post), initcheck
#   and synccheck on small GPU cases -> GPU benchmarks, most wanted first
#   (windows, the BrainPy peer, variants) -> demo -> the Python package
#   (bionmda.jax, the BrainPy drop-in) on the GPU -> CPU tests -> the per-step
#   sweeps -> a short table. Steps after the sanitizers start only while the
#   run is inside BIONMDA_DEVICE_BUDGET seconds (default 380); the rest are
#   listed as SKIPPED; any step still running at BIONMDA_DEVICE_DEADLINE
#   seconds (default 470) is stopped and counts as FAILED.
# Results go to $OUT (default ./device-out): summary.txt (the table printed
# last), logs.tgz (every log and every benchmark's JSON) and, while
# tests/data/bitwise/cuda.txt is missing, bitwise-cuda.txt (the CUDA
# fingerprints to commit there); at most 8 files come back from the device
# machine. Budget: under 8 minutes.
# Usage: scripts/device-check.sh [--no-bench] [--build-only] [--quick] [--dry-run]
#   --no-bench: no benchmarks and no demo
#   --build-only: configure and build only (how the GPU machine builds)
#   --quick: GPU tests, sanitizers and the variants only (a short lease)
#   --dry-run: print the steps the other options select ("step NAME: COMMAND"),
#     run none and write nothing; exits 0
set -uo pipefail
cd "$(dirname "$0")/.."

bench=1
build_only=0
quick=0
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --no-bench) bench=0 ;;
    --build-only) build_only=1 ;;
    --quick) quick=1 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "device-check: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

OUT=${OUT:-$PWD/device-out}
LOGS=  # --dry-run writes no log
if [ "$dry_run" = 0 ]; then
  mkdir -p "$OUT"
  LOGS=$(mktemp -d)
fi
BUILD=${BIONMDA_DEVICE_BUILD:-build-device}
# Every step ends by DEADLINE seconds into the run (killed there, FAILED), so
# the table and logs are always written inside a lease.
DEADLINE=${BIONMDA_DEVICE_DEADLINE:-470}
ARCH=${BIONMDA_CUDA_ARCH:-90}
declare -a summary
status=0
step() {  # step NAME LOGFILE COMMAND...: runs, records pass/fail and seconds
  local name=$1 log=$2; shift 2
  if [ "$dry_run" = 1 ]; then
    printf 'step %s:' "$name"; printf ' %q' "$@"; echo
    return 0
  fi
  local t0=$SECONDS left=$((DEADLINE - SECONDS))
  if [ "$left" -le 5 ]; then
    summary+=("$(printf '%-28s %-6s %s' "$name" SKIPPED "past the ${DEADLINE}s deadline")")
    status=1
    return 0
  fi
  if timeout -k 5 "$left" "$@" >"$LOGS/$log" 2>&1; then
    summary+=("$(printf '%-28s %-6s %4ds  %s' "$name" ok $((SECONDS - t0)) "$log")")
  else
    summary+=("$(printf '%-28s %-6s %4ds  %s' "$name" FAILED $((SECONDS - t0)) "$log")")
    status=1
    tail -n 25 "$LOGS/$log"
  fi
}

[ "$dry_run" = 1 ] || { nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
  nvcc --version | tail -n 2; cmake --version | head -n 1; git rev-parse HEAD 2>/dev/null || true
} >"$LOGS/machine.txt" 2>&1

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
step configure configure.log cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DBIONMDA_ENABLE_CUDA=ON -DBIONMDA_PTXAS_VERBOSE=ON
step build build.log cmake --build "$BUILD" -j"$(nproc)"
[ "$dry_run" = 1 ] || grep -sE "registers|spill" "$LOGS/build.log" | sort | uniq -c >"$LOGS/ptxas.txt" || true

report() {
  echo "== device check: $(head -n 2 "$LOGS/machine.txt" | tail -n 1)"
  printf '%s\n' "${summary[@]}"
  for f in "$LOGS"/tests-gpu.log "$LOGS"/tests-cpu.log; do
    [ -f "$f" ] && echo "$(basename "$f"): $(grep -E 'tests passed|tests failed' "$f" | tail -n 1)"
  done
  for f in "$LOGS"/bench-*.txt; do
    [ -f "$f" ] && { echo "== $(basename "$f" .txt)"; grep -vE '^#.*benchmark' "$f"; }
  done
  grep -h "stepping" "$LOGS/demo-gpu.txt" 2>/dev/null
  return 0
}
finish() {
  [ "$dry_run" = 1 ] && exit 0
  echo
  report | tee "$OUT/summary.txt"
  tar czf "$OUT/logs.tgz" -C "$LOGS" .
  exit $status
}
if [ "$build_only" = 1 ]; then finish; fi

# Optional steps (benchmarks, the CPU tests) start only while the run is
# within its budget, so a slow build still leaves a complete record.
BUDGET=${BIONMDA_DEVICE_BUDGET:-380}
late_step() {  # late_step NAME LOGFILE COMMAND...: step, or SKIPPED past the budget
  if [ "$dry_run" = 0 ] && [ "$SECONDS" -gt "$BUDGET" ]; then
    summary+=("$(printf '%-28s %-6s %s' "$1" SKIPPED "over the ${BUDGET}s budget")")
    return 0
  fi
  step "$@"
}

step tests-gpu tests-gpu.log ctest --test-dir "$BUILD" -L gpu --output-on-failure -j4 --timeout 240
# The CUDA bitwise fingerprints, until tests/data/bitwise/cuda.txt holds them:
# written to $OUT/bitwise-cuda.txt, to be committed there.
if [ ! -f tests/data/bitwise/cuda.txt ]; then
  step bitwise-cuda-record bitwise-cuda-record.log env BIONMDA_BITWISE_WRITE="$OUT/bitwise-cuda.txt" \
    BIONMDA_BITWISE_SOURCE="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), sm_$ARCH" \
    "$BUILD/tests/bitwise_gpu_test"
fi

if [ "$dry_run" = 1 ] || command -v compute-sanitizer >/dev/null; then
  small='*DenseRandomSmallSizes*:*Presynaptic*:*PulseOfExact*:*SpikeDuringPulse*:*Poisson*'
  small_window='Grid/*_B3_N33:Kinds/WindowDeviceInputs.*:Precisions/WindowRecording.*'
  small_window_post='Cases/WindowPost.*/0:Cases/WindowPost.*/1:Cases/WindowPost.*/2'
  for tool in memcheck racecheck; do
    step "sanitizer-$tool" "sanitizer-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode=1 \
      "$BUILD/tests/scenarios_gpu_test" --gtest_filter="$small"
    step "sanitizer-$tool-post" "sanitizer-$tool-post.log" compute-sanitizer --tool "$tool" \
      --error-exitcode=1 "$BUILD/tests/postsynaptic_gpu_test"
    step "sanitizer-$tool-window" "sanitizer-$tool-window.log" compute-sanitizer --tool "$tool" \
      --error-exitcode=1 "$BUILD/tests/window_gpu_test" --gtest_filter="$small_window"
    step "sanitizer-$tool-window-post" "sanitizer-$tool-window-post.log" compute-sanitizer --tool "$tool" \
      --error-exitcode=1 "$BUILD/tests/window_post_gpu_test" --gtest_filter="$small_window_post"
    step "sanitizer-$tool-post-plain" "sanitizer-$tool-post-plain.log" env BIONMDA_CUDA_POST_WINDOW=plain \
      compute-sanitizer --tool "$tool" --error-exitcode=1 "$BUILD/tests/window_post_gpu_test" \
      --gtest_filter="$small_window_post"
  done
  for tool in initcheck synccheck; do
    step "sanitizer-$tool" "sanitizer-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode=1 \
      "$BUILD/tests/scenarios_gpu_test" --gtest_filter="$small"
  done
else
  summary+=("$(printf '%-28s %-6s' sanitizer MISSING)")
  status=1
fi

cli="$BUILD/src/cli/bionmda"
have_wheels=0
ls .whl/*.whl >/dev/null 2>&1 && have_wheels=1
if [ "$bench" = 1 ] && [ "$quick" = 1 ]; then
  late_step bench-gpu-variants bench-gpu-variants.txt "$cli" bench --backend cuda \
    --precision float32 --sizes 16777216 --no-reference --min-time 0.05 --variants \
    --json "$LOGS/bench-gpu-variants.json"
elif [ "$bench" = 1 ]; then
  peer_sizes="65536 262144 1048576 4194304 16777216"
  # Most wanted first. Windows of K steps (issue 11): every input kind at 2^26
  # (state far past L2), per step vs K = 32, against the compute ceiling
  # (K = 4096, no input); float64 dense; small populations (2^16) per step,
  # CUDA graph and window.
  late_step bench-gpu-windows bench-gpu-windows.txt "$cli" bench --backend cuda --precision float32 \
    --sizes 67108864 --input dense bits presynaptic events poisson --window 1 32 --ceiling 4096 \
    --no-reference --min-time 0.05 --repeats 3 --json "$LOGS/bench-gpu-windows.json"
  late_step bench-gpu-windows-f64 bench-gpu-windows-f64.txt "$cli" bench --backend cuda --precision float64 \
    --sizes 67108864 --input dense --window 1 32 --ceiling 1024 --no-reference --min-time 0.05 --repeats 3 \
    --json "$LOGS/bench-gpu-windows-f64.json"
  # The peer on the same card at 2^24: bionmda's Poisson step and K = 32
  # window, then brainpy.state.BioNMDA on JAX-GPU (wheels carried in .whl/,
  # bench/README.md says how), per step (one scan) and as jit calls of K = 32.
  late_step bench-gpu-peer bench-gpu-peer.txt "$cli" bench --backend cuda --precision float32 \
    --sizes 16777216 --input poisson --window 1 32 --no-reference --min-time 0.05 --repeats 3 \
    --json "$LOGS/bench-gpu-peer.json"
  if [ "$have_wheels" = 1 ]; then
    late_step brainpy-install brainpy-install.log python3 -m pip install -q --no-index --no-deps --no-compile \
      --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    late_step bench-brainpy-gpu-window bench-brainpy-gpu-window.txt env PYTHONPATH=/tmp/site \
      PYTHONUNBUFFERED=1 python3 bench/brainpy_bench.py --precision float32 --sizes 16777216 --window 32 \
      --repeats 3 --json "$LOGS/brainpy-gpu-window.json"
  else
    [ "$dry_run" = 1 ] && echo "skip bench-brainpy-gpu: no wheels in .whl/"
    summary+=("$(printf '%-28s %-6s %s' bench-brainpy-gpu SKIPPED 'no wheels in .whl/')")
  fi
  late_step bench-gpu-variants bench-gpu-variants.txt "$cli" bench --backend cuda \
    --precision float32 --sizes 16777216 --no-reference --min-time 0.05 --variants \
    --json "$LOGS/bench-gpu-variants.json"
  late_step bench-gpu-windows-small bench-gpu-windows-small.txt "$cli" bench --backend cuda --precision float32 \
    --sizes 65536 --input dense --window 1 32 --no-reference --min-time 0.05 --repeats 3 \
    --json "$LOGS/bench-gpu-windows-small.json"
  late_step demo-gpu demo-gpu.txt "$BUILD/examples/bionmda_demo" --backend cuda --steps 2000
  # The Python package on the GPU: built against the machine's own jax/jaxlib
  # (no network: --no-build-isolation, the image's scikit-build-core, nanobind
  # and jaxlib headers; the XLA FFI is ABI-stable), then the FFI and drop-in
  # tests, whose CUDA cases run here (BrainPy from the wheels in .whl/).
  late_step python-gpu python-gpu.log env CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=$ARCH" bash -c 'python3 -m pip install -q --no-build-isolation --no-deps \
    --no-cache-dir --target /tmp/pysite ./python && PYTHONPATH=/tmp/pysite:/tmp/site python3 -m pytest -q \
    -p no:cacheprovider python/tests/test_jax.py python/tests/test_jax_units.py python/tests/test_brainpy.py python/tests/test_population.py'
  late_step tests-cpu tests-cpu.log ctest --test-dir "$BUILD" -LE gpu --output-on-failure -j12 --timeout 300
  # The per-step sweeps of earlier runs, last.
  late_step bench-gpu-dense bench-gpu-dense.txt "$cli" bench --backend cuda --input dense --no-reference \
    --min-time 0.05 --json "$LOGS/bench-gpu-dense.json"
  if [ "$have_wheels" = 1 ]; then
    late_step bench-brainpy-gpu bench-brainpy-gpu.txt env PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 python3 \
      bench/brainpy_bench.py --precision float32 --sizes $peer_sizes --json "$LOGS/brainpy-gpu.json"
  fi
  late_step bench-gpu-poisson bench-gpu-poisson.txt "$cli" bench --backend cuda --input poisson --no-reference \
    --min-time 0.05 --precision float32 --sizes $peer_sizes --json "$LOGS/bench-gpu-poisson.json"
  late_step bench-gpu-presynaptic bench-gpu-presynaptic.txt "$cli" bench --backend cuda --input presynaptic \
    --no-reference --min-time 0.05 --json "$LOGS/bench-gpu-presynaptic.json"
fi
if [ "$bench" = 0 ] || [ "$quick" = 1 ]; then
  [ "$quick" = 1 ] || late_step tests-cpu tests-cpu.log ctest --test-dir "$BUILD" -LE gpu --output-on-failure \
    -j12 --timeout 300
fi

finish
