#!/usr/bin/env bash
# The README's two one-line commands on a clean clone, in the README's order
# (scripts/run-bench.sh, then scripts/run-tests.sh), then CI's .ci/run, without
# building anything: cmake, ctest and the compilers are stand-ins placed first
# on PATH that record their arguments. The cmake stand-in keeps a cache per
# build folder the way CMake does (an option keeps its last value until set
# again); the ctest stand-in finds no test in a folder configured with
# BIONMDA_BUILD_TESTS=OFF and then behaves as ctest does (exit 0 unless
# --no-tests=error). Checks:
#   - the main job and the tests configure different build folders;
#   - the test command sets every option it relies on on its command line, so
#     that the cache of whatever ran before changes nothing (also checked by
#     running it again over a cache of hostile values), and builds all targets;
#   - every ctest runs with --no-tests=error, in the folder its script built;
#   - in .ci/run every configuration is configured and built once, each in its
#     own folder; the sanitizer builds are CPU-only; the clang build uses clang
#     with the UBSan checks docs/reliability.md lists; the Python tests run once,
#     CPU-only (scripts/run-python-tests.sh is a recording stand-in here).
# Usage: readme_commands.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# --- stand-ins ---------------------------------------------------------------
mkdir -p "$work/bin"
cat >"$work/bin/cmake" <<'STUB'
#!/usr/bin/env bash
# cmake stand-in: records "configure DIR ARGS" / "build DIR ARGS" in $STUB_LOG.
set -euo pipefail
log=${STUB_LOG:?}
if [ "${1:-}" = "--build" ]; then
  dir=$2; shift 2
  [ -f "$dir/stub-cache" ] || { echo "cmake stand-in: $dir is not configured" >&2; exit 1; }
  printf 'build %s' "$dir" >>"$log"; printf ' %q' "$@" >>"$log"; echo >>"$log"
  # The effective options at build time: the cache's last value of each.
  { echo "== build $dir"; awk -F= '{ v[$1] = $0 } END { for (k in v) print v[k] }' "$dir/stub-cache" | sort; } >>"$log.caches"
  # What the scripts run after building.
  mkdir -p "$dir/src/cli" "$dir/examples"
  for exe in src/cli/bionmda examples/bionmda_demo; do
    printf '#!/bin/sh\necho "run %s $*" >>"%s"\n' "$dir/$exe" "$log" >"$dir/$exe"
    chmod +x "$dir/$exe"
  done
  exit 0
fi
dir= ; args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    -B) dir=$2; shift ;;
    -B*) dir=${1#-B} ;;
  esac
  shift
done
[ -n "$dir" ] || exit 0  # cmake --version, -E, ...: nothing to record
mkdir -p "$dir"
touch "$dir/stub-cache"
printf 'configure %s' "$dir" >>"$log"; printf ' %q' "${args[@]}" >>"$log"; echo >>"$log"
for a in "${args[@]}"; do
  case "$a" in
    -D*=*) kv=${a#-D}; echo "${kv%%=*}=${kv#*=}" | sed 's/^\([A-Za-z0-9_]*\):[A-Z]*=/\1=/' >>"$dir/stub-cache" ;;
  esac
done
# The compilers come from the environment on a folder's first configure.
for v in CC CXX; do
  if [ -n "${!v:-}" ] && ! grep -q "^ENV_$v=" "$dir/stub-cache"; then echo "ENV_$v=${!v}" >>"$dir/stub-cache"; fi
done
STUB
cat >"$work/bin/ctest" <<'STUB'
#!/usr/bin/env bash
# ctest stand-in: records "ctest ARGS"; "no tests" where BIONMDA_BUILD_TESTS=OFF.
set -euo pipefail
log=${STUB_LOG:?}
printf 'ctest' >>"$log"; printf ' %q' "$@" >>"$log"; echo >>"$log"
dir=. ; no_tests_error=0
while [ $# -gt 0 ]; do
  case "$1" in
    --test-dir) dir=$2; shift ;;
    --no-tests=error) no_tests_error=1 ;;
  esac
  shift
done
tests=$(awk -F= '$1 == "BIONMDA_BUILD_TESTS" { v = $2 } END { print v == "" ? "ON" : v }' "$dir/stub-cache" 2>/dev/null || echo none)
if [ "$tests" != "ON" ]; then
  echo "No tests were found!!!"
  [ "$no_tests_error" = 1 ] && exit 8
