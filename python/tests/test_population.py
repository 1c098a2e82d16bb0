"""Population: construction, properties, and steps against the float64 reference."""

import numpy as np
import pytest

import bionmda
from conftest import TOL, Reference, assert_close, cpu_population, random_spikes


def test_module_queries():
    assert isinstance(bionmda.__version__, str) and bionmda.__version__.count(".") == 2
    assert bionmda.resolve_backend("cpu") == "cpu"
    assert bionmda.resolve_backend("auto") in ("cpu", "cuda")
    assert bionmda.cpu_instruction_set() in ("avx512", "avx2", "generic")
    assert isinstance(bionmda.cuda_compiled(), bool)
    if not bionmda.cuda_available():
        assert bionmda.cuda_unavailable_reason() != ""


def test_properties(precision):
    pop = cpu_population(7, batch=3, dt=0.25, precision=precision)
    assert (pop.units, pop.batch, pop.elements) == (7, 3, 21)
    assert pop.dt == 0.25
    assert pop.precision == precision
    assert pop.backend == "cpu"
    assert pop.step_count == 0 and pop.time == 0.0
    assert pop.pulse_steps() == 2  # k*0.25 < 0.5 for k = 0, 1
    dtype = np.float32 if precision == "float32" else np.float64
    assert pop.g.dtype == dtype and pop.g.shape == (3, 7)
    assert pop.x.dtype == dtype and pop.x.shape == (3, 7)
    assert pop.countdown.dtype == np.uint16 and pop.countdown.shape == (3, 7)
    assert "units=7" in repr(pop)


def test_copies_are_copies():
    pop = cpu_population(4)
    g = pop.g
    g[:] = 0.5
    assert np.all(pop.g == 0)
    pop.step(np.ones((1, 4), np.uint8))
    assert np.all(g == 0.5)


def test_defaults_are_brainpys():
    pop = cpu_population(3, precision="float64")
    ref = Reference(3)
    spikes = np.array([[1, 0, 1]], np.uint8)
    pop.step(spikes)
    ref.step(spikes)
    assert_close(pop.g, ref.g, TOL["float64"], "g")


@pytest.mark.parametrize("batch", [1, 3])
def test_dense_steps_match_reference(precision, batch):
    rng = np.random.default_rng(7)
    N = 37
    params = dict(alpha1=rng.uniform(0.5, 3.0, N), beta1=0.02, alpha2=rng.uniform(0.5, 2.0, N), beta2=0.4, T=1.5,
                  T_dur=0.3)
    g0 = rng.uniform(0, 0.5, (batch, N))
    x0 = rng.uniform(0, 0.5, N)
    pop = cpu_population(N, batch=batch, dt=0.1, precision=precision, g0=g0, x0=x0, **params)
    ref = Reference(N, batch=batch, dt=0.1, g0=g0, x0=x0, **params)
    assert_close(pop.g, ref.g, TOL[precision], "initial g")
    for s in range(40):
        spikes = random_spikes(rng, (batch, N), 0.15)
        pop.step(spikes if s % 5 else None)
        ref.step(spikes if s % 5 else None)
        assert_close(pop.g, ref.g, TOL[precision], f"g after step {s}")
        assert_close(pop.x, ref.x, TOL[precision], f"x after step {s}")
        assert np.array_equal(pop.countdown, ref.countdown), f"countdown after step {s}"
    assert pop.step_count == 40
    assert pop.time == pytest.approx(4.0)


def test_flat_and_bool_masks_equal_2d_uint8():
    rng = np.random.default_rng(1)
    spikes = random_spikes(rng, (2, 9), 0.3)
    a, b, c = (cpu_population(9, batch=2) for _ in range(3))
    for _ in range(3):
        a.step(spikes)
        b.step(spikes.reshape(-1))
        c.step(spikes.astype(bool))
    assert np.array_equal(a.g, b.g) and np.array_equal(a.g, c.g)


def test_non_contiguous_mask_is_accepted():
    rng = np.random.default_rng(2)
    big = random_spikes(rng, (4, 10), 0.5)
    view = big[::2]  # rows 0 and 2: not C-contiguous
    a, b = cpu_population(10, batch=2), cpu_population(10, batch=2)
    a.step(view)
    b.step(np.ascontiguousarray(view))
    assert np.array_equal(a.g, b.g) and np.array_equal(a.countdown, b.countdown)


