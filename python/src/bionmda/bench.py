"""``python -m bionmda.bench``: BrainPy's own ``BioNMDA`` against bionmda, side by side.

Every implementation steps N synapses (batch 1) for ``--steps`` steps of
``--dt`` ms with the SAME Poisson input: ``--mask-period`` (P) spike masks,
each element spiking with probability ``rate * dt / 1000``, drawn once with
NumPy (``numpy.random.default_rng(--seed)``) before anything is timed and
cycled (step s reads mask s % P). Implementations (``--impl``):

``brainpy``
    ``brainpy.state.BioNMDA(N)`` in BrainPy's usual loop: one
    ``brainstate.transform.jit`` call per repeat runs
    ``brainstate.transform.for_loop`` over the step indices i, whose body
    makes ``t = i * dt`` and calls ``update(masks[i % P])``. The masks are a
    device array passed to the jitted function.
``bionmda.brainpy``
    bionmda's drop-in ``bionmda.brainpy.BioNMDA`` (the same constructor as
    BrainPy's) in exactly the same loop. Listed as not available, with the
    import error, while this installation has no ``bionmda.brainpy``.
``bionmda.jax``, ``bionmda.jax.window``
    the XLA FFI primitive in plain JAX: ``jax.jit`` of a ``lax.scan`` over
    ``bionmda.jax.step`` (one FFI call per step) or ``bionmda.jax.window``
    (one per ``--window`` K steps), the state donated; no brainstate. Its
    ``--overhead`` figure is a ``jax.jit`` of one ``bionmda.jax.step`` call:
    the FFI call overhead.
``bionmda.step``
    ``bionmda.Population(N)`` stepped from Python, one ``step(mask)`` call
    per step (the GIL is released inside; each call waits for its step).
``bionmda.window``
    ``bionmda.Population(N)``, one ``step_window(K, masks)`` call per
    ``--window`` K steps ([K][1][N] bytes, the same bits as K ``step`` calls).

Every repeat runs ``--steps`` steps of every implementation in turn (round
robin, so that a noisy machine slows them alike); the first two repeats of
each are a warm-up (brainstate's jit compiles on its first two calls) and are
not counted; the median of ``--repeats``
is reported as us/step and unit-steps/s, with the ratio of BrainPy's time to
the implementation's (above 1: faster than BrainPy).

``--overhead`` also times single 1-element steps, one call each: BrainPy's
``jit`` of one ``update`` (and the drop-in's, when present: its FFI call)
against ``Population.step`` (the C++ call through the binding).

BrainPy and JAX are optional: when a selected implementation needs them and
``jax``, ``brainpy``, ``brainstate`` or ``brainunit`` cannot be imported, the
bench says which import failed on stderr and exits with code 3, measuring
nothing. ``--impl bionmda.step bionmda.window`` runs without them (no ratio).

Examples::

    python -m bionmda.bench --sizes 65536 1048576 --steps 100
    python -m bionmda.bench --sizes 1024 --steps 20 --repeats 3 --json out.json --overhead

Exit codes: 0 measured, 2 invalid options, 3 a needed optional package is
missing.
"""

from __future__ import annotations

import argparse
from functools import partial
import importlib
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Callable, Optional

import numpy as np

EXIT_MISSING = 3

#: The packages the JAX implementations import, in this order.
JAX_PACKAGES = ("jax", "brainpy", "brainstate", "brainunit")


@dataclass
class Setup:
    """What every implementation runs: N units, the shared masks, the step counts."""

    n: int
    precision: str
    dt: float
    steps: int
    window: int
    masks: np.ndarray  # uint8 [P, N]
    backend: str


# A prepared implementation: run(first_step) runs setup.steps steps starting at
# step index first_step and returns when they are done.
Runner = Callable[[int], None]


class Implementation:
    """One entry of the comparison. Subclasses set name/description and
    define ``missing`` and ``prepare``."""

    name = ""
    description = ""
    needs_jax = False
    #: has prepare_single (a 1-element step per call) for --overhead
    single_step = True

    def missing(self) -> Optional[str]:
        """None when usable here, else why not (an import error's text)."""
        raise NotImplementedError

    def prepare(self, setup: Setup) -> Runner:
        raise NotImplementedError

    def prepare_single(self, dt: float, backend: str, precision: str) -> Callable[[], None]:
        """A call that runs ONE step of a 1-element instance and waits for it."""
        raise NotImplementedError


