"""Health-check detection time and failed requests against their simulation."""

import warnings

import numpy as np
import pytest

from scaling_lab.healthcheck import detection_time, requests_to_failed_server, simulate_failed_requests


def test_detection_time_defaults_of_a_cloud_balancer():
    # interval 30 s, threshold 2, timeout 5 s: detected 35 to 65 s after the failure, 50 s on average
    d = detection_time(30.0, 2, 5.0)
    assert (d.minimum, d.mean, d.maximum) == pytest.approx((35.0, 50.0, 65.0))


@pytest.mark.parametrize("policy", ["round_robin", "random"])
@pytest.mark.parametrize("interval, k, timeout", [(30.0, 2, 5.0), (5.0, 3, 0.0), (10.0, 1, 2.0)])
def test_simulated_failures_match_the_mean_and_stay_within_bounds(policy, interval, k, timeout):
    lam, n = 400.0, 5
    counts = simulate_failed_requests(lam, n, interval, k, timeout, policy=policy, n_trials=20_000, seed=7)
    expected = requests_to_failed_server(lam, n, interval, k, timeout)
    half = 3 * counts.std(ddof=1) / np.sqrt(len(counts))
    assert abs(counts.mean() - expected) <= half
    d = detection_time(interval, k, timeout)
    # no trial can see more than the Poisson count of the longest window allows (loose 6-sigma bound)
    top = lam / n * d.maximum
    assert counts.max() <= top + 6 * np.sqrt(top) + 1
    assert counts.min() >= 0


def test_round_robin_is_less_variable_than_random():
    rr = simulate_failed_requests(300.0, 10, 30.0, 2, 5.0, policy="round_robin", n_trials=20_000, seed=1)
    rnd = simulate_failed_requests(300.0, 10, 30.0, 2, 5.0, policy="random", n_trials=20_000, seed=1)
    assert rr.var() < rnd.var()


def test_failed_requests_scale_with_rate_and_share():
    r = requests_to_failed_server(np.array([0.0, 100.0, 200.0]), 4, 10.0, 2, 1.0)
    np.testing.assert_allclose(r, [0.0, 100 / 4 * 16.0, 200 / 4 * 16.0])


@pytest.mark.parametrize("call, match", [
    (lambda: detection_time(0.0, 2), 'interval_s'),
    (lambda: detection_time(10.0, 0), 'unhealthy_threshold'),
    (lambda: detection_time(10.0, 2, 11.0), 'timeout_s'),
    (lambda: detection_time(10.0, 2, -1.0), 'timeout_s'),
    (lambda: requests_to_failed_server(-1.0, 2, 10.0, 2), 'arrival_rate'),
    (lambda: requests_to_failed_server(1.0, 0, 10.0, 2), 'servers'),
    (lambda: simulate_failed_requests(1.0, 2, 10.0, 2, policy="jsq"), 'policy'),
    (lambda: simulate_failed_requests(1.0, 2, 10.0, 2, n_trials=1), 'n_trials'),
    (lambda: detection_time([5.0, 10.0], 2), 'interval_s'),
    (lambda: detection_time(10.0, [2, 3]), 'unhealthy_threshold'),
    (lambda: detection_time(10.0, 2, [0.0, 1.0]), 'timeout_s'),
    (lambda: requests_to_failed_server(1.0, 2, 10.0, np.array([2, 3])), 'unhealthy_threshold'),
    (lambda: simulate_failed_requests(1.0, 2, [5.0, 10.0], 2), 'interval_s'),
    (lambda: simulate_failed_requests(1e308, 2, 10.0, 2), 'arrival_rate'),
    (lambda: simulate_failed_requests(1.0, 2, 1e308, 2), 'interval_s'),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_failed_requests_past_the_float_range_are_inf_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert requests_to_failed_server(1e308, 4, 5.0, 3, 1.0) == np.inf


def test_vrrp_failover_time_rfc5798():
    from scaling_lab.healthcheck import vrrp_failover_time
    # RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256,
    # Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time; keepalived's defaults 1 s, 100.
    assert vrrp_failover_time() == pytest.approx(3.609375)
    assert vrrp_failover_time(1.0, 254) == pytest.approx(3 + 2 / 256)
    assert vrrp_failover_time(0.1, 100) == pytest.approx(0.3609375)
    with pytest.raises(ValueError, match="priority"):
        vrrp_failover_time(1.0, 255)
    with pytest.raises(ValueError, match="advertisement_interval_s"):
        vrrp_failover_time(0.0)
