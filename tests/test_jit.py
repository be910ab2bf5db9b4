"""The compiled loops (tspanel.jit) give bit-for-bit the results of their plain-Python source.

numba compiles without fast-math, so each float operation is the IEEE one Python does, in
the same order: the generator's queue columns and the staffing numbers do not depend on
whether numba is installed. Each loop runs compiled and as `.py_func` on the same random
inputs and the outputs are compared as bytes; a tiny queue is also worked by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from tspanel import queue_sim
from tspanel.models import forecast, staffing

pytest.importorskip("numba")  # a declared dependency; without it the plain loops run (same results)


def random_queues(rng: np.random.Generator, n: int) -> queue_sim.Queues:
    arrival = np.concatenate([-rng.uniform(0, 60, n // 3), rng.uniform(0, 200, n - n // 3)])
    work = rng.exponential(0.5, n)
    work[::9] = 0.0  # zero-work cases: equal cumulative sums
    return queue_sim.Queues.of(arrival, rng.integers(0, 4, n), work, np.arange(n))


def test_compiled_loops_are_numba():
    q = random_queues(np.random.default_rng(0), 50)
    q.start_times(np.ones(10))
    from numba.core.registry import CPUDispatcher

    assert isinstance(queue_sim._step_loop.compiled[0], CPUDispatcher)


@pytest.mark.parametrize("seed", range(6))
def test_step_loop_matches_python(seed):
    rng = np.random.default_rng(seed)
    q = random_queues(rng, int(rng.integers(0, 3000)))
    rate = np.where(rng.random(800) < 0.4, 0.0, rng.uniform(0.5, 80, 800))  # off-shift steps included
    compiled, plain = np.full(len(q.cases), np.nan), np.full(len(q.cases), np.nan)
    queue_sim._step_loop(q.arrival, q.cum, q.bounds, rate, queue_sim.STEP_HOURS, compiled)
    queue_sim._step_loop.py_func(q.arrival, q.cum, q.bounds, rate, queue_sim.STEP_HOURS, plain)
    assert compiled.tobytes() == plain.tobytes()
    assert len(compiled) < 3 or (~np.isnan(compiled)).sum() > 0  # the backlog at least starts
    count = rng.integers(0, 5, queue_sim.WEEK_STEPS)
    slot_rate = np.where(count > 0, rng.uniform(0.5, 3, queue_sim.WEEK_STEPS), 0.0)
    ends = queue_sim._pooled_ends(compiled, q.work, 37, count, slot_rate, queue_sim.STEP_HOURS)
    assert ends.tobytes() == queue_sim._pooled_ends.py_func(compiled, q.work, 37, count, slot_rate, 0.25).tobytes()
    masks = [rng.random(len(ends)) < 0.5 for _ in range(3)]
    args = (ends, q.arrival, *masks, 24.0, 168.0, 168.0)
    assert staffing._tally(*args) == staffing._tally.py_func(*args)


def test_tiny_queue_by_hand():
    """One reviewer-hour per hour; quarter-hour cases: critical A and B and low C at 0, critical D at 0.3.

    Critical first, first come first served: A at 0, B at 0.25, D (arrived at 0.3) at 0.5, then C at 0.75.
    """
    arrival = np.array([0.0, 0.0, 0.0, 0.3])  # A, B, C, D
    severity = np.array([3, 3, 0, 3])
    q = queue_sim.Queues.of(arrival, severity, np.full(4, 0.25), np.arange(4))
    start = np.empty(4)
    start[q.cases] = q.start_times(np.ones(8))
    assert start.tolist() == [0.0, 0.25, 0.75, 0.5]


@pytest.mark.parametrize("seed", range(4))
def test_holt_winters_pass_matches_python(seed):
    rng = np.random.default_rng(seed)
    y = rng.poisson(500, 70).astype(np.float64) * (1 + 0.3 * (np.arange(70) % 7 > 4))
    for alpha, beta, gamma in forecast.GRID[::5]:
        s1, s2 = np.empty(len(y)), np.empty(len(y))
        s1[:7] = s2[:7] = y[:7] - y[:7].mean()
        a = forecast._hw_loop(y, s1, float(y[:7].mean()), 1.5, alpha, beta, gamma, forecast.PHI)
        b = forecast._hw_loop.py_func(y, s2, float(y[:7].mean()), 1.5, alpha, beta, gamma, forecast.PHI)
        assert a == b
        assert s1.tobytes() == s2.tobytes()


@pytest.mark.parametrize("seed", range(3))
def test_holt_winters_grid_matches_one_pass_per_weight(seed):
    """The grid search's one compiled call gives each weight's sse exactly as its own pass does."""
    rng = np.random.default_rng(seed)
    y = rng.poisson(300, 63).astype(np.float64) * (1 + 0.4 * (np.arange(63) % 7 > 4))
    level, trend, first = forecast._hw_start(y)
    compiled = forecast._hw_grid(y, first, level, trend, forecast.GRID_ARRAY, forecast.PHI)
    plain = forecast._hw_grid.py_func(y, first, level, trend, forecast.GRID_ARRAY, forecast.PHI)
    one_by_one = [forecast._hw_pass(y, *weights)[0] for weights in forecast.GRID]
    assert compiled.tolist() == plain.tolist() == one_by_one
    assert forecast._best_weights(y) == min(forecast.GRID, key=lambda w: forecast._hw_pass(y, *w)[0])
