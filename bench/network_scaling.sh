#!/usr/bin/env bash
# The distributed network's time per window, split into compute (synapses and
# neurons) and exchange (spike exchange, including waiting for the slowest
# rank), and the bytes exchanged per window: examples/network at R = 1 and 2
# ranks, 10^4 to 10^5 neurons (fixed in-degree 100), both exchanges, windows
# of the min delay (1 ms) and of half of it (overlapped exchange). One JSON
# line per run (the example's --json plus the settings), for docs/scaling.md.
#
# Usage: bench/network_scaling.sh [build-dir] [duration-ms]   (default build, 200)
set -euo pipefail
build="${1:-build}"
duration="${2:-200}"
net="$build/examples/bionmda_network"
[[ -x "$net" ]] || { echo "network_scaling: $net not built" >&2; exit 1; }
launch=(mpiexec)
if mpiexec --version 2>&1 | grep -Eq "Open MPI|OpenRTE"; then
  launch+=(--oversubscribe)
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
for neurons in 10000 30000 100000; do
  for ranks in 1 2; do
    for exchange in allgather point-to-point; do
      for window in 1 0.5; do
        [[ $ranks == 1 && $exchange == point-to-point ]] && continue
        args=(--backend cpu --neurons "$neurons" --in-degree 100 --duration "$duration" --raster '' --json
              --exchange "$exchange" --window "$window")
        if [[ $ranks == 1 ]]; then
          out=$("$net" "${args[@]}")
        else
          out=$("${launch[@]}" -n "$ranks" "$net" "${args[@]}")
        fi
        echo "$out"
      done
    done
  done
done
