#!/usr/bin/env python3
"""Generate reference traces from the REAL ``brainpy.state.BioNMDA``.

This script runs BrainPy's own ``BioNMDA`` synapse (JAX, CPU, float64) on a set
of fixed scenarios and writes, per scenario, a small fixture directory that the
C++ tests compare against:

    tests/data/brainpy/<case>/case.json   parameters, sizes, seed, versions
    tests/data/brainpy/<case>/spikes.csv  step,batch,unit   (one row per spike)
    tests/data/brainpy/<case>/trace.csv   step,batch,unit,g,x (values AFTER the
                                          update of that step, every K-th step)

Time convention (matches docs/model.md): update call number s (s = 0, 1, ...)
runs with ``brainstate.environ`` time ``t = s * dt`` (the float64 product) and
with the spike mask of step s; the recorded row for step s holds g and x after
that call.  Recorded steps are those with ``(s + 1) % every == 0``.

How t is made (``t_mode``, recorded in case.json as ``"t_mode"``):

- ``precomputed`` (the first cases): ``t = s * dt`` is computed with numpy
  before the loop and fed to ``for_loop`` as its scanned input.
- ``in_loop`` (the ``jit_t_*`` cases): ``for_loop`` scans the integer step
  index ``i`` and the body computes ``t = i * dt`` itself, the way BrainPy
  users write it.  XLA may then contract ``(i * dt) - t_spike`` into one fused
  multiply-add, which changes BrainPy's pulse lengths (docs/validation.md).
  These cases also record BrainPy's pulse length for every spike
  (``brainpy_pulse_steps``) and a summary of the lengths per T_dur with both
  ways of making t (``brainpy_pulse_summary``).

``--t-mode`` overrides the way t is made for a measurement (with
``--no-write`` or a non-default ``--out-dir``: a committed fixture always
matches its case's own ``t_mode``).

How BrainPy's ``BioNMDA.update(pre_spike)`` works (brainpy_state 0.1.0 /
brainpy 2.9.0, identical code)::

    t = brainstate.environ.get('t')
    self.spike_arrival_time.value = u.math.where(pre_spike, t, self.spike_arrival_time.value)
    TT = ((t - self.spike_arrival_time.value) < self.T_duration) * self.T
    dx = lambda x: self.alpha2 * TT * (1 * u.get_unit(x) - x) - self.beta2 * x
    self.x.value = brainstate.nn.exp_euler_step(dx, self.x.value)
    dg = lambda g: self.alpha1 * self.x.value * (1 * u.get_unit(g) - g) - self.beta1 * g
    self.g.value = brainstate.nn.exp_euler_step(dg, self.g.value)

``exp_euler_step`` computes ``x + dt * exprel(dt * J) * f(x)`` with ``J`` the
diagonal Jacobian obtained by autodiff.

``--check`` additionally runs an independent pure-numpy float64 model of
docs/model.md (whole-step pulse counting) and prints the maximum absolute
difference to BrainPy for every case.  It should be ~1e-16 everywhere except
``dt01_tdur05``, where BrainPy's float-time gating keeps some pulses on for 6
steps instead of 5, and the ``jit_t_*`` cases (t made inside the loop: pulses
lengthened by a fused multiply-add, docs/validation.md).

Usage (from anywhere; needs brainpy with ``brainpy.state``, jax, numpy)::

    python tools/brainpy_reference.py                # all cases
    python tools/brainpy_reference.py --case batch3  # one case
    python tools/brainpy_reference.py --check        # also compare to numpy model
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "brainpy"

DEFAULTS = dict(alpha1=2.0, beta1=0.01, alpha2=1.0, beta2=0.5, T=1.0, T_dur=0.5)
PARAM_NAMES = ("alpha1", "beta1", "alpha2", "beta2", "T", "T_dur")

MAX_FILE_BYTES = 800 * 1024


# --------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    description: str
    units: int
    batch: int
    steps: int
    dt: float
    every: int
    seed: int
    # params: name -> float or np.ndarray of shape [N]
    params: dict
    g0: object  # float or np.ndarray [N]
    x0: object  # float or np.ndarray [N]
    spikes: np.ndarray  # bool [S, B, N]
    extra: dict = field(default_factory=dict)
    # "precomputed": t fed in from numpy; "in_loop": t = i * dt inside the loop body
    t_mode: str = "precomputed"
    # record BrainPy's per-spike pulse lengths (spikes must be isolated)
    record_pulses: bool = False


def _bernoulli(rng: np.random.Generator, steps: int, batch: int, units: int, p: float) -> np.ndarray:
    return rng.random((steps, batch, units)) < p


def case_defaults() -> Case:
    seed = 1001
    rng = np.random.default_rng(seed)
    S, B, N = 2000, 1, 20
    return Case("defaults", "BrainPy default parameters, random spikes p=0.02/step",
                N, B, S, 0.125, 4, seed, dict(DEFAULTS), 0.0, 0.0,
                _bernoulli(rng, S, B, N, 0.02))


def case_heterogeneous() -> Case:
    seed = 1002
    rng = np.random.default_rng(seed)
    S, B, N, dt = 1500, 1, 16, 0.125
    params = dict(
        alpha1=rng.uniform(0.5, 4.0, N),
        beta1=rng.uniform(0.005, 0.05, N),
        alpha2=rng.uniform(0.5, 2.0, N),
        beta2=rng.uniform(0.2, 1.0, N),
        T=rng.uniform(0.5, 2.0, N),
        # (k + 0.5) * dt: far from a multiple of dt, exact in binary
        T_dur=(rng.integers(0, 9, N) + 0.5) * dt,
    )
    return Case("heterogeneous",
                "per-unit random alpha1, beta1, alpha2, beta2, T, T_dur=(k+0.5)*dt; spikes p=0.03/step",
                N, B, S, dt, 2, seed, params, 0.0, 0.0, _bernoulli(rng, S, B, N, 0.03))


def case_batch3() -> Case:
    seed = 1003
    rng = np.random.default_rng(seed)
    S, B, N = 1500, 3, 10
    return Case("batch3", "batch of 3 independent copies, default parameters, spikes p=0.03/step",
                N, B, S, 0.125, 4, seed, dict(DEFAULTS), 0.0, 0.0,
                _bernoulli(rng, S, B, N, 0.03))


def case_high_rate() -> Case:
    seed = 1004
    rng = np.random.default_rng(seed)
    S, B, N = 1000, 1, 12
    return Case("high_rate", "spikes p=0.3/step: frequent re-spikes during a pulse (pulse restarts)",
                N, B, S, 0.125, 1, seed, dict(DEFAULTS), 0.0, 0.0,
                _bernoulli(rng, S, B, N, 0.3))


def case_nonzero_init() -> Case:
    seed = 1005
    rng = np.random.default_rng(seed)
    S, B, N = 1000, 1, 12
    g0 = rng.uniform(0.0, 1.0, N)
    x0 = rng.uniform(0.0, 1.0, N)
    return Case("nonzero_init", "per-unit initial g0, x0 uniform in [0,1]; default parameters; spikes p=0.02/step",
                N, B, S, 0.125, 1, seed, dict(DEFAULTS), g0, x0,
                _bernoulli(rng, S, B, N, 0.02))


def case_tdur_zero() -> Case:
    seed = 1006
    rng = np.random.default_rng(seed)
    S, B, N = 500, 1, 8
    params = dict(DEFAULTS)
    params["T_dur"] = 0.0
    g0 = rng.uniform(0.0, 1.0, N)
    x0 = rng.uniform(0.0, 1.0, N)
    return Case("tdur_zero",
                "T_dur = 0: spikes never open the cleft; g0, x0 uniform in [0,1] just relax; spikes p=0.05/step",
                N, B, S, 0.125, 1, seed, params, g0, x0,
                _bernoulli(rng, S, B, N, 0.05))


def case_long_run() -> Case:
    seed = 1007
    rng = np.random.default_rng(seed)
    S, B, N = 20000, 1, 4
    return Case("long_run", "20000 steps (t up to 2500 ms), default parameters, spikes p=0.01/step, every 10th step",
                N, B, S, 0.125, 10, seed, dict(DEFAULTS), 0.0, 0.0,
                _bernoulli(rng, S, B, N, 0.01))


# (step, unit) of isolated spikes for dt01_tdur05.  With t = s*0.1 in float64,
# BrainPy's test fl(fl((s+5)*0.1) - fl(s*0.1)) < 0.5 is True for s in
# {38, 157, 319, 638} (pulse lasts 6 steps) and False for s in {3, 150, 901}
# (5 steps, as the library counts).
DT01_SPIKES = [(3, 0), (38, 1), (150, 2), (157, 3), (319, 4), (638, 5), (901, 0)]


def case_dt01_tdur05() -> Case:
    S, B, N = 1200, 1, 6
    spikes = np.zeros((S, B, N), dtype=bool)
    for s, i in DT01_SPIKES:
        spikes[s, 0, i] = True
    return Case("dt01_tdur05",
                "dt=0.1 ms, T_dur=0.5 ms, isolated spikes: BrainPy's float-time gating gives 6 steps for "
                "some spikes where the library counts exactly 5 (see brainpy_pulse_steps)",
                N, B, S, 0.1, 1, 0, dict(DEFAULTS), 0.0, 0.0, spikes, record_pulses=True)


def _isolated_spikes(rng: np.random.Generator, steps: int, units: int, gap_lo: int, gap_hi: int,
                     tail: int) -> np.ndarray:
    """Per unit, spikes gap_lo..gap_hi-1 steps apart (so every pulse ends before the
    next spike), none in the last ``tail`` steps (so every pulse ends inside the run)."""
    spikes = np.zeros((steps, 1, units), dtype=bool)
    for i in range(units):
        s = int(rng.integers(0, gap_lo))
        while s < steps - tail:
            spikes[s, 0, i] = True
            s += int(rng.integers(gap_lo, gap_hi))
    return spikes


def case_jit_t_mixed_tdur() -> Case:
    # 10 units: with this N every unit of JAX-CPU's loop showed the contraction
    # when measured (which units do depends on N; docs/validation.md).
    seed = 1009
    rng = np.random.default_rng(seed)
    S, B, N, dt = 900, 1, 10, 0.1
    params = dict(DEFAULTS)
    params["T_dur"] = np.array([0.0, 0.5] * (N // 2))
    return Case("jit_t_mixed_tdur",
                "t = i*dt computed inside the jit loop; dt=0.1 ms; T_dur 0 (even units) and 0.5 ms (odd units); "
                "isolated spikes 20-39 steps apart: T_dur = 0 units get one-step pulses where XLA contracts "
                "(t - t_spike) into a fused multiply-add (see brainpy_pulse_steps)",
                N, B, S, dt, 1, seed, params, 0.0, 0.0, _isolated_spikes(rng, S, N, 20, 40, 12),
                t_mode="in_loop", record_pulses=True)


def case_jit_t_dt005_tdur1() -> Case:
    seed = 1010
    rng = np.random.default_rng(seed)
    S, B, N, dt = 1000, 1, 10, 0.05
    params = dict(DEFAULTS)
    params["T_dur"] = 1.0
    return Case("jit_t_dt005_tdur1",
                "t = i*dt computed inside the jit loop; dt=0.05 ms, T_dur=1.0 ms (library: 20 steps); isolated "
                "spikes 30-59 steps apart: BrainPy keeps some pulses on for 21 steps (see brainpy_pulse_steps)",
                N, B, S, dt, 1, seed, params, 0.0, 0.0, _isolated_spikes(rng, S, N, 30, 60, 25),
                t_mode="in_loop", record_pulses=True)


CASES: dict[str, Callable[[], Case]] = {
    "defaults": case_defaults,
    "heterogeneous": case_heterogeneous,
    "batch3": case_batch3,
    "high_rate": case_high_rate,
    "nonzero_init": case_nonzero_init,
    "tdur_zero": case_tdur_zero,
    "long_run": case_long_run,
    "dt01_tdur05": case_dt01_tdur05,
    "jit_t_mixed_tdur": case_jit_t_mixed_tdur,
    "jit_t_dt005_tdur1": case_jit_t_dt005_tdur1,
}

T_MODES = ("precomputed", "in_loop")


# --------------------------------------------------------------------------
# BrainPy run
# --------------------------------------------------------------------------

def _setup_jax():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    import brainstate
    brainstate.environ.set(precision=64)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("brainpy", "brainpy_state", "brainstate", "brainunit", "saiunit",
                "braintools", "jax", "jaxlib", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def run_brainpy(case: Case, t_mode: Optional[str] = None):
    """Run brainpy.state.BioNMDA over all steps, with t made the case's way
    (or ``t_mode``'s: "precomputed" or "in_loop").

    Returns (g, x, on): float64 [S, B, N], float64 [S, B, N], bool [S, B, N].
    ``on`` is BrainPy's own gating condition ``(t - spike_arrival_time) < T_duration``
    evaluated with the values used inside that step's update.
    """
    import brainpy
    import brainstate
    import brainunit as u

    N, B, S, dt = case.units, case.batch, case.steps, case.dt
    p = case.params
    as_arr = lambda v: np.asarray(v, dtype=np.float64)
    syn = brainpy.state.BioNMDA(
        N,
        alpha1=as_arr(p["alpha1"]) / u.ms,
        beta1=as_arr(p["beta1"]) / u.ms,
        alpha2=as_arr(p["alpha2"]) / (u.ms * u.mM),
        beta2=as_arr(p["beta2"]) / u.ms,
        T=as_arr(p["T"]) * u.mM,
        T_dur=as_arr(p["T_dur"]) * u.ms,
        # BrainPy's default g initializer carries mS; keep that unit.
        g_initializer=np.broadcast_to(as_arr(case.g0), (N,)).copy() * u.mS,
        x_initializer=np.broadcast_to(as_arr(case.x0), (N,)).copy(),
    )
    if B > 1:
        syn.init_state(batch_size=B)
    else:
        syn.init_state()

    dt_q = dt * u.ms
    t_mode = t_mode or case.t_mode
    if t_mode not in T_MODES:
        raise ValueError(f"t_mode must be one of {T_MODES}, got {t_mode!r}")

    def step(s, spk):
        # in_loop: s is the integer step index and t is made here, inside the
        # compiled body; precomputed: s is already t in ms.
        t = s * dt_q if t_mode == "in_loop" else s * u.ms
        with brainstate.environ.context(t=t, dt=dt_q):
            syn.update(spk)
            on = (t - syn.spike_arrival_time.value) < syn.T_duration
        return u.get_mantissa(syn.g.value), u.get_mantissa(syn.x.value), on

    if t_mode == "in_loop":
        xs = np.arange(S, dtype=np.int64)
    else:
        xs = np.arange(S, dtype=np.float64) * dt  # t = s*dt, float64 product
    spikes = case.spikes if B > 1 else case.spikes[:, 0, :]
    g, x, on = brainstate.transform.for_loop(step, xs, spikes)
    g, x, on = np.asarray(g, np.float64), np.asarray(x, np.float64), np.asarray(on, bool)
    if B == 1:
        g, x, on = g[:, None, :], x[:, None, :], on[:, None, :]
    assert g.shape == (S, B, N) and g.dtype == np.float64
    return g, x, on


# --------------------------------------------------------------------------
# Independent numpy model of docs/model.md (library semantics)
# --------------------------------------------------------------------------

def _exprel(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    safe = np.where(z == 0.0, 1.0, z)
    return np.where(z == 0.0, 1.0, np.expm1(safe) / safe)


def pulse_steps(T_dur: np.ndarray, dt: float) -> np.ndarray:
    """n = #{k >= 0 : k*dt < T_dur}, ratio within 1e-9 relative of an integer snaps."""
    r = np.asarray(T_dur, dtype=np.float64) / dt
    ri = np.round(r)
    near = np.abs(r - ri) <= 1e-9 * np.maximum(np.abs(r), 1.0)
    n = np.where(near, ri, np.ceil(r))
    return np.where(np.asarray(T_dur) == 0.0, 0, n).astype(np.int64)


def run_numpy(case: Case):
    N, B, S, dt = case.units, case.batch, case.steps, case.dt
    P = {k: np.broadcast_to(np.asarray(v, np.float64), (N,)) for k, v in case.params.items()}
    n = pulse_steps(P["T_dur"], dt)
    x = np.broadcast_to(np.asarray(case.x0, np.float64), (B, N)).copy()
    g = np.broadcast_to(np.asarray(case.g0, np.float64), (B, N)).copy()
    rem = np.zeros((B, N), dtype=np.int64)
    G = np.empty((S, B, N))
    X = np.empty((S, B, N))
    ON = np.empty((S, B, N), dtype=bool)
    for s in range(S):
        rem = np.where(case.spikes[s], n, rem)
        on = rem > 0
        TT = np.where(on, P["T"], 0.0)
        f = P["alpha2"] * TT * (1.0 - x) - P["beta2"] * x
        J = -(P["alpha2"] * TT) - P["beta2"]
        x = x + dt * _exprel(dt * J) * f
        f = P["alpha1"] * x * (1.0 - g) - P["beta1"] * g
        J = -(P["alpha1"] * x) - P["beta1"]
        g = g + dt * _exprel(dt * J) * f
        rem = np.maximum(rem - 1, 0)
        G[s], X[s], ON[s] = g, x, on
    return G, X, ON


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def resize_case(case: Case, units: int) -> Case:
    """The same case with N = ``units``: per-unit values and spike columns are
    repeated (or cut) to N, so each unit keeps a copy of an original unit's input."""
    idx = np.arange(units) % case.units
    pick = lambda v: np.asarray(v)[idx] if np.ndim(v) else v
    case.params = {k: pick(v) for k, v in case.params.items()}
    case.g0, case.x0 = pick(case.g0), pick(case.x0)
    case.spikes = case.spikes[:, :, idx]
    case.units = units
    return case


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return [float(a) for a in v.tolist()]
    return float(v)


def pulse_table(case: Case, on: np.ndarray, x: np.ndarray, t_mode: str) -> tuple:
    """Per spike: number of consecutive steps (from the spike step on) that
    BrainPy's transmitter was on, before the next spike of that unit.

    The count is read from the x trace, which shows what the update really
    used: with isolated spikes and x well below alpha2*T/(alpha2*T+beta2), x
    rises exactly while the pulse is on.  ``on`` (the gating condition
    evaluated again after the update, in the same compiled step) must agree
    when t is precomputed; when t is made inside the loop XLA may compile the
    two copies of ``t - t_spike`` differently (one contracted into a fused
    multiply-add, one not), so there the disagreements are only counted.

    Returns (rows, number of spikes where ``on`` disagreed with the x trace)."""
    S = case.steps
    rows = []
    disagree = 0
    for s, b, i in zip(*np.nonzero(case.spikes)):
        s, b, i = int(s), int(b), int(i)
        k = 0
        while s + k < S and on[s + k, b, i] and (k == 0 or not case.spikes[s + k, b, i]):
            k += 1
        xprev = x[s - 1, b, i] if s > 0 else float(np.broadcast_to(case.x0, (case.units,))[i])
        kx = 0
        while s + kx < S and x[s + kx, b, i] > xprev and (kx == 0 or not case.spikes[s + kx, b, i]):
            xprev = x[s + kx, b, i]
            kx += 1
        if kx != k:
            if t_mode == "precomputed":
                raise RuntimeError(f"gating ({k}) and x-trace ({kx}) disagree for spike at step {s} unit {i}")
            disagree += 1
        rows.append({"step": s, "batch": b, "unit": i, "steps_on": kx})
    return rows, disagree


def pulse_summary(case: Case, tables: dict) -> list:
    """Per distinct T_dur: the library's pulse length (docs/model.md) and, per way
    of making t, how many spikes got each BrainPy pulse length.

    ``tables`` maps a t_mode to its pulse_table rows."""
    tdur = np.broadcast_to(np.asarray(case.params["T_dur"], np.float64), (case.units,))
    out = []
    for td in sorted(set(float(v) for v in tdur)):
        entry = {"T_dur": td, "library_steps": int(pulse_steps(np.array([td]), case.dt)[0])}
        for mode, rows in tables.items():
            hist: dict = {}
            for r in rows:
                if float(tdur[r["unit"]]) == td:
                    hist[r["steps_on"]] = hist.get(r["steps_on"], 0) + 1
            entry[mode] = {str(k): hist[k] for k in sorted(hist)}
        out.append(entry)
    return out


def write_case(case: Case, g: np.ndarray, x: np.ndarray, pulses: Optional[dict], out_dir: Path) -> dict:
    """Write the fixture folder; ``pulses`` (for record_pulses cases) holds
    ``"steps"``, this run's pulse table, and ``"summary"``, pulse_summary's list."""
    d = out_dir / case.name
    d.mkdir(parents=True, exist_ok=True)
    meta = {
        "name": case.name,
        "description": case.description,
        "units": case.units,
        "batch": case.batch,
        "steps": case.steps,
        "dt": case.dt,
        "every": case.every,
        "params": {k: _jsonable(case.params[k]) for k in PARAM_NAMES},
        "g0": _jsonable(case.g0),
        "x0": _jsonable(case.x0),
        "t_mode": case.t_mode,
        "versions": versions(),
        "seed": case.seed,
    }
    if pulses is not None:
        meta["brainpy_pulse_steps"] = pulses["steps"]
        meta["brainpy_pulse_summary"] = pulses["summary"]
    with open(d / "case.json", "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")

    with open(d / "spikes.csv", "w") as fh:
        fh.write("step,batch,unit\n")
        for s, b, i in zip(*np.nonzero(case.spikes)):  # C order: sorted by step
            fh.write(f"{s},{b},{i}\n")

    K = case.every
    with open(d / "trace.csv", "w") as fh:
        fh.write("step,batch,unit,g,x\n")
        for s in range(K - 1, case.steps, K):
            for b in range(case.batch):
                for i in range(case.units):
                    fh.write("%d,%d,%d,%.17g,%.17g\n" % (s, b, i, g[s, b, i], x[s, b, i]))

    sizes = {f: (d / f).stat().st_size for f in ("case.json", "spikes.csv", "trace.csv")}
    for f, sz in sizes.items():
        if sz > MAX_FILE_BYTES:
            raise RuntimeError(f"{d / f} is {sz} bytes (> {MAX_FILE_BYTES}); raise 'every'")
    return {"dir": str(d), "sizes": sizes, "meta": meta}


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT,
                    help="output root (default: <repo>/tests/data/brainpy)")
    ap.add_argument("--case", action="append", choices=sorted(CASES),
                    help="generate only this case (repeatable); default all")
    ap.add_argument("--check", action="store_true",
                    help="also run the numpy model of docs/model.md and print max |diff|")
    ap.add_argument("--no-write", action="store_true", help="do not write fixtures")
    ap.add_argument("--t-mode", choices=T_MODES,
                    help="make t this way for every selected case instead of the case's own way "
                         "(precomputed: fed in from numpy; in_loop: t = i*dt inside the jit loop); "
                         "needs --no-write or a non-default --out-dir")
    ap.add_argument("--units", type=int,
                    help="override a case's number of units N (a measurement: which units XLA contracts "
                         "depends on N); needs --no-write or a non-default --out-dir")
    args = ap.parse_args(argv)
    overriding = args.t_mode is not None or args.units is not None
    if overriding and not args.no_write and args.out_dir.resolve() == DEFAULT_OUT.resolve():
        ap.error("--t-mode/--units change a case: pass --no-write or an --out-dir other than "
                 f"{DEFAULT_OUT} (the committed fixtures follow each case's own definition)")
    if args.units is not None and args.units < 1:
        ap.error(f"--units: must be >= 1, got {args.units}")

    _setup_jax()
    names = args.case or list(CASES)
    print("versions:", json.dumps(versions()))
    for name in names:
        case = CASES[name]()
        if args.units is not None:
            case = resize_case(case, args.units)
        if args.t_mode is not None:
            case.t_mode = args.t_mode
        g, x, on = run_brainpy(case)
        line = (f"{name:14s} t_mode={case.t_mode} S={case.steps:5d} B={case.batch} N={case.units:2d} "
                f"spikes={int(case.spikes.sum()):5d}")
        pulses = None
        if case.record_pulses:
            tables, disagree = {}, {}
            tables[case.t_mode], disagree[case.t_mode] = pulse_table(case, on, x, case.t_mode)
            for mode in T_MODES:
                if mode != case.t_mode:
                    _, x_o, on_o = run_brainpy(case, mode)
                    tables[mode], disagree[mode] = pulse_table(case, on_o, x_o, mode)
            pulses = {"steps": tables[case.t_mode], "summary": pulse_summary(case, tables)}
            for entry in pulses["summary"]:
                line += f"\n    T_dur={entry['T_dur']} library={entry['library_steps']} steps; BrainPy " + \
                        "; ".join(f"{m}: {entry[m]}" for m in T_MODES)
            # Units where the two ways of making t gave BrainPy different pulses:
            # with t in the loop, those XLA compiled with a fused multiply-add.
            modes = list(tables)
            changed = sorted({a["unit"] for a, b in zip(tables[modes[0]], tables[modes[1]])
                              if a["steps_on"] != b["steps_on"]})
            shown = ", ".join(str(u) for u in changed[:20]) + (", ..." if len(changed) > 20 else "")
            line += f"\n    units whose BrainPy pulses differ between the two ways of making t: " \
                    f"{len(changed)} of {case.units} [{shown}]"
            line += "\n    spikes where the gating test re-evaluated after the update disagrees with the " + \
                    "x trace: " + ", ".join(f"{m} {disagree[m]}" for m in T_MODES)
        if not args.no_write:
            info = write_case(case, g, x, pulses, args.out_dir)
            line += " sizes=" + ",".join(f"{k}:{v}" for k, v in info["sizes"].items())
        if args.check:
            G, X, ON = run_numpy(case)
            dg = float(np.max(np.abs(G - g)))
            dx = float(np.max(np.abs(X - x)))
            non = int(np.sum(ON != on))
            line += f"\n    numpy-model max|dg|={dg:.3e} max|dx|={dx:.3e} gating-mismatch-steps={non}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
