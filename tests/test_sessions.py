import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.queueing import MMc
from scaling_lab.sessions import (
    SessionStore,
    expected_max_standard_normal,
    new_server_load_share,
    prob_session_interrupted,
    simulate_sticky_loads,
    sticky_peak_load_factor,
    time_to_rebalance,
    users_losing_sessions,
)
from scaling_lab.simulation import simulate_queue


def test_expected_max_normal_published_values():
    # closed forms for n = 2, 3 and the tabulated values (David and Nagaraja 2003, Table)
    assert expected_max_standard_normal(1) == 0.0
    assert expected_max_standard_normal(2) == pytest.approx(1 / np.sqrt(np.pi), abs=1e-7)
    assert expected_max_standard_normal(3) == pytest.approx(1.5 / np.sqrt(np.pi), abs=1e-7)
    assert expected_max_standard_normal(10) == pytest.approx(1.53875, abs=1e-5)
    assert expected_max_standard_normal(100) == pytest.approx(2.50759, abs=1e-5)


def test_expected_max_normal_matches_sampling_and_is_vectorized():
    rng = np.random.default_rng(3)
    sample = rng.standard_normal((20_000, 50)).max(axis=1)
    assert expected_max_standard_normal(50) == pytest.approx(sample.mean(), abs=4 * sample.std() / np.sqrt(20_000))
    e = expected_max_standard_normal([1, 10, 1000, 10**6])
    assert e.shape == (4,) and np.all(np.diff(e) > 0)
    # Gumbel-type growth: sqrt(2 ln n) bounds the mean from above for large n
    assert e[-1] < np.sqrt(2 * np.log(10**6))


@pytest.mark.parametrize("users_per_server, servers, scv", [(100, 10, 1.0), (200, 8, 4.0), (500, 50, 1.0),
                                                            (100, 4, 0.0)])
def test_sticky_peak_factor_matches_simulation(users_per_server, servers, scv):
    sim = simulate_sticky_loads(users_per_server * servers, servers, scv, n_trials=300, seed=7)
    assert sticky_peak_load_factor(users_per_server, servers, scv) == pytest.approx(sim.mean(), rel=0.04)


def test_sticky_peak_factor_limits():
    assert sticky_peak_load_factor(10, 1, 3.0) == 1.0  # one server: no imbalance
    f = sticky_peak_load_factor(np.array([10.0, 100, 1000, 1e6]), 20, 1.0)
    assert np.all(np.diff(f) < 0) and f[-1] == pytest.approx(1.0, abs=0.01)
    assert sticky_peak_load_factor(100, 20, 4.0) > sticky_peak_load_factor(100, 20, 1.0)
    assert np.all(simulate_sticky_loads(1000, 10, 1.0, n_trials=20, seed=0) >= 1.0)


def test_users_losing_sessions_matches_random_pinning():
    rng = np.random.default_rng(5)
    lost = [np.sum(rng.integers(0, 8, 10_000) < 2) for _ in range(400)]
    assert users_losing_sessions(10_000, 8, failed=2) == pytest.approx(np.mean(lost), rel=0.01)
    assert users_losing_sessions(10_000, 8, failed=0) == 0.0
    assert users_losing_sessions(10_000, 8, failed=8) == 10_000


def test_prob_session_interrupted_matches_poisson_restarts():
    rng = np.random.default_rng(9)
    r_per_day, d_s = 3.0, 4 * 3600.0
    start = rng.uniform(0, 86_400 * 50, 50_000)
    restarts = np.sort(rng.uniform(0, 86_400 * 51, rng.poisson(r_per_day * 51)))
    hit = np.searchsorted(restarts, start + d_s) > np.searchsorted(restarts, start)
    assert prob_session_interrupted(d_s, r_per_day) == pytest.approx(hit.mean(), abs=0.03)
    assert prob_session_interrupted(0.0, 5.0) == 0.0 and prob_session_interrupted(1e9, 1.0) == 1.0


