import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.backlog import (
    burst_backlog,
    decoupling_comparison,
    time_average_in_system,
    waiting_count,
    workers_for_drain_time,
)
from scaling_lab.approximations import MGc
from scaling_lab.queueing import MMc
from scaling_lab.simulation import Exponential, Gamma, PiecewisePoissonArrivals, simulate_queue


@pytest.fixture(scope="module")
def burst_run():
    # 20 jobs/s, a 10-minute burst at 60 jobs/s, 14 workers of 2 jobs/s each
    arrivals = PiecewisePoissonArrivals((20.0, 60.0, 20.0), (600.0, 600.0, 6000.0))
    return simulate_queue(None, None, 14, arrivals=arrivals, service=Exponential(0.5), n_requests=140_000,
                          seed=2, warmup_fraction=0.0, return_records=True).records


def test_fluid_backlog_matches_simulation(burst_run):
    b = burst_backlog(20.0, 60.0, 600.0, 2.0, 14)
    assert b.peak_backlog == pytest.approx((60 - 28) * 600)
    t = np.array([900.0, 1200.0, 1800.0, 2400.0, 3000.0])
    sim = waiting_count(burst_run["arrival"], burst_run["start"], t)
    assert sim == pytest.approx(b.backlog_at(t - 600.0), rel=0.06)
    # well before and well after the burst the queue is the ordinary stationary one: small
    assert waiting_count(burst_run["arrival"], burst_run["start"], [500.0, 4500.0]).max() < 50


def test_worst_wait_matches_simulation(burst_run):
    b = burst_backlog(20.0, 60.0, 600.0, 2.0, 14)
    rec = burst_run
    near_end = rec[(rec["arrival"] > 1190.0) & (rec["arrival"] < 1200.0)]
    assert (near_end["start"] - near_end["arrival"]).mean() == pytest.approx(b.max_wait_s, rel=0.05)


def test_burst_identities():
    b = burst_backlog(10.0, 50.0, 120.0, 1.0, 30)
    assert b.capacity == 30.0 and b.peak_backlog == pytest.approx(2400.0)
    assert b.drain_time_s == pytest.approx(120.0) and b.time_to_empty_s == pytest.approx(240.0)
    assert b.max_wait_s == pytest.approx(80.0)
    assert b.backlog_at([0.0, 60.0, 120.0, 180.0, 240.0, 1e6]) == pytest.approx([0, 1200, 2400, 1200, 0, 0])
    none = burst_backlog(10.0, 25.0, 120.0, 1.0, 30)  # the pool keeps up with the burst
    assert none.peak_backlog == 0 and none.drain_time_s == 0 and none.time_to_empty_s == 0


def test_pool_too_small_for_base_rate_is_not_an_error():
    b = burst_backlog(40.0, 80.0, 60.0, 1.0, 30)
    assert b.drain_time_s == math.inf
    assert b.backlog_at(160.0) == pytest.approx(50 * 60 + 10 * 100)


@settings(max_examples=80, deadline=None)
@given(st.floats(0.0, 500.0), st.floats(1.0, 5.0), st.floats(1.0, 3600.0), st.floats(0.01, 10.0),
       st.floats(0.0, 7200.0))
def test_workers_for_drain_time_is_least_sufficient(base, burst_factor, burst_s, mu, target):
    lb = base * burst_factor + 1.0
    c = workers_for_drain_time(base, lb, burst_s, mu, target)
    assert burst_backlog(base, lb, burst_s, mu, c).drain_time_s <= target * (1 + 1e-9) + 1e-9
    assert c * mu > base
    if c > max(1, math.floor(base / mu) + 1):
        assert burst_backlog(base, lb, burst_s, mu, c - 1).drain_time_s > target


def test_workers_for_drain_time_limits():
    assert workers_for_drain_time(20.0, 60.0, 600.0, 2.0, 0.0) == 30          # no backlog at all
    assert workers_for_drain_time(20.0, 60.0, 600.0, 2.0, math.inf) == 11     # only stability
    assert workers_for_drain_time(20.0, 60.0, 600.0, 2.0, 300.0) == 24        # (60*600+20*300)/(900*2)


def test_littles_law_on_simulation():
    sim = simulate_queue(30.0, 4.0, 10, n_requests=200_000, seed=8, return_records=True)
    rec = sim.records
    t0, t1 = rec["arrival"].iloc[0], rec["arrival"].iloc[-1]
    inside = (rec["arrival"] >= t0) & (rec["finish"] <= t1)
    lam = inside.sum() / (t1 - t0)
    big_l = time_average_in_system(rec["arrival"], rec["finish"], t0, t1)
    assert big_l == pytest.approx(lam * rec["response"][inside].mean(), rel=0.01)
    assert big_l == pytest.approx(MMc(30.0, 4.0, 10).mean_in_system, rel=0.05)
    lq = np.mean(waiting_count(rec["arrival"], rec["start"], np.linspace(t0 + 10, t1 - 10, 20_000)))
    assert lq == pytest.approx(MMc(30.0, 4.0, 10).mean_queue_length, rel=0.1)