class JaxLoop(Implementation):
    """A BrainPy-style ``BioNMDA`` class (constructor ``cls(N)``) in BrainPy's
    usual jit + for_loop, t = i * dt made in the loop body."""

    needs_jax = True

    def __init__(self, name: str, module: str, attr: str, description: str):
        self.name, self.module, self.attr, self.description = name, module, attr, description

    def _class(self):
        return getattr(importlib.import_module(self.module), self.attr)

    def missing(self) -> Optional[str]:
        try:
            self._class()
        except (ImportError, AttributeError) as e:
            return f"{self.module}.{self.attr} cannot be imported here ({type(e).__name__}: {e})"
        return None

    def prepare(self, setup: Setup) -> Runner:
        import brainstate
        import brainunit as u
        import jax
        import jax.numpy as jnp

        syn = self._class()(setup.n)
        syn.init_state()
        dt_q = setup.dt * u.ms
        masks = jnp.asarray(setup.masks.astype(bool))
        period = setup.masks.shape[0]

        @brainstate.transform.jit
        def run(masks_, idx):
            def body(i):
                with brainstate.environ.context(t=i * dt_q, dt=dt_q):
                    syn.update(masks_[i % period])

            brainstate.transform.for_loop(body, idx)
            return syn.g.value

        steps = setup.steps

        def runner(first_step: int) -> None:
            idx = jnp.arange(first_step, first_step + steps)
            jax.block_until_ready(run(masks, idx))

        return runner

    def prepare_single(self, dt: float, backend: str, precision: str) -> Callable[[], None]:
        import brainstate
        import brainunit as u
        import jax
        import jax.numpy as jnp

        syn = self._class()(1)
        syn.init_state()
        dt_q = dt * u.ms

        @brainstate.transform.jit
        def one(i, spike):
            with brainstate.environ.context(t=i * dt_q, dt=dt_q):
                syn.update(spike)
            return syn.g.value

        i = jnp.asarray(0)
        spike = jnp.ones((1,), dtype=bool)
        return lambda: jax.block_until_ready(one(i, spike))


class PopulationStep(Implementation):
    """bionmda.Population, one step() call per step."""

    name = "bionmda.step"
    description = "bionmda.Population.step(mask), one call per step"

    def missing(self) -> Optional[str]:
        return None  # the package itself

    @staticmethod
    def population(n: int, setup_dt: float, precision: str, backend: str):
        import bionmda

        return bionmda.Population(n, batch=1, dt=setup_dt, precision=precision, backend=backend)

    def prepare(self, setup: Setup) -> Runner:
        pop = self.population(setup.n, setup.dt, setup.precision, setup.backend)
        masks, period, steps = setup.masks, setup.masks.shape[0], setup.steps

        def runner(first_step: int) -> None:
            for s in range(first_step, first_step + steps):
                pop.step(masks[s % period])

        return runner

    def prepare_single(self, dt: float, backend: str, precision: str) -> Callable[[], None]:
        pop = self.population(1, dt, precision, backend)
        spike = np.ones(1, dtype=np.uint8)
        return lambda: pop.step(spike)


