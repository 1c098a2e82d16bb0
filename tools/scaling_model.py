#!/usr/bin/env python3
"""A model of bionmda's distributed network on many GPUs: time per window
split into compute (from bionmda's measured GPU throughputs) and spike
exchange (from published interconnect figures), and the weak-scaling
efficiency that follows. docs/scaling.md explains every number; this script
prints its tables.

    tools/scaling_model.py            # the tables of docs/scaling.md (Markdown)
    tools/scaling_model.py --json     # every row as JSON

Weak scaling: every GPU keeps the same share of synapses (S_gpu) and of
neurons (S_gpu / in-degree); the network grows with the number of GPUs P.
Efficiency E(P) = T_compute(1) / T_window(P), the time of one GPU's window
with no exchange over the time of a window on P GPUs.
"""
from __future__ import annotations

import argparse
import json
import math

# --- bionmda on one GPU (bench/RESULTS.md, H200, float32, K = 32 windows) -------
# The kernels are compute-bound or L2-bound at these sizes: an H100 (same SMs
# and clocks) gives the same rates within a few percent.
PER_SYNAPSE_WINDOW = 2.62e7 / 216.79e-6   # synapse-steps/s: per-synapse g_post window, rows in registers
PER_PRE_SUM_WINDOW = 2.62e7 / 58.50e-6    # synapse-steps/s: per-presynaptic sums by lanes
UNIT_WINDOW = 2.76e11                     # unit-steps/s: the units' update in a window (dense input)
NEURON_UPDATE = 2.0e11                    # neuron-steps/s of a simple LIF update on the GPU (assumed; any
                                          # value above 1e10 changes no efficiency below by more than 0.1%)

# --- the interconnect (published figures, per GPU) ------------------------------
LATENCY_S = 3.0e-6        # one MPI message step between nodes (InfiniBand NDR: 1-2 us wire; 3 us with software)
MESSAGE_GAP_S = 0.5e-6    # per extra message in flight at once (injection overhead of a non-blocking send)
BANDWIDTH_BPS = 50.0e9    # bytes/s per GPU: one 400 Gb/s NDR port per GPU
PCIE_STAGING_S = 10.0e-6  # spikes through pinned host memory and back (two small copies + launch)
JITTER = 0.02             # the slowest GPU's window over the mean (load imbalance, clocks): 2% assumed

# --- the network (the target and cortical figures) ----------------------
DT_MS = 0.1
RATE_HZ = 5.0
IN_DEGREE = 1.0e4         # synapses per neuron (cortex: 1e3-1e4)
SPIKE_BYTES = 8           # one spike word (bionmda/network/spikes.hpp)


def window(P: int, s_gpu: float, delay_ms: float, mode: str, exchange: str) -> dict:
    K = round(delay_ms / DT_MS)                     # steps per window (K = D: no overlap)
    n_gpu = s_gpu / IN_DEGREE                       # neurons per GPU
    N = n_gpu * P                                   # neurons in the network
    # Compute of one window on one GPU.
    if mode == "per-synapse":
        synapses = s_gpu * K / PER_SYNAPSE_WINDOW
        units = 0.0
    else:
        # One unit per presynaptic neuron that reaches this GPU: of N neurons,
        # those with at least one of the s_gpu synapses.
        sources = N * (1.0 - math.exp(-s_gpu / N))
        synapses = s_gpu * K / PER_PRE_SUM_WINDOW
        units = sources * K / UNIT_WINDOW
    neurons = n_gpu * K / NEURON_UPDATE
    compute = synapses + units + neurons
    # Spikes of one window: every GPU's neurons fire at RATE_HZ.
    spikes_gpu = n_gpu * RATE_HZ * delay_ms / 1000.0
    if exchange == "allgather":
        # Counts (one word per rank) then the words: recursive doubling / Bruck,
        # log2 P message steps each, every spike of the network received once.
        steps = math.ceil(math.log2(P)) if P > 1 else 0
        received = spikes_gpu * (P - 1) * SPIKE_BYTES + (P - 1) * 8
        x = 2 * steps * LATENCY_S + received / BANDWIDTH_BPS
    else:
        # Point to point: a GPU sends to the GPUs holding a target of its
        # neurons; with IN_DEGREE inputs spread over P GPUs each neuron reaches
        # min(P, IN_DEGREE) of them. Counts to all (alltoall), data to partners.
        # The messages go out at once (MPI_Ialltoallv): one latency plus a
        # gap per message, after the counts' log2 P steps.
        partners = min(P - 1, IN_DEGREE)
        received = spikes_gpu * partners * SPIKE_BYTES + (P - 1) * 8
        steps = math.ceil(math.log2(P)) if P > 1 else 0
        x = (steps + 1) * LATENCY_S + partners * MESSAGE_GAP_S + received / BANDWIDTH_BPS if P > 1 else 0.0
    x = x + PCIE_STAGING_S if P > 1 else 0.0
    imbalance = JITTER * compute if P > 1 else 0.0
    total = compute + x + imbalance
    return {
        "gpus": P, "synapses_per_gpu": s_gpu, "network_synapses": s_gpu * P, "neurons": N,
        "delay_ms": delay_ms, "window_steps": K, "mode": mode, "exchange": exchange,
        "compute_ms": compute * 1e3, "exchange_ms": x * 1e3, "imbalance_ms": imbalance * 1e3,
        "bytes_received": received if P > 1 else 0.0, "spikes_per_gpu": spikes_gpu,
        "compute_share": (compute / total) if total > 0 else 1.0,
        "realtime_factor": total / (delay_ms / 1000.0),
    }


