#!/usr/bin/env bash
# scripts/device-check.sh without a GPU and without building: every option it
# accepts, checked through --dry-run (the steps each selection would run).
# Usage: tests/device_check_arguments.sh [path/to/device-check.sh]
set -uo pipefail
script=${1:-"$(dirname "$0")/../scripts/device-check.sh"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OUT="$tmp/out" BIONMDA_DEVICE_BUILD="$tmp/build"
unset BIONMDA_CUDA_ARCH
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run ARGS...: the script's stdout in $tmp/stdout, stderr in $tmp/stderr, exit status in $rc
run() { bash "$script" "$@" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$?; }
steps() { sed -n 's/^step \([^:]*\):.*/\1/p' "$tmp/stdout" | tr '\n' ' ' | sed 's/ $//'; }
# expect ARGS -- HAS... -- LACKS...: a dry run that exits 0, runs the steps HAS and none of LACKS
expect() {
  local args=() has=() lacks=() part=0 s
  for s in "$@"; do
    if [ "$s" = "--" ]; then part=$((part + 1)); continue; fi
    case $part in 0) args+=("$s") ;; 1) has+=("$s") ;; *) lacks+=("$s") ;; esac
  done
  run --dry-run "${args[@]}"
  local label="--dry-run ${args[*]}"
  [ "$rc" -eq 0 ] || fail "$label: exit $rc ($(cat "$tmp/stderr"))"
  local got
  got=" $(steps) "
  for s in "${has[@]}"; do [[ "$got" == *" $s "* ]] || fail "$label: no step $s (steps:$got)"; done
  for s in "${lacks[@]}"; do [[ "$got" != *" $s "* ]] || fail "$label: runs step $s (steps:$got)"; done
  if [ -e "$OUT" ] || [ -e "$BIONMDA_DEVICE_BUILD" ]; then fail "$label: wrote \$OUT or the build folder"; fi
}

for help in --help -h; do
  run "$help"
  [ "$rc" -eq 0 ] || fail "$help: exit $rc"
  grep -q '^Usage: scripts/device-check.sh' "$tmp/stdout" || fail "$help: no Usage line"
  for opt in --no-bench --build-only --quick --dry-run; do
    grep -q -- "^  $opt:" "$tmp/stdout" || fail "$help: $opt not described"
  done
done

for args in "--bogus" "--dry-run --bogus" "--quick -x" "build-only"; do
  # shellcheck disable=SC2086
  run $args
  [ "$rc" -eq 2 ] || fail "$args: exit $rc, not 2"
  grep -q "unknown argument" "$tmp/stderr" || fail "$args: no 'unknown argument' message"
  [ ! -s "$tmp/stdout" ] || fail "$args: printed steps or help"
done

all_tests="tests-gpu tests-cpu sanitizer-memcheck sanitizer-memcheck-post sanitizer-racecheck
  sanitizer-racecheck-post sanitizer-initcheck sanitizer-synccheck sanitizer-memcheck-window
  sanitizer-memcheck-window-post sanitizer-racecheck-window sanitizer-racecheck-window-post
  sanitizer-memcheck-post-plain sanitizer-racecheck-post-plain"
# shellcheck disable=SC2086
{
expect -- configure build $all_tests bench-gpu-dense bench-gpu-poisson bench-gpu-presynaptic demo-gpu \
  bench-gpu-windows bench-gpu-windows-f64 bench-gpu-windows-small bench-gpu-peer bench-gpu-variants python-gpu --
expect --no-bench -- configure build $all_tests -- bench-gpu-dense bench-gpu-variants demo-gpu
expect --quick -- configure build tests-gpu sanitizer-memcheck sanitizer-synccheck bench-gpu-variants \
  -- tests-cpu bench-gpu-dense demo-gpu bench-gpu-windows
expect --quick --no-bench -- configure build tests-gpu sanitizer-racecheck \
  -- tests-cpu bench-gpu-variants bench-gpu-dense demo-gpu
}
# --build-only: exactly configure then build, for sm_90 unless BIONMDA_CUDA_ARCH says otherwise.
for args in "--build-only" "--build-only --quick" "--no-bench --build-only"; do
  # shellcheck disable=SC2086
  expect $args -- configure build --
  [ "$(steps)" = "configure build" ] || fail "--dry-run $args: steps '$(steps)', not 'configure build'"
done
grep -q -- "^step configure: .*-DCMAKE_CUDA_ARCHITECTURES=90 " "$tmp/stdout" ||
  fail "--build-only does not configure for sm_90"
grep -q -- "^step build: cmake --build $BIONMDA_DEVICE_BUILD " "$tmp/stdout" ||
  fail "--build-only does not build in BIONMDA_DEVICE_BUILD"
BIONMDA_CUDA_ARCH=90a run --dry-run --build-only
grep -q -- "-DCMAKE_CUDA_ARCHITECTURES=90a " "$tmp/stdout" || fail "BIONMDA_CUDA_ARCH=90a not used"

if [ "$failures" -ne 0 ]; then
  echo "device-check arguments: $failures failures"
  exit 1
fi
echo "device-check arguments: ok"