def test_new_server_share_matches_session_simulation():
    # steady population: sessions end at rate 1/D, and each new one lands on any of N+1 servers
    rng = np.random.default_rng(11)
    n, d, t = 4, 600.0, 400.0
    sessions = 200_000
    age = rng.exponential(d, sessions)          # ages of sessions alive at time t (memoryless)
    started_after = age < t                      # sessions born after the new server joined
    on_new = started_after & (rng.integers(0, n + 1, sessions) == 0)
    assert new_server_load_share(t, n, d) == pytest.approx(on_new.mean(), abs=0.003)
    assert new_server_load_share(t, n, d, sticky=False) == pytest.approx(1 / (n + 1))


@settings(max_examples=50, deadline=None)
@given(st.floats(1.0, 1e5), st.floats(0.0, 0.999), st.integers(1, 1000))
def test_time_to_rebalance_inverts_share(d, p, n):
    t = time_to_rebalance(d, p)
    assert new_server_load_share(t, n, d) * (n + 1) == pytest.approx(p, abs=1e-9)


def test_session_store_is_an_mmc_queue():
    store = SessionStore(2000.0, 0.0005, 2, ops_per_request=1.2, rtt_s=0.0005)
    q = MMc(2400.0, 2000.0, 2)
    assert store.utilization == pytest.approx(0.6)
    assert store.mean_added_latency == pytest.approx(1.2 * (0.0005 + q.mean_response))
    assert store.op_latency_quantile(0.99) == pytest.approx(0.0005 + q.response_quantile(0.99))


def test_session_store_matches_simulation():
    store = SessionStore(3000.0, 0.0004, 2, ops_per_request=1.5)
    sim = simulate_queue(store.op_rate, 1 / store.service_time_s, 2, n_requests=200_000, seed=4)
    assert store.op_mean_latency == pytest.approx(sim.mean_response, abs=3 * sim.mean_response_ci)
    assert store.op_latency_quantile(0.99) == pytest.approx(sim.response_quantile(0.99), rel=0.06)


def test_overloaded_store_is_not_an_error():
    store = SessionStore(10_000.0, 0.001, 4)
    assert not store.stable and store.mean_added_latency == np.inf


@pytest.mark.parametrize("call, match", [
    (lambda: sticky_peak_load_factor(0, 4), 'users_per_server'),
    (lambda: sticky_peak_load_factor(10, 0), 'servers'),
    (lambda: sticky_peak_load_factor(10, 4, -1.0), 'activity_scv'),
    (lambda: expected_max_standard_normal(0), 'n'),
    (lambda: simulate_sticky_loads(0, 4), 'users'),
    (lambda: users_losing_sessions(100, 4, failed=5), 'failed'),
    (lambda: users_losing_sessions(-1, 4), 'active_users'),
    (lambda: users_losing_sessions(100, [4, 8]), 'servers'),
    (lambda: users_losing_sessions(100, 2.5), 'servers'),
    (lambda: prob_session_interrupted(-1, 1), 'session_s'),
    (lambda: new_server_load_share(1.0, 3, 0.0), 'mean_session_s'),
    (lambda: time_to_rebalance(10.0, 1.0), 'fraction'),
    (lambda: SessionStore(100.0, 0.001, 0), 'nodes'),
    (lambda: SessionStore(1e308, 0.001, 2, ops_per_request=10.0), 'ops_per_request'),
    (lambda: SessionStore(100.0, 5e-324, 2), 'service_time_s'),  # its rate 1 / S past the float range
    (lambda: SessionStore(100.0, -0.001, 1), 'service_time_s'),
    (lambda: SessionStore(100.0, 0.001, 1).op_latency_quantile(1.0), 'q'),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_session_limits_past_the_float_range():
    import warnings
    from scaling_lab.sessions import prob_session_interrupted, time_to_rebalance
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prob_session_interrupted(1e308, 2.0) == 1.0
        assert time_to_rebalance(1e308) == np.inf


def test_tiny_sessions_and_users_give_their_limits_without_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert new_server_load_share(10.0, 3, 5e-324) == pytest.approx(0.25)  # sessions end at once: fair share
        assert sticky_peak_load_factor(5e-324, 4) == np.inf
