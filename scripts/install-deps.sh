#!/usr/bin/env bash
# Installs the Debian packages bionmda's build, tests and tools need, if missing
# (Open MPI for bionmda::mpi and the distributed network example).
# Arguments name more packages to install if missing (e.g. clang libomp-dev).
# The CUDA toolkit is optional: without nvcc the CPU-only library is built.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in cmake g++ make libgtest-dev libcli11-dev nlohmann-json3-dev libxxhash-dev libopenmpi-dev openmpi-bin "$@"; do
  have_pkg "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${need[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${need[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
