#!/usr/bin/env bash
# Builds the Python package (python/) in a virtual environment of its own and
# runs its tests: pip install ./python (scikit-build-core and nanobind come
# from the package index in pip's isolated build environment), then pytest.
#
# Usage: scripts/run-python-tests.sh [pytest arguments...]
# The environment lives in build-python/venv (BIONMDA_PYTHON_VENV overrides),
# recreated on every run. The interpreter: pyenv's newest 3.12 when pyenv has
# one (BrainPy, a later phase, needs >= 3.12), else python3.12, else python3
# (>= 3.10). CMAKE_ARGS passes extra CMake options to the build, e.g.
# -DBIONMDA_ENABLE_CUDA=OFF for a CPU-only extension; ccache is used when
# present; CMAKE_BUILD_PARALLEL_LEVEL sets the build's parallelism.
# BIONMDA_PYTHON_EXTRAS picks the package extras (default "test,bench"):
# "bench" brings BrainPy and JAX at the versions of the BrainPy fixtures
# (Python >= 3.12 only), so that python -m bionmda.bench's BrainPy test runs;
# it adds about a minute of download and install on a fresh venv (65 s
# measured on the 2-core developer VM). BIONMDA_PYTHON_EXTRAS=test leaves
# them out (that test is then skipped).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BIONMDA_PYTHON_VENV:-$root/build-python/venv}"
# The C++ build's own needs (cmake, g++, libxxhash-dev) and python3-venv.
"$root/scripts/install-deps.sh" python3-venv

python=""
if command -v pyenv >/dev/null 2>&1; then
  v="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12\.[0-9]+$' | sort -t. -k3,3n | tail -n1 || true)"
  if [[ -n "$v" ]]; then
    python="$(pyenv root)/versions/$v/bin/python3.12"
  fi
fi
if [[ -z "$python" ]] && command -v python3.12 >/dev/null 2>&1 && python3.12 -c '' 2>/dev/null; then
  python="$(command -v python3.12)"
fi
if [[ -z "$python" ]]; then
  python="$(command -v python3 || true)"
  if [[ -z "$python" ]] || ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "run-python-tests: needs python3.12, or python3 >= 3.10" >&2
    exit 1
  fi
fi
echo "run-python-tests: $("$python" --version) at $python"

if ! "$python" -m venv --clear "$venv" 2>/dev/null; then
  echo "run-python-tests: '$python -m venv' failed (on Debian: apt-get install python3-venv)" >&2
  exit 1
fi

if command -v ccache >/dev/null 2>&1 && [[ "${CMAKE_ARGS:-}" != *CMAKE_CXX_COMPILER_LAUNCHER* ]]; then
  export CMAKE_ARGS="${CMAKE_ARGS:-} -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi

extras="${BIONMDA_PYTHON_EXTRAS:-test,bench}"
if [[ ! "$extras" =~ ^[a-z]+(,[a-z]+)*$ ]]; then
  echo "run-python-tests: BIONMDA_PYTHON_EXTRAS must be extras separated by commas (e.g. test,bench), got '$extras'" >&2
  exit 1
fi
start=$(date +%s)
# A fixed CMake build folder, so that a second run only rebuilds what changed.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --config-settings=build-dir="$root/build-python/cmake" "$root/python[$extras]"
echo "run-python-tests: pip install ./python[$extras] took $(( $(date +%s) - start )) s"

"$venv/bin/python" -c 'import bionmda; print("run-python-tests: bionmda", bionmda.__version__, "CUDA compiled:", bionmda.cuda_compiled())'
cd "$root/python"
exec "$venv/bin/python" -m pytest -q tests "$@"