class PopulationWindow(Implementation):
    """bionmda.Population, one step_window(K) call per K steps."""

    name = "bionmda.window"
    description = "bionmda.Population.step_window(K, masks), one call per --window K steps"
    single_step = False  # a window of one step is bionmda.step

    def missing(self) -> Optional[str]:
        return None

    def prepare(self, setup: Setup) -> Runner:
        pop = PopulationStep.population(setup.n, setup.dt, setup.precision, setup.backend)
        masks, period, steps, k = setup.masks, setup.masks.shape[0], setup.steps, setup.window
        # K divides both P and the steps (checked in main), so a window never
        # wraps around the end of the masks: masks[j:j+K] is one contiguous block.
        windows = [masks[j:j + k].reshape(k, 1, setup.n) for j in range(0, period, k)]

        def runner(first_step: int) -> None:
            for s in range(first_step, first_step + steps, k):
                pop.step_window(k, windows[(s % period) // k])

        return runner


class JaxFFI(Implementation):
    """bionmda.jax (the XLA FFI primitive) in plain JAX: ``jax.jit`` of a
    ``lax.scan`` over the steps (``bionmda.jax.step``), or over windows of K
    steps (``bionmda.jax.window``), state donated; no brainstate."""

    needs_jax = True

    def __init__(self, name: str, window: bool, description: str):
        self.name, self.window, self.description = name, window, description
        self.single_step = not window  # a window of one step is the step

    def missing(self) -> Optional[str]:
        try:
            importlib.import_module("bionmda.jax")
        except ImportError as e:
            return f"bionmda.jax cannot be imported here ({type(e).__name__}: {e})"
        return None

    def prepare(self, setup: Setup) -> Runner:
        import jax
        import jax.numpy as jnp

        import bionmda.jax as bj

        dtype = jnp.float32 if setup.precision == "float32" else jnp.float64
        state = list(bj.zeros_state((setup.n,), dtype))
        period, steps, k = setup.masks.shape[0], setup.steps, setup.window
        masks = jnp.asarray(setup.masks.astype(np.uint8))
        dt = setup.dt

        if self.window:
            blocks = masks.reshape(period // k, k, setup.n)  # K divides the period (checked in main)

            @partial(jax.jit, donate_argnums=(0, 1, 2), static_argnums=(3, 4))
            def run(g, x, cd, first, count):
                def body(carry, j):
                    g, x, cd = carry
                    return bj.window(g, x, cd, blocks[j % (period // k)], dt=dt), None

                (g, x, cd), _ = jax.lax.scan(body, (g, x, cd), jnp.arange(first // k, first // k + count // k))
                return g, x, cd
        else:
            @partial(jax.jit, donate_argnums=(0, 1, 2), static_argnums=(3, 4))
            def run(g, x, cd, first, count):
                def body(carry, i):
                    g, x, cd = carry
                    return bj.step(g, x, cd, masks[i % period], dt=dt), None

                (g, x, cd), _ = jax.lax.scan(body, (g, x, cd), jnp.arange(first, first + count))
                return g, x, cd

        def runner(first_step: int) -> None:
            # first_step % period keeps the static argument to `period` values (one compile each).
            state[:] = jax.block_until_ready(run(*state, first_step % period, steps))

        return runner

    def prepare_single(self, dt: float, backend: str, precision: str) -> Callable[[], None]:
        import jax
        import jax.numpy as jnp

        import bionmda.jax as bj

        dtype = jnp.float32 if precision == "float32" else jnp.float64
        state = list(bj.zeros_state((1,), dtype))
        spike = jnp.ones((1,), dtype=jnp.uint8)
        one = jax.jit(lambda g, x, cd, s: bj.step(g, x, cd, s, dt=dt), donate_argnums=(0, 1, 2))

        def call() -> None:
            state[:] = jax.block_until_ready(one(*state, spike))

        return call


#: Every implementation, in table order; the drop-in is one entry.
IMPLEMENTATIONS: dict[str, Implementation] = {
    impl.name: impl
    for impl in (
        JaxLoop("brainpy", "brainpy.state", "BioNMDA", "brainpy.state.BioNMDA in jit + for_loop"),
        JaxLoop("bionmda.brainpy", "bionmda.brainpy", "BioNMDA",
                "bionmda's drop-in bionmda.brainpy.BioNMDA in the same jit + for_loop"),
        JaxFFI("bionmda.jax", False, "bionmda.jax.step (XLA FFI) in jax.jit + lax.scan"),
        JaxFFI("bionmda.jax.window", True, "bionmda.jax.window (XLA FFI), one call per --window K steps, in jax.jit + lax.scan"),
        PopulationStep(),
        PopulationWindow(),
    )
}


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("bionmda", "numpy") + JAX_PACKAGES + ("jaxlib",):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _import_jax(precision: str) -> Optional[str]:
    """Import the JAX stack, configured for the precision; None or the failure."""
    for pkg in JAX_PACKAGES:
        try:
            importlib.import_module(pkg)
        except ImportError as e:
            return f"cannot import {pkg} ({type(e).__name__}: {e})"
    import brainstate
    import jax

    if precision == "float64":
        jax.config.update("jax_enable_x64", True)
        brainstate.environ.set(precision=64)
    return None


#: Untimed rounds before the timed ones. brainstate's jit compiles on its first
#: call AND again on its second (measured: 0.59 s, 0.41 s, then 1 ms for 20
#: steps of N = 1024), so one warm-up round is not enough.
WARMUP_ROUNDS = 2


def _time_round_robin(runners: dict, steps: int, repeats: int) -> dict:
    """Seconds per step, per implementation: warm-up rounds, then repeats in turn."""
    times = {name: [] for name in runners}
    first = 0
    for r in range(WARMUP_ROUNDS + repeats):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run(first)
            elapsed = time.perf_counter() - t0
            if r >= WARMUP_ROUNDS:
                times[name].append(elapsed / steps)
        first += steps
    return times


def _time_calls(call: Callable[[], None], calls: int, repeats: int) -> list:
    for _ in range(WARMUP_ROUNDS):  # compile / warm up
        call()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        out.append((time.perf_counter() - t0) / calls)
    return out


def _parse_size(text: str) -> int:
    """A size: an integer, or 2^k / 2**k."""
    t = text.strip().replace("**", "^")
    try:
        if "^" in t:
            base, exp = t.split("^", 1)
            value = int(base) ** int(exp)
        else:
            value = int(float(t)) if "e" in t.lower() else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (an integer such as 65536, or 2^16)")
    if value < 1:
        raise argparse.ArgumentTypeError(f"a size must be >= 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bionmda.bench", description="BrainPy's own BioNMDA against bionmda, side by side, "
                                 "with the same NumPy Poisson masks.",
                                 epilog="Implementations: " + ", ".join(IMPLEMENTATIONS) +
                                 ". See the module documentation (pydoc bionmda.bench) for how each is timed.")
    ap.add_argument("--sizes", type=_parse_size, nargs="+", default=[2**16, 2**18, 2**20, 2**22, 2**24],
                    metavar="N", help="numbers of units (integers or 2^k; default 2^16 2^18 2^20 2^22 2^24)")
    ap.add_argument("--precision", choices=["float32", "float64"], default="float32",
                    help="state precision of every implementation (default float32)")
    ap.add_argument("--impl", nargs="+", choices=list(IMPLEMENTATIONS), default=list(IMPLEMENTATIONS),
                    metavar="IMPL", help="implementations to time, of: " + ", ".join(IMPLEMENTATIONS) +
                    " (default all; those not available here are listed as such)")
    ap.add_argument("--steps", type=int, default=100, help="steps per timed repeat (default 100)")
    ap.add_argument("--repeats", type=int, default=3,
                    help=f"timed repeats per implementation and size, after {WARMUP_ROUNDS} untimed warm-up "
                         "repeats (default 3)")
    ap.add_argument("--window", type=int, default=10,
                    help="K, steps per step_window call of bionmda.window; must divide --steps and "
                         "--mask-period (default 10)")
    ap.add_argument("--mask-period", type=int, default=20,
                    help="P, distinct spike masks generated and cycled (default 20; memory P*N bytes, "
                         "held twice when JAX runs)")
    ap.add_argument("--rate", type=float, default=20.0, help="Poisson rate per unit [Hz] (default 20)")
    ap.add_argument("--dt", type=float, default=0.1, help="time step [ms] (default 0.1)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the NumPy generator of the masks (default 0)")
    ap.add_argument("--backend", choices=["auto", "cpu", "cuda"], default="auto",
                    help="bionmda backend (default auto: CUDA when usable); JAX uses its default device")
    ap.add_argument("--overhead", action="store_true",
                    help="also time single 1-element steps, one call each (jit dispatch vs the C++ call)")
    ap.add_argument("--calls", type=int, default=2000,
                    help="calls per repeat of --overhead (default 2000)")
    ap.add_argument("--json", metavar="PATH", help="also write every figure to this JSON file")
    return ap


def _check(ap: argparse.ArgumentParser, args) -> None:
    for opt in ("steps", "repeats", "window", "mask_period", "calls"):
        v = getattr(args, opt)
        if v < 1:
            ap.error(f"--{opt.replace('_', '-')}: must be >= 1, got {v}")
    if args.steps % args.window:
        ap.error(f"--window {args.window} must divide --steps {args.steps}")
    if args.mask_period % args.window:
        ap.error(f"--window {args.window} must divide --mask-period {args.mask_period}")
    if not (args.dt > 0 and np.isfinite(args.dt)):
        ap.error(f"--dt: must be finite and > 0, got {args.dt}")
    p = args.rate * args.dt / 1000.0
    if not (np.isfinite(args.rate) and 0 <= p <= 1):
        ap.error(f"--rate: rate*dt/1000 must lie in [0, 1], got {args.rate} Hz * {args.dt} ms = {p}")
    if args.json:
        # Checked before minutes of measuring: the file's folder must exist and take a new file.
        folder = os.path.dirname(os.path.abspath(args.json))
        if os.path.isdir(args.json) or not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
            ap.error(f"--json: cannot write {args.json!r} (not a writable file path)")


def main(argv: Optional[list] = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    _check(ap, args)
    selected = list(dict.fromkeys(args.impl))

    if any(IMPLEMENTATIONS[n].needs_jax for n in selected):
        why = _import_jax(args.precision)
        if why is not None:
            jax_impls = [n for n in selected if IMPLEMENTATIONS[n].needs_jax]
            print(f"bionmda.bench: {why}; {', '.join(jax_impls)} need(s) " + ", ".join(JAX_PACKAGES) +
                  " (pip install 'bionmda[bench]'), or leave them out with --impl "
                  + " ".join(n for n in IMPLEMENTATIONS if not IMPLEMENTATIONS[n].needs_jax)
                  + "; nothing measured", file=sys.stderr)
            return EXIT_MISSING

    unavailable = {}
    impls = []
    for name in selected:
        why = IMPLEMENTATIONS[name].missing()
        if why is None:
            impls.append(IMPLEMENTATIONS[name])
        else:
            unavailable[name] = why

    import bionmda

    p = args.rate * args.dt / 1000.0
    versions = _versions()
    devices = {"bionmda": bionmda.resolve_backend(args.backend)}
    if any(i.needs_jax for i in impls):
        import jax

        d = jax.devices()[0]
        devices["jax"] = f"{d.platform}:{d.device_kind}"
    print(f"# bionmda.bench: {args.precision}, batch 1, Poisson {args.rate:g} Hz (p = {p:g} per step), "
          f"dt {args.dt:g} ms; {args.mask_period} NumPy masks (seed {args.seed}) cycled, the same for every "
          f"implementation; {args.steps} steps per repeat, median of {args.repeats} after {WARMUP_ROUNDS} "
          f"warm-up repeats; bionmda.window K = {args.window}")
    print("# devices: " + ", ".join(f"{k} {v}" for k, v in devices.items()) + "; versions: " +
          " ".join(f"{k} {v}" for k, v in versions.items()))
    for name, why in unavailable.items():
        print(f"# not available: {name}: {why}")
    header = f"{'N':>10} {'impl':<20} {'us/step':>12} {'unit-steps/s':>14} {'x BrainPy':>10}"
    print(header)

    results = []
    rng = np.random.default_rng(args.seed)
    for n in args.sizes:
        masks = np.empty((args.mask_period, n), dtype=np.uint8)
        for k in range(args.mask_period):  # row by row: no P*N temporary of floats
            masks[k] = rng.random(n, dtype=np.float32) < p
        setup = Setup(n, args.precision, args.dt, args.steps, args.window, masks, args.backend)
        runners = {impl.name: impl.prepare(setup) for impl in impls}
        times = _time_round_robin(runners, args.steps, args.repeats)
        del runners
        med = {name: statistics.median(t) for name, t in times.items()}
        base = med.get("brainpy")
        for name, sec in med.items():
            ratio = base / sec if base is not None else None
            print(f"{n:>10} {name:<20} {sec * 1e6:>12.2f} {n / sec:>14.4g} "
                  f"{(f'{ratio:.2f}x' if ratio is not None else '-'):>10}", flush=True)
            results.append({"N": n, "impl": name, "us_per_step": sec * 1e6, "seconds_per_step": sec,
                            "unit_steps_per_s": n / sec, "ratio_vs_brainpy": ratio,
                            "repeats_seconds_per_step": times[name]})

    overhead = []
    if args.overhead:
        print(f"# overhead: one step of a 1-element instance per call, {args.calls} calls per repeat, "
              f"median of {args.repeats}")
        print(f"{'impl':<20} {'us/call':>10}")
        for impl in impls:
            if not impl.single_step:
                continue
            call = impl.prepare_single(args.dt, args.backend, args.precision)
            sec = statistics.median(_time_calls(call, args.calls, args.repeats))
            print(f"{impl.name:<20} {sec * 1e6:>10.2f}", flush=True)
            overhead.append({"impl": impl.name, "us_per_call": sec * 1e6})

    if args.json:
        doc = {
            "command": "python -m bionmda.bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "precision": args.precision, "rate_hz": args.rate, "dt_ms": args.dt, "steps": args.steps,
            "repeats": args.repeats, "window": args.window, "mask_period": args.mask_period, "seed": args.seed,
            "input": "numpy masks, cycled, shared by every implementation",
            "devices": devices, "versions": versions, "machine": platform.platform(),
            "implementations": {i.name: i.description for i in impls},
            "unavailable": unavailable, "results": results, "overhead": overhead,
        }
        # Whole or not at all: a temporary file beside it, renamed over it.
        tmp = f"{args.json}.tmp{os.getpid()}"
        try:
            with open(tmp, "w") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, args.json)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
