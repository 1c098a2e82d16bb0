"""Zero-copy DLPack export of the state, and DLPack input of spike masks."""

import gc

import numpy as np
import pytest

import bionmda
from conftest import cpu_population

KDL_CPU = 1  # DLPack's device type of host memory


def test_from_dlpack_is_zero_copy(precision):
    pop = cpu_population(6, batch=2, precision=precision)
    g = np.from_dlpack(pop)
    assert g.shape == (2, 6)
    assert g.dtype == (np.float32 if precision == "float32" else np.float64)
    assert not g.flags.writeable  # writing g through a view could break the [0, 1] invariant
    assert np.all(g == 0)
    pop.step(np.ones((2, 6), np.uint8))
    assert np.array_equal(g, pop.g) and np.all(g > 0)  # the step is visible without a new export
    pop.step_window(3)
    assert np.array_equal(g, pop.g)
    assert pop.__dlpack_device__() == (KDL_CPU, 0)


def test_views_of_every_field():
    pop = cpu_population(4, batch=3)
    x, cd = np.from_dlpack(pop.view("x")), np.from_dlpack(pop.view("countdown"))
    pop.step_events([0, 5, 11])
    assert np.array_equal(x, pop.x) and x.dtype == np.float32
    assert np.array_equal(cd, pop.countdown) and cd.dtype == np.uint16 and cd.reshape(-1)[5] > 0
    assert np.array_equal(np.asarray(pop.view("g")), pop.g)  # the buffer protocol too
    assert pop.view().__dlpack_device__() == (KDL_CPU, 0)


def test_view_keeps_the_population_alive():
    pop = cpu_population(5, g0=0.5)
    g = np.from_dlpack(pop)
    del pop
    gc.collect()
    assert np.all(g == 0.5)


class DLPackOnly:
    """An array that offers only the DLPack protocol (as torch, JAX or CuPy arrays do)."""

    def __init__(self, a):
        self._a = a

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_dlpack_spike_input_equals_numpy():
    rng = np.random.default_rng(0)
    spikes = (rng.random((3, 2, 40)) < 0.3).astype(np.uint8)
    a, b = cpu_population(40, batch=2), cpu_population(40, batch=2)
    a.step(spikes[0])
    b.step(DLPackOnly(spikes[0]))
    a.step_window(3, spikes)
    b.step_window(3, DLPackOnly(spikes))
    a.step_events(np.flatnonzero(spikes[1]))
    b.step_events(DLPackOnly(np.flatnonzero(spikes[1]).astype(np.int64)))
    assert np.array_equal(a.g, b.g) and np.array_equal(a.countdown, b.countdown)


def test_read_only_input_is_accepted():
    spikes = np.ones((1, 3), np.uint8)
    spikes.flags.writeable = False
    pop = cpu_population(3)
    pop.step(spikes)
    assert pop.countdown.all()


def test_state_of_a_view_round_trips_through_another_population():
    a = cpu_population(8, batch=2, precision="float64")
    a.step_poisson(500.0, seed=4)
    a.step()
    b = cpu_population(8, batch=2, precision="float64")
    b.set_g(np.from_dlpack(a).reshape(-1))
    b.set_x(np.from_dlpack(a.view("x")).reshape(-1))
    assert np.array_equal(a.g, b.g) and np.array_equal(a.x, b.x)
