"""Windows of K steps give the same bits as K single steps, for every input kind."""

import numpy as np
import pytest

from conftest import cpu_population, random_spikes


def pack_bits(mask):
    """[..., N] bytes -> [..., ceil(N/32)] uint32 words, unit i at bit i % 32 of word i // 32."""
    n = mask.shape[-1]
    w = (n + 31) // 32
    padded = np.zeros(mask.shape[:-1] + (w * 32,), np.uint8)
    padded[..., :n] = mask != 0
    bits = padded.reshape(mask.shape[:-1] + (w, 32)).astype(np.uint64)
    return (bits << np.arange(32, dtype=np.uint64)).sum(axis=-1).astype(np.uint32)


def same_state(a, b):
    return (np.array_equal(a.g, b.g) and np.array_equal(a.x, b.x) and np.array_equal(a.countdown, b.countdown)
            and a.step_count == b.step_count)


def pair(N, B, precision, **kw):
    rng = np.random.default_rng(5)
    g0 = rng.uniform(0, 0.3, (B, N))
    return (cpu_population(N, batch=B, precision=precision, g0=g0, **kw),
            cpu_population(N, batch=B, precision=precision, g0=g0, **kw))


# Sizes: one unit, a non-multiple of 32 (bit words with a partial last word), more than a word.
@pytest.mark.parametrize("N,B,K", [(1, 1, 1), (45, 2, 7), (100, 3, 16)])
def test_dense_window_equals_steps(precision, N, B, K):
    rng = np.random.default_rng(N)
    a, b = pair(N, B, precision)
    for _ in range(2):
        spikes = random_spikes(rng, (K, B, N), 0.1)
        for k in range(K):
            a.step(spikes[k])
        assert b.step_window(K, spikes) is None
        assert same_state(a, b)


@pytest.mark.parametrize("N,B,K", [(1, 1, 3), (45, 2, 7), (100, 3, 16)])
def test_bit_window_equals_steps(precision, N, B, K):
    rng = np.random.default_rng(N + 1)
    a, b = pair(N, B, precision)
    spikes = random_spikes(rng, (K, B, N), 0.1)
    words = pack_bits(spikes)
    # Bits past N in a row's last word are ignored.
    if N % 32:
        words[..., -1] |= np.uint32(1 << 31)
    for k in range(K):
        a.step(spikes[k])
    b.step_window(K, words)
    assert same_state(a, b)


def test_empty_window_equals_steps_without_spikes(precision):
    a, b = pair(20, 2, precision)
    a.step(np.ones((2, 20), np.uint8))
    b.step(np.ones((2, 20), np.uint8))
    for _ in range(9):
        a.step()
    b.step_window(9)
    assert same_state(a, b)
    b.step_window(0)  # does nothing
    assert same_state(a, b)


def test_poisson_window_equals_steps(precision):
    a, b = pair(300, 2, precision)
    for _ in range(12):
        a.step_poisson(150.0, seed=3)
    b.step_window_poisson(12, 150.0, seed=3)
    assert same_state(a, b)
    assert a.countdown.any()


def test_events_window_equals_steps(precision):
    rng = np.random.default_rng(9)
    N, B, K = 30, 2, 6
    a, b = pair(N, B, precision)
    spikes = random_spikes(rng, (K, B, N), 0.2)
    per_step = [np.flatnonzero(spikes[k]) for k in range(K)]
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in per_step])])
    for k in range(K):
        a.step_events(per_step[k])
    b.step_window_events(K, offsets, np.concatenate(per_step))
    assert same_state(a, b)


def test_presynaptic_windows_equal_steps(precision):
    rng = np.random.default_rng(10)
    N, B, P, K = 50, 2, 40, 5
    sources = rng.integers(0, P, N).astype(np.int32)
    a, b = pair(N, B, precision)
    _, c = pair(N, B, precision)
    for pop in (a, b, c):
        pop.set_presynaptic_sources(sources, P)
    pre = random_spikes(rng, (K, B, P), 0.2)
    for k in range(K):
        a.step_presynaptic(pre[k])
    b.step_window_presynaptic(K, pre)
    c.step_window_presynaptic(K, pack_bits(pre))
    assert same_state(a, b) and same_state(a, c)


def test_recorded_trace_equals_per_step_state(precision):
    rng = np.random.default_rng(12)
    N, B, K = 16, 2, 8
    a, b = pair(N, B, precision)
    recorded = np.array([0, 31, 5, 5, 17])
    b.set_recorded_elements(recorded)
    assert b.recorded_count == len(recorded)
    spikes = random_spikes(rng, (K, B, N), 0.2)
    g_trace, x_trace = b.step_window(K, spikes, record=True)
    dtype = np.float32 if precision == "float32" else np.float64
    assert g_trace.shape == (K, len(recorded)) and g_trace.dtype == dtype
    for k in range(K):
        a.step(spikes[k])
        assert np.array_equal(g_trace[k], a.g.reshape(-1)[recorded])
        assert np.array_equal(x_trace[k], a.x.reshape(-1)[recorded])
    assert same_state(a, b)
    g_p, _ = b.step_window_poisson(3, 100.0, seed=1, record=True)
    assert g_p.shape == (3, len(recorded))