def test_time_average_exact_small_case():
    # two jobs: [0, 2] and [1, 4], window [0, 4]: (2 + 3) / 4
    assert time_average_in_system([0.0, 1.0], [2.0, 4.0], 0.0, 4.0) == pytest.approx(1.25)
    assert waiting_count([0.0, 1.0, 2.0], [0.5, 3.0, 3.5], [0.0, 1.5, 3.2, 10.0]).tolist() == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="starts must not precede arrivals"):  # never a count below zero
        waiting_count([0.0, 1.0, 2.0], [0.5, 0.8, 3.0], 2.5)  # two starts by 0.8 s, one arrival


def test_decoupling_comparison_components():
    df = decoupling_comparison(20.0, 0.05, 0.5, web_workers=16, job_workers=14, enqueue_s=0.002, job_scv=4.0)
    assert df.loc["queued", "web_mean_response_s"] == pytest.approx(float(MMc(20.0, 1 / 0.052, 16).mean_response))
    inline = MGc(20.0, 1 / 0.55, 16, scv=(0.05**2 + 4 * 0.5**2) / 0.55**2)
    assert df.loc["inline", "web_mean_response_s"] == pytest.approx(float(inline.mean_response))
    assert df.loc["inline", "web_utilization"] == pytest.approx(20 * 0.55 / 16)
    assert df.loc["queued", "job_pool_utilization"] == pytest.approx(20 * 0.5 / 14)
    assert df.loc["queued", "web_mean_response_s"] < 0.1 * df.loc["inline", "web_mean_response_s"]
    over = decoupling_comparison(20.0, 0.05, 0.5, web_workers=10, job_workers=4)
    assert over.loc["inline", "web_mean_response_s"] == np.inf and over.loc["queued", "job_done_mean_s"] == np.inf


def test_variable_job_sizes_pool_against_simulation():
    # the job pool of decoupling_comparison with gamma job sizes: Allen-Cunneen within the simulation's CI
    for scv in (0.25, 4.0):
        sim = simulate_queue(24.0, None, 14, service=Gamma(mean=0.5, scv=scv), n_requests=200_000, seed=5)
        model = MGc(24.0, 2.0, 14, scv=scv)
        assert sim.mean_wait == pytest.approx(model.mean_wait, abs=3 * sim.mean_wait_ci)


