"""Open Jackson networks and exact MVA against hand computation, product form and the simulator."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.network import OpenNetwork, Station, mva
from scaling_lab.queueing import MMc
from scaling_lab.simulation import batch_means_ci, fcfs_start_times, simulate_closed_network


# -- MVA ----------------------------------------------------------------------------
def test_mva_two_stations_by_hand():
    # D = (0.2, 0.1) s, Z = 1 s.  n=1: R = 0.3, X = 1/1.3.  n=2: Q = (2/13, 1/13),
    # R1 = 0.2*15/13 = 3/13, R2 = 0.1*14/13 = 1.4/13, R = 4.4/13 = 22/65, X = 2/(1 + 22/65) = 130/87.
    res = mva([0.2, 0.1], 1.0, 2)
    assert res.response[0] == pytest.approx(0.3)
    assert res.throughput[0] == pytest.approx(1 / 1.3)
    np.testing.assert_allclose(res.queue_lengths[0], [2 / 13, 1 / 13])
    assert res.response[1] == pytest.approx(22 / 65)
    assert res.throughput[1] == pytest.approx(130 / 87)
    assert res.knee == pytest.approx(1.3 / 0.2)


def _product_form_throughput(demands, think, n):
    """X(N) = G(N-1)/G(N) with G(N) = sum over states of Z^n0/n0! prod D_k^n_k (brute force)."""
    def g(total):
        out = 0.0
        for counts in itertools.product(range(total + 1), repeat=len(demands)):
            rest = total - sum(counts)
            if rest >= 0:
                out += think**rest / math.factorial(rest) * np.prod(np.power(demands, counts))
        return out
    return g(n - 1) / g(n)


@pytest.mark.parametrize("demands,think", [([0.05, 0.03, 0.02], 0.5), ([0.4, 0.4], 0.0), ([0.1], 2.0)])
def test_mva_matches_product_form_normalizing_constant(demands, think):
    res = mva(demands, think, 8)
    for n in (1, 4, 8):
        assert res.throughput[n - 1] == pytest.approx(_product_form_throughput(np.array(demands), think, n), rel=1e-12)


@pytest.mark.parametrize("users", [3, 12, 40])
def test_mva_matches_closed_network_simulation(users):
    demands, think = [0.05, 0.03], 0.5
    res = mva(demands, think, users)
    sim = simulate_closed_network(demands, think, users, n_cycles=200_000, seed=users)
    # six estimates are checked in this test family: use the 99 % interval (t_.995 / t_.975 ~ 1.35 at 29 d.o.f.)
    assert abs(sim.throughput - res.throughput[-1]) <= 1.35 * sim.throughput_ci
    assert abs(sim.mean_response - res.response[-1]) <= 1.35 * sim.mean_response_ci


@settings(max_examples=50, deadline=None)
@given(demands=st.lists(st.floats(1e-3, 10.0), min_size=1, max_size=5),
       think=st.floats(0.0, 100.0), users=st.integers(1, 200))
def test_mva_respects_bounds_and_littles_law(demands, think, users):
    res = mva(demands, think, users)
    assert (res.throughput <= res.throughput_bound * (1 + 1e-9)).all()
    assert (res.response >= res.response_bound * (1 - 1e-9)).all()
    assert (np.diff(res.throughput) >= -1e-12).all()  # more users never lowers throughput
    np.testing.assert_allclose(res.queue_lengths.sum(axis=1) + res.throughput * think, res.users, rtol=1e-9)
    assert (res.utilization <= 1 + 1e-9).all()


# -- open networks -------------------------------------------------------------------
def _simulate_web_db(lam, web_servers, mu_web, mu_db, p_db, n, seed):
    """Web tier (M/M/c), then with probability p_db the database (M/M/1); end-to-end response."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    s_web = rng.exponential(1 / mu_web, n)
    start, _ = fcfs_start_times(arrivals, s_web, web_servers)
    done_web = start + s_web
    to_db = rng.random(n) < p_db
    idx = np.flatnonzero(to_db)
    order = idx[np.argsort(done_web[idx], kind="stable")]
    s_db = rng.exponential(1 / mu_db, len(order))
    db_start, _ = fcfs_start_times(done_web[order], s_db, 1)
    response = done_web - arrivals
    response[order] += db_start + s_db - done_web[order]
    skip = n // 10
    return batch_means_ci(response[skip:], 30)


@pytest.mark.parametrize("p_db", [1.0, 0.3])
def test_jackson_tandem_web_db_matches_simulation(p_db):
    lam = 40.0
    net = OpenNetwork(lam, [("web", 4, 12.0), ("db", 1, 50.0 if p_db == 1 else 15.0)], visits=[1.0, p_db])
    mean, half = _simulate_web_db(lam, 4, 12.0, net.stations[1].service_rate, p_db, 600_000, seed=21)
    assert abs(mean - net.mean_response) <= half
    expected = MMc(lam, 12.0, 4).mean_response + p_db * MMc(lam * p_db, net.stations[1].service_rate, 1).mean_response
    assert net.mean_response == pytest.approx(expected)