def test_events_equal_dense(precision):
    rng = np.random.default_rng(3)
    N, B = 12, 2
    a = cpu_population(N, batch=B, precision=precision)
    b = cpu_population(N, batch=B, precision=precision)
    for _ in range(10):
        spikes = random_spikes(rng, (B, N), 0.2)
        a.step(spikes)
        events = np.flatnonzero(spikes)
        b.step_events(np.concatenate([events[::-1], events[:1]]))  # any order, duplicates count once
    assert np.array_equal(a.g, b.g) and np.array_equal(a.x, b.x)
    c = cpu_population(N, batch=B, precision=precision)
    c.step_events([0, 5, N + 1])  # a list is accepted
    assert c.countdown[0, 0] > 0 and c.countdown[1, 1] > 0 and c.countdown[0, 1] == 0


def test_presynaptic_mask_equals_dense():
    rng = np.random.default_rng(4)
    N, B, P = 10, 2, 4
    sources = rng.integers(0, P, N).astype(np.int32)
    a, b = cpu_population(N, batch=B), cpu_population(N, batch=B)
    b.set_presynaptic_sources(sources, P)
    assert b.presynaptic_size == P
    for _ in range(8):
        pre = random_spikes(rng, (B, P), 0.3)
        a.step(pre[:, sources])
        b.step_presynaptic(pre)
    assert np.array_equal(a.g, b.g) and np.array_equal(a.countdown, b.countdown)


def test_poisson_is_reproducible_and_keyed_by_step():
    a, b = cpu_population(500, batch=2), cpu_population(500, batch=2)
    for _ in range(5):
        a.step_poisson(200.0, seed=11)
        b.step_poisson(200.0, seed=11)
    assert np.array_equal(a.g, b.g)
    assert a.countdown.any()  # p = 0.02 per element-step: some of 5000 draws spike
    c = cpu_population(500, batch=2)
    for _ in range(5):
        c.step_poisson(200.0, seed=12)
    assert not np.array_equal(a.g, c.g)
    # Rate 0 never spikes; a rate giving p >= 1 always does.
    d = cpu_population(50)
    d.step_poisson(0.0, seed=1)
    assert not d.countdown.any()
    d.step_poisson(1e4, seed=1)  # p = 1e4 * 0.1 / 1000 = 1
    assert d.countdown.all()


def test_set_state_gather_reset(precision):
    pop = cpu_population(5, batch=2, precision=precision, g0=0.25)
    pop.set_g(np.linspace(0, 1, 10))
    pop.set_x([0.5] * 5)  # N values: every batch entry
    assert_close(pop.g, np.linspace(0, 1, 10).reshape(2, 5), TOL[precision], "g")
    assert_close(pop.x, np.full((2, 5), 0.5), 0, "x")
    g, x = pop.gather([9, 0, 9])
    assert_close(g, [1.0, 0.0, 1.0], TOL[precision], "gathered g")
    assert_close(x, [0.5, 0.5, 0.5], 0, "gathered x")
    pop.step(np.ones(10, np.uint8))
    pop.reset()
    assert pop.step_count == 0
    assert np.all(pop.g == np.float32(0.25)) and np.all(pop.x == 0) and not pop.countdown.any()


def test_step_count_is_settable():
    pop = cpu_population(3)
    pop.step_count = 1000
    assert pop.step_count == 1000 and pop.time == pytest.approx(100.0)


def test_zero_units():
    pop = cpu_population(0, batch=2)
    pop.step()
    pop.step(np.zeros((2, 0), np.uint8))
    pop.step_window(3)
    assert pop.g.shape == (2, 0) and pop.step_count == 5


def test_stubs_and_docstrings_are_installed():
    import ast
    import pathlib

    stub = pathlib.Path(bionmda.__file__).with_name("_bionmda.pyi")
    tree = ast.parse(stub.read_text())
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert {"Population", "PostsynapticMap"} <= classes
    assert (pathlib.Path(bionmda.__file__).with_name("py.typed")).exists()
    doc = bionmda.Population.__init__.__doc__
    for unit in ("[1/ms]", "[1/(ms*mM)]", "[mM]", "[ms]"):
        assert unit in doc