@pytest.mark.parametrize("call, match", [
    (lambda: burst_backlog(-1.0, 10.0, 60.0, 1.0, 2), 'base_rate'),
    (lambda: burst_backlog(1.0, 10.0, 60.0, 0.0, 2), 'service_rate'),
    (lambda: burst_backlog(1.0, 10.0, 60.0, 1.0, 0), 'workers'),
    (lambda: burst_backlog(1.0, 10.0, 60.0, 1.0, 2).backlog_at(-1.0), 't_s'),
    (lambda: workers_for_drain_time(1.0, 10.0, 60.0, 1.0, -5.0), 'drain_target_s'),
    (lambda: waiting_count([0.0, 1.0], [0.5], 1.0), 'starts'),
    (lambda: time_average_in_system([0.0], [1.0], 2.0, 1.0), 't1'),
    (lambda: time_average_in_system([1.0], [0.5], 0.0, 1.0), 'departures'),
    (lambda: decoupling_comparison(10.0, 0.05, 0.5, web_workers=0, job_workers=4), 'web_workers'),
    (lambda: decoupling_comparison(10.0, 0.05, 0.5, web_workers=4, job_workers=4, job_scv=-1), 'job_scv'),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- bounded queues, back-pressure and delivery semantics ----------------------------------------
def _simulate_mmck(arrival_rate, service_rate, servers, buffer_size, n, seed):
    """Event-by-event M/M/c/(c+K): the share of arrivals that find every place taken."""
    rng = np.random.default_rng(seed)
    busy_until = np.zeros(servers)
    waiting = []                        # start times of queued jobs are decided on arrival (FCFS)
    t, rejected = 0.0, 0
    for _ in range(n):
        t += rng.exponential(1 / arrival_rate)
        waiting = [s for s in waiting if s > t]        # jobs still waiting at t
        in_service = np.sum(busy_until > t)
        if in_service + len(waiting) >= servers + buffer_size:
            rejected += 1
            continue
        j = int(np.argmin(busy_until))
        start = max(t, busy_until[j])
        if start > t:
            waiting.append(start)
        busy_until[j] = start + rng.exponential(1 / service_rate)
    return rejected / n


def test_bounded_queue_rejection_identities():
    from scaling_lab.backlog import prob_rejected_bounded
    from scaling_lab.queueing import erlang_b

    assert prob_rejected_bounded(20.0, 2.0, 14, 0) == pytest.approx(erlang_b(14, 10.0), rel=1e-12)
    for rho, k in ((0.5, 3), (0.9, 10), (1.3, 7)):
        one = rho ** (k + 1) * (1 - rho) / (1 - rho ** (k + 2))   # M/M/1 with K+1 places in all
        assert prob_rejected_bounded(rho, 1.0, 1, k) == pytest.approx(one, rel=1e-10)
    assert prob_rejected_bounded(1.0, 1.0, 1, 4) == pytest.approx(1 / 6)
    assert prob_rejected_bounded(30.0, 2.0, 14, 10**6) == pytest.approx(1 - 28 / 30, rel=1e-9)
    assert prob_rejected_bounded(20.0, 2.0, 14, 10**6) < 1e-12


@pytest.mark.parametrize("rate, k", [(20.0, 5), (26.0, 20), (34.0, 10)])
def test_bounded_queue_rejection_against_event_simulation(rate, k):
    from scaling_lab.backlog import prob_rejected_bounded

    model = prob_rejected_bounded(rate, 2.0, 14, k)
    sim = _simulate_mmck(rate, 2.0, 14, k, 60_000, seed=7)
    assert sim == pytest.approx(model, abs=max(0.1 * model, 0.003))


def test_bounded_burst_caps_the_wait_and_conserves_jobs():
    from scaling_lab.backlog import bounded_burst

    free = burst_backlog(20.0, 60.0, 600.0, 2.0, 14)
    big = bounded_burst(20.0, 60.0, 600.0, 2.0, 14, 10**6)
    assert (big.peak_backlog, big.rejected, big.drain_time_s) == (free.peak_backlog, 0.0, free.drain_time_s)
    b = bounded_burst(20.0, 60.0, 600.0, 2.0, 14, 5000)
    # every job of the burst is served, still waiting, or rejected
    assert 60.0 * 600.0 == pytest.approx(free.capacity * 600.0 + b.peak_backlog + b.rejected)
    assert b.max_wait_s == pytest.approx(5000 / 28) and b.time_to_full_s == pytest.approx(5000 / 32)


def test_delivery_outcome_against_monte_carlo_redelivery():
    from scaling_lab.backlog import delivery_outcome

    p, n, poison, e = 0.3, 4, 0.05, 0.4
    rng = np.random.default_rng(2)
    m = 200_000
    is_poison = rng.random(m) < poison
    fails = rng.random((m, n)) < p
    fails[is_poison] = True
    first_ok = np.where(fails.all(axis=1), n, fails.argmin(axis=1))       # index of the successful attempt
    attempts = np.minimum(first_ok + 1, n)
    failed_attempts = np.where(first_ok == n, n, first_ok)
    after_effect = rng.random((m, n)) < e
    dup = np.sum(after_effect & (np.arange(n)[None, :] < failed_attempts[:, None]), axis=1)
    executions = dup + (first_ok < n)
    out = delivery_outcome(p, n, prob_poison=poison, prob_after_effect=e)
    assert attempts.mean() == pytest.approx(out.mean_attempts, rel=0.01)
    assert np.mean(first_ok == n) == pytest.approx(out.prob_dead_letter, rel=0.03)
    assert executions.mean() == pytest.approx(out.mean_executions, rel=0.01)
    with pytest.raises(ValueError, match="max_attempts"):
        delivery_outcome(0.1, 0)


def test_workers_for_drain_time_past_the_float_range():
    from scaling_lab.backlog import BurstBacklog, burst_backlog, workers_for_drain_time  # noqa: F401
    # a burst of 1e308 s: the average rate is the burst rate, workers = ceil(30 / 1)
    assert workers_for_drain_time(10.0, 30.0, 1e308, 1.0, 120.0) == 30
    assert workers_for_drain_time(10.0, 30.0, 60.0, 1.0, 1e308) == 11
    for kwargs, param in (({"base_rate": 1e308}, "base_rate"), ({"burst_rate": 1e308}, "burst_rate")):
        args = dict({"base_rate": 10.0, "burst_rate": 30.0, "burst_s": 60.0, "service_rate": 1.0,
                     "drain_target_s": 120.0}, **kwargs)
        with pytest.raises(ValueError, match=param):
            workers_for_drain_time(**args)


def test_decoupling_with_a_service_time_past_the_float_range_is_unstable_not_an_error():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = decoupling_comparison(50.0, 1e308, 1.0, web_workers=8, job_workers=4)
    assert df.loc["inline", "web_mean_response_s"] == np.inf


def test_decoupling_service_times_need_a_finite_rate():
    with pytest.raises(ValueError, match="job_service_s"):
        decoupling_comparison(20.0, 0.05, 5e-324, web_workers=16, job_workers=14)
