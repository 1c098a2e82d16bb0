"""PostsynapticMap against NumPy sums and the Mg-block formula of docs/model.md."""

import numpy as np
import pytest

import bionmda
from conftest import TOL, assert_close, cpu_population, random_spikes


def random_csr(rng, n_post, n_source, max_per_row=6):
    counts = rng.integers(0, max_per_row + 1, n_post)
    counts[0] = 0  # an empty row
    row_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    nnz = int(row_offsets[-1])
    source = rng.integers(0, n_source, nnz).astype(np.int32)
    gmax = rng.uniform(0.1, 2.0, nnz)
    return row_offsets, source, gmax


def post_sums(g, row_offsets, values):
    """g_post[b][j] = sum over k in row j of values(b, k)."""
    B = g.shape[0]
    n_post = len(row_offsets) - 1
    out = np.zeros((B, n_post))
    for j in range(n_post):
        for k in range(row_offsets[j], row_offsets[j + 1]):
            out[:, j] += values(k)
    return out


def mg_current(g_post, V, E=0.0, cc_Mg=1.2, alpha=0.062, beta=3.57, V_offset=0.0):
    return g_post * (E - V) / (1 + (cc_Mg / beta) * np.exp(alpha * (V_offset - V)))


def test_compute_per_presynaptic(precision):
    rng = np.random.default_rng(8)
    N, B, n_post = 20, 3, 9
    pop = cpu_population(N, batch=B, precision=precision)
    rows, source, gmax = random_csr(rng, n_post, N)
    m = bionmda.PostsynapticMap(pop, rows, source, gmax, E=5.0, cc_Mg=1.0, alpha=0.07, beta=3.0, V_offset=-2.0)
    assert (m.n_post, m.synapses, m.is_per_synapse) == (n_post, len(source), False)
    assert m.population is pop
    for _ in range(5):
        pop.step(random_spikes(rng, (B, N), 0.3))
    g = pop.g.astype(np.float64)
    expected = post_sums(g, rows, lambda k: gmax[k] * g[:, source[k]])
    g_post = m.compute()
    assert g_post.shape == (B, n_post) and g_post.dtype == pop.g.dtype
    # Sums of up to 6 terms of gmax <= 2 times g <= 1, each rounded in the state's precision.
    assert_close(g_post, expected, 10 * TOL[precision], "g_post")
    V = rng.uniform(-80, 20, (B, n_post))
    g_post2, current = m.compute(V)
    assert np.array_equal(g_post2, g_post)
    assert_close(current, mg_current(expected, V, E=5.0, cc_Mg=1.0, alpha=0.07, beta=3.0, V_offset=-2.0),
                 1e-3 if precision == "float32" else 1e-10, "I")


def test_map_keeps_population_alive():
    pop = cpu_population(3, g0=0.5)
    m = bionmda.PostsynapticMap(pop, [0, 3], [0, 1, 2], [1.0, 2.0, 3.0])
    del pop
    assert_close(m.compute(), [[3.0]], 1e-6, "g_post")


def test_per_synapse_step(precision):
    rng = np.random.default_rng(13)
    B, n_pre, n_post = 2, 6, 5
    rows, source, gmax = random_csr(rng, n_post, n_pre)
    nnz = len(source)
    # The twin steps the same synapses through step_presynaptic, without the map.
    alpha1 = rng.uniform(1, 3, nnz)
    pop = cpu_population(nnz, batch=B, precision=precision, alpha1=alpha1)
    twin = cpu_population(nnz, batch=B, precision=precision, alpha1=alpha1)
    m = bionmda.PostsynapticMap.per_synapse(pop, rows, source, gmax, n_pre)
    assert m.is_per_synapse and pop.presynaptic_size == n_pre
    twin.set_presynaptic_sources(source, n_pre)
    for _ in range(4):
        pre = random_spikes(rng, (B, n_pre), 0.4)
        g_post = m.step(pre)
        twin.step_presynaptic(pre)
        assert np.array_equal(pop.g, twin.g)
        g = twin.g.astype(np.float64)
        assert_close(g_post, post_sums(g, rows, lambda k: gmax[k] * g[:, k]), 10 * TOL[precision], "g_post")
    V = np.full((B, n_post), -65.0)
    g_post, current = m.step(np.zeros((B, n_pre), np.uint8), V)
    assert_close(current, mg_current(g_post.astype(np.float64), V), 1e-4 if precision == "float32" else 1e-10, "I")