def test_routing_matrix_gives_visit_ratios():
    # lb -> web; web -> cache; cache misses (40 %) -> db; db -> web with prob 0.1 (a retry loop)
    p = np.zeros((4, 4))
    p[0, 1] = 1.0
    p[1, 2] = 1.0
    p[2, 3] = 0.4
    p[3, 1] = 0.1
    stations = [Station("lb", 1, 1000.0), Station("web", 8, 20.0), Station("cache", 2, 500.0), Station("db", 1, 50.0)]
    net = OpenNetwork(100.0, stations, routing=p)
    v_web = 1 / (1 - 0.4 * 0.1)
    np.testing.assert_allclose(net.visits, [1.0, v_web, v_web, 0.4 * v_web])
    assert net.bottleneck == "db"
    assert net.max_throughput == pytest.approx(50.0 / (0.4 * v_web))
    assert net.stable
    assert net.summary().loc["db", "utilization"] == pytest.approx(100 * 0.4 * v_web / 50)


def test_overload_is_inf_not_error_and_sweeps_broadcast():
    net = OpenNetwork(np.array([10.0, 50.0, 80.0]), [("web", 2, 30.0), ("db", 1, 60.0)], visits=[1, 1])
    assert net.max_throughput == pytest.approx(60.0)
    r = net.mean_response
    assert r.shape == (3,) and np.isfinite(r[:2]).all() and np.isinf(r[2])
    assert list(net.stable) == [True, True, False]
    assert (np.diff(r[:2]) > 0).all()


@pytest.mark.parametrize("call, match", [
    (lambda: OpenNetwork(-1.0, [("a", 1, 1.0)], visits=[1.0]), 'arrival_rate'),
    (lambda: OpenNetwork(1.0, [("a", 0, 1.0)], visits=[1.0]), 'servers'),
    (lambda: OpenNetwork(1.0, [("a", 1, 1.0)]), 'visits'),
    (lambda: OpenNetwork(1.0, [("a", 1, 1.0)], visits=[1.0], routing=[[0.0]]), 'visits'),
    (lambda: OpenNetwork(1.0, [("a", 1, 1.0)], visits=[1.0, 2.0]), 'visits'),
    (lambda: OpenNetwork(1.0, [("a", 1, 1.0)], visits=[-1.0]), 'visits'),
    (lambda: OpenNetwork(1.0, [("a", 1, 1.0), ("b", 1, 1.0)], routing=[[0, 1], [1, 0]]), 'routing'),
    (lambda: OpenNetwork(1.0, [("a", 1, 1.0), ("b", 1, 1.0)], routing=[[0.7, 0.7], [0, 0]]), 'routing'),
    (lambda: OpenNetwork(1.0, [], visits=[]), 'stations'),
    (lambda: mva([0.1, -0.2], 1.0, 3), 'demands_s'),
    (lambda: mva([0.1], -1.0, 3), 'think_time_s'),
    (lambda: mva([0.1], 1.0, 0), 'users'),
    (lambda: mva([0.1], 1.0, 10**6 + 1), 'users'),  # the recursion visits every population
    (lambda: OpenNetwork(5.0, [("a", 1, 1.0), ("b", 1, 1.0)], visits=[1.0, 1e308]), 'visits'),
    (lambda: OpenNetwork(1e308, [("a", 1, 1.0)], visits=[2.0]), 'arrival_rate'),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_mva_with_a_demand_near_the_float_range_gives_its_limits_without_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mva([0.01, 0.02, 1e308], 1.0, 20)
        bound = res.response_bound
    assert np.all(res.throughput == 1e-308)  # the bottleneck's capacity 1/D_max from the first user on
    assert res.response[0] == pytest.approx(1e308) and np.all(np.isinf(res.response[1:]))
    assert res.queue_lengths[-1, -1] == pytest.approx(20.0) and np.isinf(bound[-1])
    for name in ("throughput", "response", "queue_lengths", "utilization", "residence"):
        assert not np.isnan(getattr(res, name)).any()


# -- held pools: blocking workers, connection pools -----------------------------------
from scaling_lab.network import held_pool, pool_throughput  # noqa: E402


def _simulate_blocking_workers(arrival_rate, workers, web_s, db_servers, db_s, n_requests, seed):
    """Event-by-event: a request takes a worker (or queues FCFS for one), computes for Exp(web_s) on it,
    then queues FCFS at a database of db_servers for Exp(db_s), and only then frees its worker."""
    import heapq
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / arrival_rate, n_requests))
    events = [(t, 0, i) for i, t in enumerate(arrivals)]  # kind 0 arrival, 1 web done, 2 db done
    heapq.heapify(events)
    free_workers, free_db = workers, db_servers
    worker_queue, db_queue, done = [], [], np.empty(n_requests)
    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 0:
            if free_workers:
                free_workers -= 1
                heapq.heappush(events, (t + rng.exponential(web_s), 1, i))
            else:
                worker_queue.append(i)
        elif kind == 1:
            if free_db:
                free_db -= 1
                heapq.heappush(events, (t + rng.exponential(db_s), 2, i))
            else:
                db_queue.append(i)
        else:
            done[i] = t
            if db_queue:
                heapq.heappush(events, (t + rng.exponential(db_s), 2, db_queue.pop(0)))
            else:
                free_db += 1
            if worker_queue:
                heapq.heappush(events, (t + rng.exponential(web_s), 1, worker_queue.pop(0)))
            else:
                free_workers += 1
    return done - arrivals


