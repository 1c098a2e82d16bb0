#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root, after
# scripts/device-prep.sh ran here and with .device-deps carried:
#   build (Release, sm_90) -> all tests -> compute-sanitizer memcheck,
#   racecheck, initcheck and synccheck on small GPU cases -> GPU benchmarks
#   (sweeps, variants, the BrainPy peer) -> demo -> a short table.
# Results go to $OUT (default ./device-out): summary.txt (the table printed
# last), logs.tgz (every log, and the windows benchmarks' JSON), and the
# per-step benchmarks' JSON files; at most 8 files
# come back from the device machine. Budget: under 8 minutes.
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
ARCH=${BIONMDA_CUDA_ARCH:-90}
declare -a summary
status=0
step() {  # step NAME LOGFILE COMMAND...: runs, records pass/fail and seconds
  local name=$1 log=$2; shift 2
  if [ "$dry_run" = 1 ]; then
    printf 'step %s:' "$name"; printf ' %q' "$@"; echo
    return 0
  fi
  local t0=$SECONDS
  if "$@" >"$LOGS/$log" 2>&1; then
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
[ "$dry_run" = 1 ] || grep -E "registers|spill" "$LOGS/build.log" | sort | uniq -c >"$LOGS/ptxas.txt" || true

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

step tests-gpu tests-gpu.log ctest --test-dir "$BUILD" -L gpu --output-on-failure -j4
[ "$quick" = 1 ] || step tests-cpu tests-cpu.log ctest --test-dir "$BUILD" -LE gpu --output-on-failure -j8

if [ "$dry_run" = 1 ] || command -v compute-sanitizer >/dev/null; then
  small='*DenseRandomSmallSizes*:*Presynaptic*:*PulseOfExact*:*SpikeDuringPulse*:*Poisson*'
  for tool in memcheck racecheck; do
    step "sanitizer-$tool" "sanitizer-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode=1 \
      "$BUILD/tests/scenarios_gpu_test" --gtest_filter="$small"
    step "sanitizer-$tool-post" "sanitizer-$tool-post.log" compute-sanitizer --tool "$tool" \
      --error-exitcode=1 "$BUILD/tests/postsynaptic_gpu_test"
  done
  for tool in initcheck synccheck; do
    step "sanitizer-$tool" "sanitizer-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode=1 \
      "$BUILD/tests/scenarios_gpu_test" --gtest_filter="$small"
  done
else
  summary+=("$(printf '%-28s %-6s' sanitizer MISSING)")
  status=1
fi

if [ "$bench" = 1 ] && [ "$quick" = 1 ]; then
  step bench-gpu-variants bench-gpu-variants.txt "$BUILD/src/cli/bionmda" bench --backend cuda \
    --precision float32 --sizes 16777216 --no-reference --min-time 0.05 --variants \
    --json "$OUT/bench-gpu-variants.json"
elif [ "$bench" = 1 ]; then
  cli="$BUILD/src/cli/bionmda"
  peer_sizes="65536 262144 1048576 4194304 16777216"
  step bench-gpu-dense bench-gpu-dense.txt "$cli" bench --backend cuda --input dense --no-reference \
    --min-time 0.05 --variants --json "$OUT/bench-gpu-dense.json"
  step bench-gpu-poisson bench-gpu-poisson.txt "$cli" bench --backend cuda --input poisson --no-reference \
    --min-time 0.05 --precision float32 --sizes $peer_sizes --json "$OUT/bench-gpu-poisson.json"
  step bench-gpu-presynaptic bench-gpu-presynaptic.txt "$cli" bench --backend cuda --input presynaptic \
    --no-reference --min-time 0.05 --json "$OUT/bench-gpu-presynaptic.json"
  # Windows of K steps (issue 11): every input kind at 2^26 (state far past
  # L2), per step vs K = 32, against the compute ceiling (K = 4096, no input);
  # float64 dense; small populations (2^16) per step, CUDA graph and window.
  step bench-gpu-windows bench-gpu-windows.txt "$cli" bench --backend cuda --precision float32 \
    --sizes 67108864 --input dense bits presynaptic events poisson --window 1 32 --ceiling 4096 \
    --no-reference --min-time 0.05 --repeats 3 --json "$LOGS/bench-gpu-windows.json"
  step bench-gpu-windows-f64 bench-gpu-windows-f64.txt "$cli" bench --backend cuda --precision float64 \
    --sizes 67108864 --input dense --window 1 32 --ceiling 1024 --no-reference --min-time 0.05 --repeats 3 \
    --json "$LOGS/bench-gpu-windows-f64.json"
  step bench-gpu-windows-small bench-gpu-windows-small.txt "$cli" bench --backend cuda --precision float32 \
    --sizes 65536 --input dense --window 1 32 --variants --no-reference --min-time 0.05 --repeats 3 \
    --json "$LOGS/bench-gpu-windows-small.json"
  # The peer on the same card: brainpy.state.BioNMDA on JAX-GPU, from wheels
  # carried in .whl/ (bench/README.md says how to fetch them).
  if ls .whl/*.whl >/dev/null 2>&1; then
    step brainpy-install brainpy-install.log python3 -m pip install -q --no-index --no-deps --no-compile \
      --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    step bench-brainpy-gpu bench-brainpy-gpu.txt env PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 python3 \
      bench/brainpy_bench.py --precision float32 --sizes $peer_sizes --json "$OUT/brainpy-gpu.json"
    step bench-brainpy-gpu-window bench-brainpy-gpu-window.txt env PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 \
      python3 bench/brainpy_bench.py --precision float32 --sizes 16777216 --window 32 \
      --json "$LOGS/brainpy-gpu-window.json"
  else
    [ "$dry_run" = 1 ] && echo "skip bench-brainpy-gpu: no wheels in .whl/"
    summary+=("$(printf '%-28s %-6s %s' bench-brainpy-gpu SKIPPED 'no wheels in .whl/')")
  fi
  step demo-gpu demo-gpu.txt "$BUILD/examples/bionmda_demo" --backend cuda --steps 2000
fi

finish