fi
exit 0
STUB
for c in clang clang++; do printf '#!/bin/sh\nexit 0\n' >"$work/bin/$c"; done
chmod +x "$work/bin"/*

# A clean clone: the scripts as they are in SOURCE_DIR; installing packages is
# not this test's business.
new_clone() {
  local c=$1
  mkdir -p "$c/scripts" "$c/.ci"
  cp "$src"/scripts/*.sh "$c/scripts/"
  cp "$src/.ci/run" "$c/.ci/run"
  printf '#!/bin/sh\nexit 0\n' >"$c/scripts/install-deps.sh"
  # The Python tests build in a virtual environment of their own (pip, the
  # package index): a stand-in that records how it was called.
  printf '#!/bin/sh\necho "python-tests CMAKE_ARGS=$CMAKE_ARGS $*" >>"$STUB_LOG"\n' >"$c/scripts/run-python-tests.sh"
  chmod +x "$c/scripts"/*.sh "$c/.ci/run"
}
run_in() {  # run_in CLONE LOG COMMAND...: runs with the stand-ins first on PATH
  local c=$1 log=$2; shift 2
  (cd "$c" && env -u CC -u CXX PATH="$work/bin:$PATH" STUB_LOG="$log" "$@") >"$log.out" 2>&1
}
# The effective value of OPTION at the last build of DIR (empty when unset).
effective() { awk -v d="== build $2" -v k="$3" '
  $0 ~ /^== build / { on = ($0 == d) ; if (on) val = ""; next }
  on { split($0, kv, "="); if (kv[1] == k) val = substr($0, length(k) + 2) }
  END { print val }' "$1.caches"; }
configured_dirs() { awk -v s="$2" '$1 == s { print $2 }' "$1" | sort -u; }
count() { grep -c -- "$2" "$1" || true; }

# --- 1. the README's order: main job, then the tests --------------------------
c1=$work/clone1
new_clone "$c1"
log1=$work/readme.log
run_in "$c1" "$log1" scripts/run-bench.sh --sizes 1000 || fail "scripts/run-bench.sh failed: $(cat "$log1.out")"
bench_dirs=$(configured_dirs "$log1" configure)
[ "$(echo "$bench_dirs" | wc -w)" = 1 ] || fail "run-bench.sh configures one build folder, got: $bench_dirs"
grep -q "^run $bench_dirs/src/cli/bionmda bench --sizes 1000" "$log1" ||
  fail "run-bench.sh runs '$bench_dirs/src/cli/bionmda bench' with the extra arguments"
: >"$log1.tests"
run_in "$c1" "$log1.tests" scripts/run-tests.sh || fail "scripts/run-tests.sh failed after run-bench.sh: $(cat "$log1.tests.out")"
test_dirs=$(configured_dirs "$log1.tests" configure)
[ "$(echo "$test_dirs" | wc -w)" = 1 ] || fail "run-tests.sh configures one build folder, got: $test_dirs"
[ "$test_dirs" != "$bench_dirs" ] || fail "run-bench.sh and run-tests.sh share the build folder $test_dirs"
configure_line=$(grep "^configure $test_dirs " "$log1.tests" || true)
for opt in CMAKE_BUILD_TYPE=Release BIONMDA_BUILD_TESTS=ON BIONMDA_BUILD_TOOLS=ON BIONMDA_BUILD_EXAMPLES=ON \
           BIONMDA_ENABLE_CUDA=AUTO BIONMDA_SANITIZE= BIONMDA_BUILD_FUZZERS=OFF BIONMDA_CPU_ISA_MAX=avx512; do
  # On its own command line: a value from an earlier configure must not count.
  case " $configure_line " in
    *" -D$opt "*|*" -D${opt%%=*}:BOOL=${opt#*=} "*|*" -D${opt%%=*}:STRING=${opt#*=} "*) ;;
    *) fail "run-tests.sh does not set -D$opt: $configure_line" ;;
  esac
  [ "$(effective "$log1.tests" "$test_dirs" "${opt%%=*}")" = "${opt#*=}" ] ||
    fail "$test_dirs is built with ${opt%%=*}=$(effective "$log1.tests" "$test_dirs" "${opt%%=*}"), not ${opt#*=}"
done
grep -q "^build $test_dirs .*--target" "$log1.tests" && fail "run-tests.sh builds only some targets of $test_dirs"
[ "$(count "$log1.tests" "^build $test_dirs ")" = 1 ] || fail "run-tests.sh builds $test_dirs once"
ctest_line=$(grep "^ctest" "$log1.tests" || true)
case " $ctest_line " in *" --no-tests=error "*) ;; *) fail "run-tests.sh runs ctest without --no-tests=error: $ctest_line" ;; esac
case " $ctest_line " in *" --test-dir $test_dirs "*) ;; *) fail "run-tests.sh runs ctest outside $test_dirs: $ctest_line" ;; esac
grep -q "No tests were found" "$log1.tests.out" && fail "run-tests.sh after run-bench.sh found no test"
[ "$(effective "$log1" "$bench_dirs" BIONMDA_BUILD_TOOLS)" != OFF ] || fail "run-bench.sh builds without the tool"

# --- 2. the test command over a hostile cache ---------------------------------
printf '%s\n' BIONMDA_BUILD_TESTS=OFF BIONMDA_BUILD_TOOLS=OFF BIONMDA_BUILD_EXAMPLES=OFF CMAKE_BUILD_TYPE=Debug \
  BIONMDA_SANITIZE=address BIONMDA_BUILD_FUZZERS=ON BIONMDA_ENABLE_CUDA=OFF >>"$c1/$test_dirs/stub-cache"
log2=$work/hostile.log
run_in "$c1" "$log2" scripts/run-tests.sh || fail "scripts/run-tests.sh failed over a hostile cache: $(cat "$log2.out")"
for opt in CMAKE_BUILD_TYPE=Release BIONMDA_BUILD_TESTS=ON BIONMDA_BUILD_TOOLS=ON BIONMDA_BUILD_EXAMPLES=ON \
           BIONMDA_ENABLE_CUDA=AUTO BIONMDA_SANITIZE= BIONMDA_BUILD_FUZZERS=OFF; do
  [ "$(effective "$log2" "$test_dirs" "${opt%%=*}")" = "${opt#*=}" ] ||
    fail "over a hostile cache, $test_dirs is built with ${opt%%=*}=$(effective "$log2" "$test_dirs" "${opt%%=*}")"
done
# ... and the main job, run again, still leaves the tests' folder alone.
log3=$work/bench-again.log
run_in "$c1" "$log3" scripts/run-bench.sh || fail "scripts/run-bench.sh failed the second time"
grep -q " $test_dirs " "$log3" && fail "run-bench.sh touches the tests' folder $test_dirs"
# ... nor does the demo.
log3d=$work/demo.log
run_in "$c1" "$log3d" scripts/run-demo.sh || fail "scripts/run-demo.sh failed"
grep -q " $test_dirs " "$log3d" && fail "run-demo.sh touches the tests' folder $test_dirs"

# --- 3. CI: .ci/run on a clean clone ------------------------------------------
c2=$work/clone2
new_clone "$c2"
log4=$work/ci.log
run_in "$c2" "$log4" .ci/run || fail ".ci/run failed: $(cat "$log4.out")"
ci_dirs=$(configured_dirs "$log4" configure)
[ "$(echo "$ci_dirs" | wc -w)" -ge 3 ] || fail ".ci/run configures at least 3 folders (tests, GCC ASan, clang UBSan), got: $(echo $ci_dirs)"
for d in $ci_dirs; do
  [ "$(count "$log4" "^configure $d ")" = 1 ] || fail ".ci/run configures $d $(count "$log4" "^configure $d ") times"
  [ "$(count "$log4" "^build $d ")" = 1 ] || fail ".ci/run builds $d $(count "$log4" "^build $d ") times"
  grep -q "^build $d .*--target" "$log4" && fail ".ci/run builds only some targets of $d"
  grep -q "^ctest.* --test-dir $d " "$log4" || grep -q "^ctest.* --test-dir $d\$" "$log4" || fail ".ci/run runs no ctest in $d"
  [ "$(effective "$log4" "$d" BIONMDA_BUILD_TESTS)" = ON ] || fail ".ci/run builds $d without BIONMDA_BUILD_TESTS=ON"
done
while read -r line; do
  case " $line " in *" --no-tests=error "*) ;; *) fail ".ci/run runs ctest without --no-tests=error: $line" ;; esac
done < <(grep "^ctest" "$log4")
asan= ; clang_dir=
for d in $ci_dirs; do
  san=$(effective "$log4" "$d" BIONMDA_SANITIZE)
  [ -n "$san" ] || continue
  [ "$(effective "$log4" "$d" BIONMDA_ENABLE_CUDA)" = OFF ] || fail "the sanitizer build $d is not CPU-only"
  case "$(effective "$log4" "$d" CMAKE_CXX_COMPILER)$(effective "$log4" "$d" ENV_CXX)" in
    *clang++*) clang_dir=$d ;;
    *) [ "$san" = address,undefined ] && asan=$d ;;
  esac
done
[ -n "$asan" ] || fail ".ci/run has no GCC ASan+UBSan build"
if [ -z "$clang_dir" ]; then
  fail ".ci/run has no clang UBSan build"
else
  san=",$(effective "$log4" "$clang_dir" BIONMDA_SANITIZE),"
  for check in undefined float-cast-overflow signed-integer-overflow nullability; do
    case "$san" in *",$check,"*) ;; *) fail "the clang build $clang_dir lacks -fsanitize=$check ($san)" ;; esac
  done
  # Each check the script turns on is the one docs/reliability.md documents.
  for check in ${san//,/ }; do
    grep -q -- "\`$check\`" "$src/docs/reliability.md" || fail "docs/reliability.md does not document the clang check $check"
  done
fi
grep -q -- "-fno-sanitize-recover=all" "$src/CMakeLists.txt" || fail "BIONMDA_SANITIZE builds recover from reports"
# The Python package's tests, once, CPU-only (the extension's CUDA build takes
# minutes that CI does not have; the C++ build above covers the CUDA code).
[ "$(count "$log4" "^python-tests ")" = 1 ] || fail ".ci/run runs the Python tests $(count "$log4" "^python-tests ") times"
grep -q "^python-tests .*-DBIONMDA_ENABLE_CUDA=OFF" "$log4" || fail ".ci/run's Python tests are not CPU-only"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed; logs:" >&2
  for f in "$work"/*.log; do echo "== $f" >&2; cat "$f" >&2; done
  exit 1
fi
echo "readme commands: main job in $bench_dirs, tests in $test_dirs; CI folders: $(echo $ci_dirs)"
