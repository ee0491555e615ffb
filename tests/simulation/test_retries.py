"""Retries and metastable overload in the simulator, checked against the fluid model and the m·ρ > 1 rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_lab.backlog import burst_backlog
from scaling_lab.simulation import Deterministic, Exponential, metastability_map, simulate_retries

BASE = dict(arrival_rate=100.0, service=Exponential(0.02), servers=4, timeout_s=0.3, burst_start_s=5.0,
            duration_s=40.0)


def test_without_a_spike_nothing_times_out_at_moderate_load():
    r = simulate_retries(**BASE, burst_rate=100.0, burst_s=0.0)
    assert r.recovered and r.time_to_recover_s == 0.0
    # M/M/4 at rho = 0.5: P(T > 0.3 s) is about e^-15; the 40 s run sees no timeout
    assert r.timeouts.sum() == 0 and r.abandoned_fraction == 0.0
    assert np.mean(r.goodput) == pytest.approx(100.0, rel=0.05)


def test_no_retries_recover_within_the_fluid_drain_time():
    # without retries the spike leaves a backlog B = (lambda_b - c mu) T that drains at c mu - lambda_0;
    # goodput comes back once the wait is below the timeout, i.e. a little before the fluid drain ends
    r = simulate_retries(**BASE, burst_rate=400.0, burst_s=3.0, retry_policy="none")
    fluid = burst_backlog(100.0, 400.0, 3.0, 50.0, 4)
    assert fluid.drain_time_s == pytest.approx(6.0)
    assert r.recovered
    assert 0.5 * fluid.drain_time_s <= r.time_to_recover_s <= fluid.drain_time_s + 1.0


@pytest.mark.parametrize("attempts, stuck", [(3, True), (1, False)])
def test_naive_retries_stay_stuck_exactly_when_m_rho_exceeds_one(attempts, stuck):
    # rho = 0.5: three attempts per request offer 1.5 > 1 once every attempt times out; one attempt 0.5
    r = simulate_retries(**BASE, burst_rate=400.0, burst_s=3.0, retry_policy="naive", max_attempts=attempts)
    assert r.recovered is (not stuck)
    if stuck:
        assert r.goodput[-10:].max() < 10.0  # goodput near zero at the end, 30 s after the spike
        assert r.wasted_work > 0.9
        assert r.attempts[-10:-1].mean() == pytest.approx(300.0, rel=0.1)  # m * lambda_0 attempts per second


def test_budget_and_shedding_recover_where_naive_retries_do_not():
    spike = dict(burst_rate=400.0, burst_s=3.0, max_attempts=3)
    naive = simulate_retries(**BASE, **spike, retry_policy="naive")
    budget = simulate_retries(**BASE, **spike, retry_policy="budget", budget_ratio=0.1)
    shed = simulate_retries(**BASE, **spike, retry_policy="naive", shed_wait_s=0.25)
    assert not naive.recovered
    assert budget.recovered and shed.recovered
    assert shed.time_to_recover_s <= budget.time_to_recover_s
    assert shed.wasted_work < 0.05


def test_small_spike_does_not_tip_the_system():
    # a spike whose backlog never makes a wait longer than the timeout leaves no trace
    r = simulate_retries(**BASE, burst_rate=220.0, burst_s=0.5, retry_policy="naive")
    assert r.recovered and r.time_to_recover_s <= 1.0


def test_map_is_monotone_in_spike_size():
    table = metastability_map(100.0, Exponential(0.02), 4, timeout_s=0.3, burst_rates=[220.0, 300.0, 500.0],
                              burst_lengths_s=[0.5, 2.0, 4.0], max_attempts=3, observe_s=15.0)
    grid = table.pivot(index="burst_rate", columns="burst_s", values="recovered").to_numpy()
    # once a spike tips the system, every larger or longer spike does too
    assert (np.diff(grid.astype(int), axis=0) <= 0).all() and (np.diff(grid.astype(int), axis=1) <= 0).all()
    assert grid[0, 0] and not grid[-1, -1]


def test_deterministic_service_and_the_same_seed_repeat():
    a = simulate_retries(**{**BASE, "service": Deterministic(0.02)}, burst_rate=300.0, burst_s=1.0, seed=3)
    b = simulate_retries(**{**BASE, "service": Deterministic(0.02)}, burst_rate=300.0, burst_s=1.0, seed=3)
    assert np.array_equal(a.goodput, b.goodput)
    assert math.isfinite(a.wasted_work)


@pytest.mark.parametrize("kwargs, param", [({"retry_policy": "forever"}, "retry_policy"),
                                           ({"max_attempts": 0}, "max_attempts"),
                                           ({"timeout_s": 0.0}, "timeout_s"),
                                           ({"budget_ratio": 0.0}, "budget_ratio"),
                                           ({"duration_s": 1e7}, "duration_s"),
                                           ({"servers": 0}, "servers")])
def test_bad_input_is_a_value_error(kwargs, param):
    with pytest.raises(ValueError, match=param):
        simulate_retries(**{**BASE, "burst_rate": 200.0, "burst_s": 1.0, **kwargs})


def test_metastability_map_needs_an_observation_with_a_last_third():
    with pytest.raises(ValueError, match="observe_s"):
        metastability_map(100.0, Exponential(0.02), 4, timeout_s=0.3, burst_rates=[220.0],
                          burst_lengths_s=[1.0], observe_s=2.0)  # its last third holds no 1 s bin
