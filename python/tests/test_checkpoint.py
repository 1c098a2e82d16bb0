"""Checkpoints: save, load and restore round trips."""

import pathlib

import numpy as np

import bionmda
from conftest import cpu_population, random_spikes


def same_state(a, b):
    return (np.array_equal(a.g, b.g) and np.array_equal(a.x, b.x) and np.array_equal(a.countdown, b.countdown)
            and a.step_count == b.step_count)


def make(precision):
    rng = np.random.default_rng(21)
    N, B = 33, 2
    pop = cpu_population(N, batch=B, dt=0.05, precision=precision, alpha1=rng.uniform(1, 3, N), T_dur=0.35,
                         g0=rng.uniform(0, 0.2, (B, N)))
    pop.set_presynaptic_sources(rng.integers(0, 7, N).astype(np.int32), 7)
    return pop


def test_n_steps_save_load_m_steps_equals_n_plus_m(tmp_path, precision):
    rng = np.random.default_rng(3)
    straight, saved = make(precision), make(precision)
    for pop in (straight, saved):
        for _ in range(5):
            pop.step_poisson(300.0, seed=9)
    path = tmp_path / "state.ckpt"
    saved.save(path, poisson_seed=9)
    info = bionmda.checkpoint_info(path)
    assert info == {"units": 33, "batch": 2, "step_count": 5, "dt": 0.05, "precision": precision,
                    "poisson_seed": 9}
    loaded = bionmda.Population.load(str(path), backend="cpu")
    assert (loaded.units, loaded.batch, loaded.dt, loaded.precision) == (33, 2, 0.05, precision)
    assert loaded.presynaptic_size == 7 and loaded.pulse_steps() == straight.pulse_steps() == 7
    assert same_state(loaded, straight)
    pre = random_spikes(rng, (4, 2, 7), 0.3)
    for pop in (straight, loaded):
        for _ in range(3):
            pop.step_poisson(300.0, seed=info["poisson_seed"])
        pop.step_window_presynaptic(4, pre)
    assert same_state(loaded, straight)


def test_restore_in_place(tmp_path, precision):
    pop = make(precision)
    pop.step_window_poisson(6, 400.0, seed=1)
    path = pathlib.Path(tmp_path) / "a.ckpt"
    pop.save(path)
    g, x, cd, count = pop.g, pop.x, pop.countdown, pop.step_count
    view = np.from_dlpack(pop)
    pop.step_window_poisson(6, 400.0, seed=1)
    assert not np.array_equal(pop.g, g)
    pop.restore(path)
    assert np.array_equal(pop.g, g) and np.array_equal(pop.x, x) and np.array_equal(pop.countdown, cd)
    assert pop.step_count == count
    assert np.array_equal(view, g)  # the same buffers, so views stay valid
