"""Shared helpers: an independent float64 NumPy model of docs/model.md (the
library's model contract) and tolerances.

The reference is written from the contract's equations, not from the
library's code, so agreement says something about both.
"""

import math

import numpy as np
import pytest

import bionmda

# Tolerances against the float64 reference, per step count of a few dozen:
# float32 state rounds each update to 2^-24 relative (about 6e-8 for values
# <= 1); a few dozen roundings and float32 exp/expm1 stay well inside 1e-5.
# float64: the library and the reference use the same formulas in the same
# order of magnitude; 1e-12 leaves room for exp/expm1 implementation
# differences (a few ulp each) over the steps.
TOL = {"float32": 1e-5, "float64": 1e-12}

DEFAULTS = {"alpha1": 2.0, "beta1": 0.01, "alpha2": 1.0, "beta2": 0.5, "T": 1.0, "T_dur": 0.5}


def pulse_steps(T_dur, dt):
    """Number of integers k >= 0 with k*dt < T_dur; a ratio within 1e-9 of an integer counts as it."""
    r = T_dur / dt
    nearest = round(r)
    if abs(r - nearest) <= 1e-9 * max(abs(r), 1.0):
        return int(nearest)
    return int(math.ceil(r))


def exprel(z):
    """(e^z - 1)/z, 1 at z = 0 (elementwise)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.ones_like(z)
    nz = z != 0
    out[nz] = np.expm1(z[nz]) / z[nz]
    return out


class Reference:
    """float64 model of N units x B batch entries, straight from docs/model.md."""

    def __init__(self, units, batch=1, dt=0.1, g0=0.0, x0=0.0, **params):
        self.N, self.B, self.dt = units, batch, dt
        p = dict(DEFAULTS)
        p.update(params)
        # Per-unit parameters broadcast over the batch: shape [N] -> [B][N].
        self.p = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (units,)) for k, v in p.items()}
        self.n_pulse = np.array([pulse_steps(t, dt) for t in self.p["T_dur"]], dtype=np.int64)
        self.g = self._initial(g0)
        self.x = self._initial(x0)
        self.countdown = np.zeros((batch, units), dtype=np.int64)

    def _initial(self, v):
        """A number, N values or [B][N] values, as a [B][N] float64 array."""
        a = np.asarray(v, dtype=np.float64)
        if a.size == self.B * self.N and a.ndim > 0:
            return a.reshape(self.B, self.N).copy()
        return np.broadcast_to(a, (self.B, self.N)).copy()

    def step(self, spikes=None):
        """One step; spikes: [B][N] booleans or None."""
        p, dt = self.p, self.dt
        if spikes is not None:
            s = np.asarray(spikes).reshape(self.B, self.N) != 0
            self.countdown = np.where(s, self.n_pulse[None, :], self.countdown)
        TT = np.where(self.countdown > 0, p["T"][None, :], 0.0)
        self.countdown = np.maximum(self.countdown - 1, 0)
        # x first (exponential Euler, exact for frozen TT) ...
        f = p["alpha2"] * TT * (1 - self.x) - p["beta2"] * self.x
        J = -(p["alpha2"] * TT + p["beta2"])
        self.x = self.x + dt * exprel(dt * J) * f
        # ... then g with the new x.
        f = p["alpha1"] * self.x * (1 - self.g) - p["beta1"] * self.g
        J = -(p["alpha1"] * self.x + p["beta1"])
        self.g = self.g + dt * exprel(dt * J) * f


def assert_close(actual, expected, tol, what="value"):
    """max |actual - expected| <= tol, naming the first bad element."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected)
    if err.size and err.max() > tol:
        i = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError(f"{what}[{i}] = {actual[i]!r}, expected {expected[i]!r} (|diff| {err[i]:.3g} > {tol})")


@pytest.fixture(params=["float32", "float64"])
def precision(request):
    return request.param


def cpu_population(units, **kw):
    """A population on the CPU backend (every test here runs without a GPU)."""
    kw.setdefault("backend", "cpu")
    return bionmda.Population(units, **kw)


def random_spikes(rng, shape, p=0.2):
    return (rng.random(shape) < p).astype(np.uint8)
