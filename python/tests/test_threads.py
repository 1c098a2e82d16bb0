"""Steps release the GIL, and a population used from several threads stays consistent."""

import threading
import time

import numpy as np

from conftest import cpu_population


def test_gil_is_released_during_a_window():
    # One thread runs a long window; the main thread counts how often it gets
    # to run Python meanwhile. With the GIL held for the whole call it could
    # not run at all between the call's start and end.
    pop = cpu_population(1 << 16, batch=4, threads=1)
    start = time.perf_counter()
    pop.step_window(50)
    single = time.perf_counter() - start
    steps = max(50, int(50 * 0.3 / max(single, 1e-6)))  # aim at about 0.3 s

    entered, done = threading.Event(), threading.Event()

    def worker():
        entered.set()
        pop.step_window(steps)
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    entered.wait()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    # A held GIL would allow at most a switch or two before and after the call.
    assert ticks >= 10, f"the main thread ran only {ticks} times during a {steps}-step window"


def test_concurrent_steps_are_serialised():
    # Several threads stepping one population: the population's lock runs the
    # calls one after another, so the result equals the same steps in a row.
    rng = np.random.default_rng(0)
    spikes = (rng.random((8, 2, 1000)) < 0.1).astype(np.uint8)
    shared, alone = cpu_population(1000, batch=2), cpu_population(1000, batch=2)

    def worker():
        for _ in range(10):
            shared.step_window(8, spikes)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(40):
        alone.step_window(8, spikes)
    assert shared.step_count == alone.step_count == 320
    assert np.array_equal(shared.g, alone.g) and np.array_equal(shared.x, alone.x)