def test_pool_throughput_matches_mva_for_single_servers():
    # the convolution algorithm against exact MVA (a different algorithm) with zero think time
    x = pool_throughput(6, [("a", 1, 50.0), ("b", 1, 100.0), ("c", 1, 80.0)])
    assert x == pytest.approx(mva([0.02, 0.01, 0.0125], 0.0, 6).throughput, rel=1e-12)


def test_held_pool_around_one_station_is_mmc_with_min_servers():
    # a pool of P tokens in front of c servers: the number present is M/M/min(P, c)
    for pool, servers in ((4, 4), (4, 8), (8, 4), (2, 4)):
        got = held_pool(np.array([1.0, 1.5, 1.9]), pool, [("db", servers, 1.0)])
        want = MMc(np.array([1.0, 1.5, 1.9]), 1.0, min(pool, servers))
        assert got.max_throughput == pytest.approx(min(pool, servers))
        assert got.mean_response == pytest.approx(want.mean_response, rel=1e-9)
        if pool <= servers:
            assert got.prob_wait == pytest.approx(want.prob_wait, rel=1e-9)


def test_held_pool_blocking_workers_against_simulation():
    # chapter 2's web tier with blocking workers: 8 workers, 25 ms compute, database 4 x 20 ms
    stations = [("web", 8, 40.0), ("database", 4, 50.0)]
    assert pool_throughput(8, stations)[-1] < min(8 / 0.045, 200.0)  # below both naive bounds
    for rate in (100.0, 140.0):
        model = held_pool(rate, 8, stations)
        sim = _simulate_blocking_workers(rate, 8, 0.025, 4, 0.020, 200_000, seed=3)[20_000:]
        mean, ci = batch_means_ci(sim, 30)
        assert abs(model.mean_response - mean) < max(ci, 0.02 * mean)


def test_held_pool_overload_and_bad_input():
    res = held_pool(170.0, 8, [("web", 8, 40.0), ("database", 4, 50.0)])
    assert not res.stable and math.isinf(res.mean_response) and res.prob_wait == 1.0
    with pytest.raises(ValueError, match="pool_size"):
        held_pool(1.0, 0, [("a", 1, 1.0)])
    with pytest.raises(ValueError, match="arrival_rate"):
        held_pool(-1.0, 2, [("a", 1, 1.0)])
    with pytest.raises(ValueError, match="stations"):
        pool_throughput(2, [])


# -- data models -----------------------------------------------------------------------
from scaling_lab.network import data_model_demands  # noqa: E402


def test_data_models_break_even_where_demands_are_equal():
    kw = dict(join_s=0.020, get_s=0.004, write_s=0.004, copies=10)
    f_star = data_model_demands(0.5, **kw).breakeven_read_fraction
    assert f_star == pytest.approx(36 / 52)
    at = data_model_demands(f_star, **kw)
    assert at.normalized_s == pytest.approx(at.denormalized_s)
    assert data_model_demands(f_star - 0.01, **kw).better == "normalized"
    assert data_model_demands(f_star + 0.01, **kw).better == "denormalized"
    # all reads: one lookup against the join; all writes: m rows against one
    assert data_model_demands(1.0, **kw).denormalized_s == pytest.approx(0.004)
    assert data_model_demands(0.0, **kw).denormalized_s == pytest.approx(10 * data_model_demands(0.0, **kw).normalized_s)


def test_data_models_edge_cases_and_bad_input():
    assert data_model_demands(0.3, join_s=0.02, get_s=0.001, write_s=0.004, copies=1).breakeven_read_fraction == 0.0
    assert data_model_demands(0.3, join_s=0.001, get_s=0.002, write_s=0.004, copies=3).breakeven_read_fraction == 1.0
    with pytest.raises(ValueError, match="read_fraction"):
        data_model_demands(1.5, join_s=0.02, get_s=0.001, write_s=0.004, copies=2)
    with pytest.raises(ValueError, match="copies"):
        data_model_demands(0.5, join_s=0.02, get_s=0.001, write_s=0.004, copies=0)


def test_held_pool_at_a_rate_below_the_float_range_gives_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = held_pool(5e-324, 8, [("web", 8, 40.0), ("database", 4, 50.0)])
    assert np.isfinite(res.mean_response) and res.stable


def test_network_limits_below_the_float_range_give_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = OpenNetwork(5.0, [Station("web", 4, 2.0), Station("db", 1, 20.0)], visits=np.array([5e-324, 5e-324]))
        tiny = mva(np.full(3, 5e-324), 1.0, 5)
        huge = mva(np.full(3, 1e308), 1.0, 5)
        assert net.max_throughput == np.inf and tiny.max_throughput == np.inf and huge.total_demand == np.inf
