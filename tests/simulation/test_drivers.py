"""The simulator against exact queueing theory, identities and its own invariants."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.queueing import MG1, MMc
from scaling_lab.approximations import MGc
from scaling_lab.simulation import (
    ROUTING_POLICIES,
    Deterministic,
    Exponential,
    Gamma,
    HyperExponential,
    LogNormal,
    OnOffArrivals,
    PiecewisePoissonArrivals,
    PoissonArrivals,
    RenewalArrivals,
    batch_means_ci,
    fcfs_start_times,
    simulate_pool,
    simulate_queue,
)


def within_ci(estimate, half_width, truth):
    return abs(estimate - truth) <= half_width


# -- single station vs exact theory ------------------------------------------
def test_mm1_mean_wait_and_response_within_ci():
    r = simulate_queue(0.8, 1.0, 1, n_requests=400_000, seed=1)
    m = MMc(0.8, 1.0, 1)
    assert within_ci(r.mean_wait, r.mean_wait_ci, m.mean_wait)
    assert within_ci(r.mean_response, r.mean_response_ci, m.mean_response)
    assert within_ci(r.prob_wait, r.prob_wait_ci, m.prob_wait)


def test_mmc_matches_erlang_c_and_quantiles():
    r = simulate_queue(3.4, 1.0, 4, n_requests=1_000_000, seed=2)
    m = MMc(3.4, 1.0, 4)
    assert within_ci(r.mean_wait, r.mean_wait_ci, m.mean_wait)
    assert within_ci(r.prob_wait, r.prob_wait_ci, m.prob_wait)
    # the empirical 95th percentile of the response time within 3 % of the exact one
    assert r.response_quantile(0.95) == pytest.approx(m.response_quantile(0.95), rel=0.03)


def test_md1_matches_pollaczek_khinchine():
    r = simulate_queue(0.7, 1.0, 1, service=Deterministic(1.0), n_requests=200_000, seed=3)
    exact = 0.7 / (2 * (1 - 0.7))  # M/D/1: rho / (2 mu (1 - rho))
    assert MG1(0.7, 1.0, scv=0.0).mean_wait == pytest.approx(exact)
    assert within_ci(r.mean_wait, r.mean_wait_ci, exact)


@pytest.mark.parametrize("service", [LogNormal(0.5, 3.0), HyperExponential(0.5, 5.0), Gamma(0.5, 0.25)])
def test_mg1_matches_pollaczek_khinchine(service):
    lam = 1.2  # rho = 0.6
    r = simulate_queue(lam, None, 1, service=service, n_requests=400_000, seed=4)
    theory = MG1(lam, 1 / service.mean, service.scv)
    assert within_ci(r.mean_wait, r.mean_wait_ci, theory.mean_wait)
    assert within_ci(r.prob_wait, r.prob_wait_ci, theory.prob_wait)


@pytest.mark.parametrize("scv", [0.0, 4.0])
def test_mgc_allen_cunneen_is_close_to_simulation(scv):
    service = Deterministic(1.0) if scv == 0 else HyperExponential(1.0, scv)
    r = simulate_queue(3.4, 1.0, 4, service=service, n_requests=300_000, seed=5)
    approx = MGc(3.4, 1.0, 4, scv=scv).mean_wait
    assert r.mean_wait == pytest.approx(approx, rel=0.12)


def test_bursty_arrivals_wait_longer_than_poisson():
    poisson = simulate_queue(0.7, 1.0, 1, n_requests=200_000, seed=6)
    bursty = simulate_queue(None, 1.0, 1, arrivals=HyperExponential(1 / 0.7, 4.0), n_requests=200_000, seed=6)
    # Kingman/Allen-Cunneen: wait scales with (ca^2 + cs^2)/2 = 2.5 for these two (exact for Poisson)
    assert bursty.mean_wait > 2 * poisson.mean_wait
    assert bursty.mean_wait == pytest.approx(MGc(0.7, 1.0, 1, arrival_scv=4.0).mean_wait, rel=0.2)


# -- distributions and arrival processes ---------------------------------------
@pytest.mark.parametrize("dist", [Exponential(2.0), Deterministic(0.3), LogNormal(0.1, 4.0),
                                  HyperExponential(1.0, 10.0), Gamma(3.0, 0.5)])
def test_distribution_moments(dist):
    x = dist.sample(np.random.default_rng(7), 2_000_000)
    assert x.mean() == pytest.approx(dist.mean, rel=0.01)
    assert x.var() / x.mean() ** 2 == pytest.approx(dist.scv, rel=0.1, abs=1e-12)
    assert dist.second_moment == pytest.approx(dist.mean**2 * (1 + dist.scv))
    assert (x >= 0).all()
    assert type(dist).__name__ + "(" in repr(dist)


@pytest.mark.parametrize("proc", [PoissonArrivals(5.0), RenewalArrivals(Deterministic(0.25)),
                                  OnOffArrivals(10.0, 2.0, 3.0),
                                  PiecewisePoissonArrivals((1.0, 0.0, 4.0), (10.0, 5.0, 5.0))])
def test_arrival_processes_have_their_mean_rate(proc):
    t = proc.times(np.random.default_rng(8), 400_000)
    assert (np.diff(t) >= 0).all() and t[0] > 0
    assert len(t) / t[-1] == pytest.approx(proc.arrival_rate, rel=0.02)


def test_piecewise_arrivals_follow_the_rate_curve():
    proc = PiecewisePoissonArrivals((1.0, 0.0, 4.0), (10.0, 5.0, 5.0))
    phase = proc.times(np.random.default_rng(9), 300_000) % proc.period_s
    counts = np.histogram(phase, bins=[0, 10, 15, 20])[0]
    assert counts[1] == 0
    assert counts[2] / counts[0] == pytest.approx(4.0 * 5 / 10, rel=0.03)


def test_on_off_arrivals_are_bursty():
    t = OnOffArrivals(10.0, 1.0, 1.0).times(np.random.default_rng(10), 200_000)
    counts = np.bincount(t.astype(int))[:-1]  # arrivals per 1-second window
    assert counts.var() / counts.mean() > 3  # Poisson would give an index of dispersion of 1


# -- the router pool -----------------------------------------------------------
def test_random_routing_is_k_independent_mm1_queues():
    r = simulate_pool(8.0, Exponential(1.0), 10, "random", n_requests=400_000, seed=11)
    m = MMc(0.8, 1.0, 1)
    assert within_ci(r.mean_response, r.mean_response_ci, m.mean_response)
    assert r.utilization == pytest.approx(np.full(10, 0.8), abs=0.03)


def test_policy_ranking_with_variable_service():
    service = HyperExponential(1.0, 10.0)
    means = {p: simulate_pool(16.0, service, 20, p, n_requests=200_000, seed=12).mean_response for p in ROUTING_POLICIES}
    assert means["least_work"] < means["jsq"] < means["power_of_d"] < means["round_robin"] < means["random"]


def test_power_of_d_with_all_stations_is_jsq_and_d1_is_random():
    service = Exponential(1.0)
    jsq = simulate_pool(8.5, service, 10, "jsq", n_requests=100_000, seed=13)
    pod = simulate_pool(8.5, service, 10, "power_of_d", d=10, n_requests=100_000, seed=13)
    assert pod.mean_response == pytest.approx(jsq.mean_response, rel=0.05)
    d1 = simulate_pool(8.5, service, 10, "power_of_d", d=1, n_requests=200_000, seed=13)
    assert within_ci(d1.mean_response, d1.mean_response_ci, MMc(0.85, 1.0, 1).mean_response)


def test_single_station_pool_is_the_mmc_queue():
    r = simulate_pool(3.4, Exponential(1.0), 1, "jsq", workers_per_server=4, n_requests=300_000, seed=14)
    assert within_ci(r.mean_wait, r.mean_wait_ci, MMc(3.4, 1.0, 4).mean_wait)


def test_router_skips_a_station_while_it_is_down():
    r = simulate_pool(3.0, Exponential(1.0), 4, "round_robin", n_requests=20_000, seed=15,
                      warmup_fraction=0.0, outages=[(2, 1000.0, 2000.0)], return_records=True)
    df = r.records
    during = (df.arrival >= 1000) & (df.arrival < 2000)
    assert not ((df.station == 2) & during).any()
    assert ((df.station == 2) & ~during).sum() > 1000


def test_outage_freezes_the_server():
    r = simulate_queue(1.2, 1.0, 2, n_requests=20_000, seed=16, warmup_fraction=0.0,
                       outages=[(0, 1000.0, 1500.0)], return_records=True)
    df = r.records
    s0 = df[df.server == 0]
    assert not ((s0.start >= 1000) & (s0.start < 1500)).any()
    cut = s0[(s0.start < 1000) & (s0.finish > 1000)]
    assert len(cut) == 1  # the request in service resumes after the outage
    assert cut.finish.iloc[0] - cut.start.iloc[0] == pytest.approx(cut.service.iloc[0] + 500.0)
    healthy = simulate_queue(1.2, 1.0, 2, n_requests=20_000, seed=16, warmup_fraction=0.0)
    assert r.mean_wait > healthy.mean_wait


# -- records, seeds and invariants ---------------------------------------------
def test_records_are_consistent_and_seeded():
    a = simulate_queue(2.5, 1.0, 3, n_requests=5_000, seed=17, return_records=True)
    b = simulate_queue(2.5, 1.0, 3, n_requests=5_000, seed=17)
    c = simulate_queue(2.5, 1.0, 3, n_requests=5_000, seed=18)
    assert a.mean_wait == b.mean_wait and a.mean_wait != c.mean_wait
    df = a.records
    assert list(df.columns) == ["arrival", "start", "finish", "server", "wait", "response", "service"]
    assert len(df) == a.n_measured == 4_500
    np.testing.assert_allclose(df.finish - df.start, df.service)
    np.testing.assert_allclose(df.wait, df.start - df.arrival)
    assert (np.diff(df.start) >= 0).all()  # FCFS: service starts in arrival order
    assert df.server.between(0, 2).all()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 200), servers=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_fcfs_invariants(n, servers, seed):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0, n))
    services = rng.exponential(servers * 0.9, n)
    start, server = fcfs_start_times(arrivals, services, servers)
    finish = start + services
    assert (start >= arrivals).all()
    assert (np.diff(start) >= -1e-12).all()
    for k in range(servers):  # one request at a time per server
        s, f = start[server == k], finish[server == k]
        assert (s[1:] >= f[:-1] - 1e-9).all()
    # work conserving: a request waits only if every server is busy at its arrival
    for i in np.flatnonzero(start > arrivals + 1e-12):
        busy = ((start[:i] <= arrivals[i]) & (finish[:i] > arrivals[i])).sum()
        assert busy == servers


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(0, 10_000))
def test_single_server_is_lindley(n, seed):
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, n)
    services = rng.exponential(0.9, n)
    start, _ = fcfs_start_times(np.cumsum(gaps), services, 1)
    w = np.zeros(n)
    for i in range(1, n):
        w[i] = max(0.0, w[i - 1] + services[i - 1] - gaps[i])
    np.testing.assert_allclose(start - np.cumsum(gaps), w, atol=1e-9)


def test_batch_means_ci_covers_iid_mean():
    x = np.random.default_rng(19).normal(3.0, 1.0, 30_000)
    mean, half = batch_means_ci(x, 30)
    assert abs(mean - 3.0) < half < 0.05


# -- bad input -------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(arrival_rate=-1.0, service_rate=1.0, servers=1), 'arrival_rate'),
    (dict(arrival_rate=1.0, service_rate=0.0, servers=1), 'service_rate'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=0), 'servers'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=1, n_requests=10), 'n_requests'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=1, warmup_fraction=0.95), 'warmup_fraction'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=1, service=Exponential(1.0)), 'service'),  # rate mismatch
    (dict(arrival_rate=1.0, service_rate=2.0, servers=1, service=2.0), 'service'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=1, arrivals=PoissonArrivals(3.0)), 'arrivals'),
    (dict(arrival_rate=None, service_rate=2.0, servers=1), 'arrival_rate'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=2, outages=[(2, 0.0, 1.0)]), 'outage'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=2, outages=[(0, 5.0, 1.0)]), 'outage'),
    (dict(arrival_rate=1.0, service_rate=2.0, servers=2, outages=[(0, 1.0)]), 'outages'),
])
def test_simulate_queue_rejects_bad_input(kwargs, match):
    args = [kwargs.pop(k) for k in ("arrival_rate", "service_rate", "servers")]
    with pytest.raises(ValueError, match=match):
        simulate_queue(*args, **kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda: simulate_pool(1.0, Exponential(1.0), 2, "fastest"), 'policy'),
    (lambda: simulate_pool(1.0, Exponential(1.0), 0, "jsq"), 'servers'),
    (lambda: simulate_pool(1.0, Exponential(1.0), 2, "power_of_d", d=0), 'd'),
    (lambda: simulate_pool(1.0, 1.0, 2, "jsq"), 'service'),
    (lambda: LogNormal(1.0, -1.0), 'scv'),
    (lambda: HyperExponential(1.0, 0.5), 'scv'),
    (lambda: Deterministic(0.0), 'value'),
    (lambda: PiecewisePoissonArrivals((0.0, 0.0), (1.0, 1.0)), 'arrival_rates'),
    (lambda: PiecewisePoissonArrivals((1.0,), (1.0, 2.0)), 'durations_s'),
    (lambda: OnOffArrivals(1.0, 0.0, 1.0), 'mean_on_s'),
])
def test_other_constructors_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- tandem (series) networks -----------------------------------------------------------
def test_tandem_of_mmc_stages_matches_jackson_network():
    from scaling_lab.network import OpenNetwork
    from scaling_lab.simulation import Exponential, simulate_tandem

    lam = 150.0
    net = OpenNetwork(lam, [("web", 8, 1 / 0.04), ("db", 2, 1 / 0.01)], visits=[1.0, 1.0])
    sim = simulate_tandem(lam, [(8, Exponential(0.04)), (2, Exponential(0.01))], n_requests=300_000, seed=5)
    assert abs(sim.mean_response - net.mean_response) <= 1.5 * sim.mean_response_ci
    for k in range(2):
        assert abs(sim.stage_response[k] - net.station_response[k]) <= 1.5 * sim.stage_response_ci[k]
    np.testing.assert_allclose(sim.utilization, net.utilization, rtol=0.03)
    np.testing.assert_allclose(sim.stage_response.sum(), sim.mean_response, rtol=1e-9)


def test_tandem_with_one_stage_is_simulate_queue_and_rejects_bad_stages():
    from scaling_lab.simulation import Deterministic, Exponential, simulate_tandem

    one = simulate_tandem(50.0, [(2, Deterministic(0.03))], n_requests=50_000, seed=3)
    mgc = simulate_queue(50.0, None, 2, service=Deterministic(0.03), n_requests=50_000, seed=4)
    assert abs(one.mean_response - mgc.mean_response) <= one.mean_response_ci + mgc.mean_response_ci
    for bad in ([], [(0, Exponential(1.0))], [(1, 2.0)], [3]):
        with pytest.raises(ValueError, match="stages"):
            simulate_tandem(1.0, bad, n_requests=1000)


# --- bad input is named after the caller's parameter --------------------------------------------
from scaling_lab.simulation import simulate_closed_network, simulate_tandem  # noqa: E402


@pytest.mark.parametrize("kwargs, param", [
    ({"n_requests": [2000, 2000]}, "n_requests"),
    ({"warmup_fraction": [0.1, 0.1]}, "warmup_fraction"),
    ({"n_batches": [10, 10]}, "n_batches"),
    ({"n_batches": 10**8}, "n_batches"),  # more batches than measured requests
])
def test_run_length_arguments_are_single_numbers(kwargs, param):
    with pytest.raises(ValueError, match=param):
        simulate_queue(1.0, 2.0, 1, **kwargs)
    with pytest.raises(ValueError, match=param):
        simulate_tandem(1.0, [(1, Exponential(0.5))], **kwargs)


def test_simulate_queue_service_rate_array_is_named():
    with pytest.raises(ValueError, match="service_rate"):
        simulate_queue(1.0, [2.0, 2.0], 1, n_requests=1000)


@pytest.mark.parametrize("bad", [float("nan"), -2000, 1e308, [2000, 2000]])
def test_closed_network_names_n_cycles(bad):
    with pytest.raises(ValueError, match="n_cycles"):
        simulate_closed_network([0.01, 0.02], 1.0, 5, n_cycles=bad)


@pytest.mark.parametrize("kwargs, param", [({"demands_s": [0.01, 1e308]}, "demands_s"),
                                           ({"think_time_s": 1e308}, "think_time_s")])
def test_closed_network_clock_stays_in_float_range(kwargs, param):
    args = dict({"demands_s": [0.01, 0.02], "think_time_s": 1.0, "users": 5}, **kwargs)
    with pytest.raises(ValueError, match=param):
        simulate_closed_network(**args, n_cycles=2000)


@pytest.mark.parametrize("arrivals, services, param", [
    ([0.0, np.nan], [1.0, 1.0], "arrivals"),
    ([0.0, 1.0], [1.0, -1.0], "services"),
    (["0", "1"], [1.0, 1.0], "arrivals"),
    ([1.0, 0.0], [1.0, 1.0], "arrivals"),  # not sorted
])
def test_fcfs_start_times_rejects_bad_times(arrivals, services, param):
    with pytest.raises(ValueError, match=param):
        fcfs_start_times(arrivals, services, 1)


def test_fcfs_start_times_empty_in_empty_out():
    start, server = fcfs_start_times([], [], 2)
    assert start.size == 0 and server.size == 0


@pytest.mark.parametrize("process", [PoissonArrivals(2.0), RenewalArrivals(Exponential(0.5)),
                                     OnOffArrivals(2.0, 1.0, 1.0), PiecewisePoissonArrivals((1.0, 3.0), (2.0, 2.0))])
@pytest.mark.parametrize("bad", [[], [3, 3], None, 2.5, -1, 10**9])
def test_arrival_times_count_is_checked(process, bad):
    with pytest.raises(ValueError, match="n"):
        process.times(np.random.default_rng(0), bad)


def test_piecewise_rates_past_the_float_range_keep_their_mean():
    p = PiecewisePoissonArrivals((1e308, 1e308), (60.0, 60.0))
    assert p.arrival_rate == pytest.approx(1e308)
    t = p.times(np.random.default_rng(0), 1000)
    assert np.isfinite(t).all() and (np.diff(t) >= 0).all()  # below the period's resolution they are all 0


def test_piecewise_durations_must_add_up_to_a_finite_period():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused by name, without an overflow warning first
        with pytest.raises(ValueError, match="durations_s"):
            PiecewisePoissonArrivals((1.0, 1.0), (1e308, 1e308))


@pytest.mark.parametrize("kwargs, name", [({"arrival_rate": 5e-324}, "arrival_rate"),
                                          ({"service_rate": 5e-324}, "service_rate")])
def test_rates_whose_mean_gap_leaves_the_float_range_are_refused_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        simulate_queue(**{"arrival_rate": 1.0, "service_rate": 2.0, "servers": 1, "n_requests": 100, **kwargs})
