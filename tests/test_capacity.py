"""The pooling comparison and N+1 headroom: identities and closed forms.

Sizing against the simulator is tested in tests/simulation/test_drivers.py.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.capacity import max_arrival_rate, n_plus_one_headroom, pooling_comparison, servers_needed
from scaling_lab.queueing import MMc

rates = st.floats(0.01, 100.0)
loads = st.floats(0.01, 0.99)


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(0.1, 10.0), rho=st.floats(0.05, 0.98), c=st.integers(2, 64))
def test_pooling_comparison_ordering_and_identities(mu, rho, c):
    lam = rho * c * mu
    t = pooling_comparison(lam, mu, c)
    fast, shared, sep = (t.loc[d] for d in ("one fast server", "shared queue", "separate queues"))
    assert fast.mean_response == pytest.approx(1 / (c * mu - lam), rel=1e-9)
    assert sep.mean_response == pytest.approx(c * fast.mean_response, rel=1e-9)
    assert fast.mean_response <= shared.mean_response * (1 + 1e-12)
    assert shared.mean_response <= sep.mean_response * (1 + 1e-12)
    assert shared.mean_wait <= fast.mean_wait * (1 + 1e-12)
    np.testing.assert_allclose(t.utilization, rho)


def test_pooling_comparison_overloaded_is_inf():
    t = pooling_comparison(10.0, 1.0, 4)
    assert np.isinf(t.mean_response).all() and np.isinf(t.response_p99).all()


def test_n_plus_one_closed_forms_for_two_servers():
    # After a failure one M/M/1 server remains: P(wait) = rho, so max_prob_wait = 0.5 allows lambda = 0.5 mu.
    h = n_plus_one_headroom(2.0, 2, max_prob_wait=0.5)
    assert h.max_arrival_rate == pytest.approx(1.0, rel=1e-8)
    assert h.utilization == pytest.approx(0.25, rel=1e-8)
    assert h.utilization_after_failure == pytest.approx(0.5, rel=1e-8)
    # M/M/1 mean wait lambda / (mu (mu - lambda)) = w  =>  lambda = w mu^2 / (1 + w mu)
    w, mu = 0.3, 4.0
    h = n_plus_one_headroom(mu, 2, max_mean_wait_s=w)
    assert h.max_arrival_rate == pytest.approx(w * mu**2 / (1 + w * mu), rel=1e-8)


def test_n_plus_one_meets_the_slo_exactly_at_the_boundary():
    slo = (0.99, 0.5)
    h = n_plus_one_headroom(10.0, 6, max_response_quantile=slo)
    assert MMc(h.max_arrival_rate, 10.0, 5).response_quantile(0.99) == pytest.approx(0.5, rel=1e-6)
    assert MMc(h.max_arrival_rate * 1.001, 10.0, 5).response_quantile(0.99) > 0.5
    assert MMc(h.capacity_without_spare, 10.0, 6).response_quantile(0.99) == pytest.approx(0.5, rel=1e-6)
    assert 0 < h.headroom_fraction < 1


def test_spare_costs_less_in_larger_pools():
    fractions = [n_plus_one_headroom(1.0, n, max_mean_wait_s=0.2).headroom_fraction for n in (2, 4, 16, 64)]
    assert fractions[0] > 0.3
    assert all(a > b for a, b in zip(fractions, fractions[1:]))


@pytest.mark.parametrize("call, name", [
    (lambda: pooling_comparison(1.0, 0.0, 2), "service_rate"),
    (lambda: pooling_comparison(1.0, 1.0, 0), "servers"),
    (lambda: n_plus_one_headroom(1.0, 1, max_mean_wait_s=1.0), "servers"),
    (lambda: n_plus_one_headroom(1.0, 4), "max_"),
    (lambda: n_plus_one_headroom(1.0, 4, max_prob_wait=1.5), "max_prob_wait"),
    (lambda: n_plus_one_headroom(1.0, 4, max_response_quantile=(0.99, 0.1)), "max_response_quantile"),  # service alone breaks it
    (lambda: servers_needed(1e308, 1.0), "arrival_rate / service_rate"),  # more than 10^9 servers
    (lambda: servers_needed(1.0, 1e-10), "arrival_rate / service_rate"),
    (lambda: max_arrival_rate(1e308, 8), "service_rate"),  # a capacity past the float range
    (lambda: n_plus_one_headroom(1e308, 8, max_mean_wait_s=0.5), "service_rate"),
    (lambda: servers_needed(1.0, 5e-324), "service_rate"),  # its service time 1 / mu past the float range
    (lambda: servers_needed(1.0, 1e-300, max_response_quantile=(0.9, 5.0)), "service_rate"),  # unreachable
    (lambda: max_arrival_rate(5e-324, 8), "service_rate"),
    (lambda: n_plus_one_headroom(5e-324, 8, max_mean_wait_s=0.5), "service_rate"),
])
def test_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_no_headroom_to_hold_back_when_the_slo_admits_no_load():
    h = n_plus_one_headroom(1.0, 8, max_mean_wait_s=5e-324)  # no load meets a wait of 5e-324 s
    assert h.max_arrival_rate == 0.0 and h.headroom_fraction == 0.0