def weak(mode: str, delay: float, P: int, exchange: str, s_gpu: float = 1.25e9) -> dict:
    """A row of weak scaling: E = T_compute on one GPU / T_window on P GPUs."""
    r = window(P, s_gpu, delay, mode, exchange)
    one = window(1, s_gpu, delay, mode, "allgather")
    r["efficiency"] = one["compute_ms"] / (r["compute_ms"] + r["exchange_ms"] + r["imbalance_ms"])
    return r


def strong(mode: str, delay: float, P: int, exchange: str, total: float = 1e10, base: int = 8) -> dict:
    """A row of strong scaling of one network: E = (T(base) * base) / (T(P) * P)."""
    r = window(P, total / P, delay, mode, exchange)
    b = window(base, total / base, delay, mode, exchange)
    t = lambda q: q["compute_ms"] + q["exchange_ms"] + q["imbalance_ms"]  # noqa: E731
    r["efficiency"] = t(b) * base / (t(r) * P)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="every row as a JSON line")
    args = ap.parse_args()
    weak_rows = [weak(m, d, P, x) for m in ("per-synapse", "per-presynaptic") for d in (0.1, 0.5, 1.0, 1.5)
                 for P in (8, 64, 1024) for x in ("allgather", "point-to-point")]
    strong_rows = [strong(m, d, P, x) for m in ("per-synapse", "per-presynaptic") for d in (0.1, 1.0)
                   for P in (8, 64, 1024) for x in ("allgather", "point-to-point")]
    if args.json:
        for r in weak_rows:
            print(json.dumps({"scaling": "weak", **r}))
        for r in strong_rows:
            print(json.dumps({"scaling": "strong", **r}))
        return

    def table(rows: list[dict], title: str) -> None:
        print(f"**{title}**\n")
        print("| mode | min delay ms | GPUs | network synapses | compute ms/window | exchange ms (all-gather) | "
              "E (all-gather) | exchange ms (point to point) | E (point to point) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if r["exchange"] != "allgather":
                continue
            q = next(q for q in rows if q["exchange"] == "point-to-point" and q["gpus"] == r["gpus"]
                     and q["mode"] == r["mode"] and q["delay_ms"] == r["delay_ms"])
            print(f"| {r['mode']} | {r['delay_ms']} | {r['gpus']} | {r['network_synapses']:.2g} | "
                  f"{r['compute_ms']:.3g} | {r['exchange_ms']:.3f} | {100 * r['efficiency']:.1f}% | "
                  f"{q['exchange_ms']:.3f} | {100 * q['efficiency']:.1f}% |")
        print()

    table(weak_rows, "Weak scaling: 1.25e9 synapses and 1.25e5 neurons per GPU (the 1e10-synapse network on 8 GPUs)")
    table(strong_rows, "Strong scaling of the 1e10-synapse network (efficiency against 8 GPUs)")


if __name__ == "__main__":
    main()
