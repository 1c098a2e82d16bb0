#!/usr/bin/env python3
"""Time the peer: the real ``brainpy.state.BioNMDA`` on whatever JAX device is present.

Runs a JIT-compiled loop over steps (``brainstate.transform.for_loop``) with
independent Poisson input at the same rate as ``bionmda bench --input
poisson`` (spikes drawn inside the compiled loop with ``jax.random``), for
the same sizes, and prints unit-steps per second in the same table format.
No state leaves the device during the timed loop; each repeat ends with
``block_until_ready``; the median of repeats is reported.

    python bench/brainpy_bench.py --sizes 65536 1048576 --precision float32
    python bench/brainpy_bench.py --sizes 8388608 --window 1 32 256

With ``--window K ...`` each row times BrainPy's own ``jit`` of a scan
(``for_loop``) over K steps, called again and again for about ``--steps``
steps per repeat (at least one call): the peer of ``bionmda bench --window
K``, one dispatch per K steps on each side. Without it, one call runs all
``--steps`` steps (K = --steps).

Without JAX or BrainPy installed it says so on stderr and exits with code 3
(nothing is measured).

`python -m bionmda.bench` (the Python package) runs BrainPy and bionmda side by
side on the same NumPy masks; this script stays standalone for machines
without the package (scripts/device-check.sh). Compare side by side, in the
same session on the same machine, with
``bionmda bench --backend cpu --input poisson --sizes ...`` (or on the GPU
with ``--backend cuda``). On the GPU machine, install the wheels carried in
``.whl/`` first (see bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[2**16, 2**18, 2**20, 2**22])
    ap.add_argument("--precision", choices=["float32", "float64"], default="float32")
    ap.add_argument("--rate", type=float, default=20.0, help="Poisson input [Hz]")
    ap.add_argument("--dt", type=float, default=0.1, help="time step [ms]")
    ap.add_argument("--steps", type=int, default=200, help="steps per timed repeat")
    ap.add_argument("--window", type=int, nargs="+", metavar="K",
                    help="steps per jit call (a scan of K steps), each >= 1 (default: --steps)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error(f"--steps: must be >= 1, got {args.steps}")
    if args.repeats < 1:
        ap.error(f"--repeats: must be >= 1, got {args.repeats}")
    for k in args.window or []:
        if k < 1:
            ap.error(f"--window: must be >= 1, got {k}")
    windows = args.window or [args.steps]

    try:
        import jax
        import jax.numpy as jnp

        if args.precision == "float64":
            jax.config.update("jax_enable_x64", True)
        import brainpy
        import brainstate
        import brainunit as u
    except ImportError as e:
        print(f"brainpy_bench.py: cannot run the peer benchmark: {e} (it needs jax, brainpy, brainstate "
              "and brainunit; see bench/README.md for the wheels); nothing measured", file=sys.stderr)
        return 3

    if args.precision == "float64":
        brainstate.environ.set(precision=64)
    device = jax.devices()[0]
    versions = {}
    for pkg in ("brainpy", "brainstate", "jax", "jaxlib"):
        try:
            from importlib import metadata
            versions[pkg] = metadata.version(pkg)
        except Exception:  # noqa: BLE001 - best effort
            versions[pkg] = "?"
    print(f"# brainpy.state.BioNMDA benchmark on {device.platform}:{device.device_kind}; "
          f"{' '.join(f'{k} {v}' for k, v in versions.items())}")
    print(f"# input poisson at {args.rate:.1f} Hz, dt {args.dt} ms, about {args.steps} steps per repeat, "
          f"median of {args.repeats}; K = steps per jit call (a scan over K steps)")
    print(f"{'prec':<8} {'N':>10} {'B':>9} {'K':>6} {'us/step':>12} {'unit-steps/s':>14}")
    p = args.rate * args.dt / 1000.0
    dt_q = args.dt * u.ms
    real = jnp.float64 if args.precision == "float64" else jnp.float32
    results = []
    for nd in args.sizes:
        n = int(nd)
        for k in windows:
            syn = brainpy.state.BioNMDA(n)
            syn.init_state()
            key = brainstate.random.RandomState(0)

            def step(t_ms):
                with brainstate.environ.context(t=t_ms * u.ms, dt=dt_q):
                    spikes = key.random(n) < p
                    syn.update(spikes)

            @brainstate.transform.jit
            def run(ts_):
                brainstate.transform.for_loop(step, ts_)
                return syn.g.value

            calls = max(1, args.steps // k)
            # The times of every call, made before the clock starts.
            ts = [(jnp.arange(k, dtype=real) + c * k) * args.dt for c in range(calls * (args.repeats + 1))]
            jax.block_until_ready(run(ts[0]))  # compile and warm up
            times = []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                out = None
                for c in range(calls):
                    out = run(ts[(r + 1) * calls + c])
                jax.block_until_ready(out)
                times.append((time.perf_counter() - t0) / (calls * k))
            sec = statistics.median(times)
            print(f"{args.precision:<8} {n:>10} {1:>9} {k:>6} {sec * 1e6:>12.2f} {n / sec:>14.4g}", flush=True)
            results.append({"N": n, "window": k, "seconds_per_step": sec, "unit_steps_per_s": n / sec})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": f"{device.platform}:{device.device_kind}", "versions": versions,
                       "precision": args.precision, "rate_hz": args.rate, "dt": args.dt,
                       "command": " ".join(sys.argv), "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
