"""M/M/c: published values, exact identities, properties and agreement with the simulator."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.queueing import MG1, MMc, erlang_b, erlang_c
from scaling_lab.capacity import max_arrival_rate, servers_needed
from scaling_lab.simulation import simulate_queue


def erlang_b_recursion(c: int, a: float) -> float:
    """Independent check: B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_b_sum(c: int, a: float) -> float:
    """Textbook definition with exact rationals (small c only)."""
    from fractions import Fraction

    a = Fraction(a).limit_denominator(10**9)
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return float(terms[-1] / sum(terms))


# -- published values ---------------------------------------------------------------
def test_erlang_b_wolfram_examples():
    # Wolfram Language documentation, ErlangB: 5 lines at 3 erlangs, 4 modems at 2 erlangs.
    assert erlang_b(5, 3.0) == pytest.approx(0.110054, abs=5e-7)
    assert erlang_b(4, 2.0) == pytest.approx(0.0952381, abs=5e-8)


def test_erlang_c_textbook_example():
    # Kleinrock / Gross & Harris: c = 2, a = 1 (rho = 0.5) gives C = 1/3 exactly.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-14)
    # Call-centre tables: 10 agents, 8 erlangs -> P(wait) = 0.4092 (four decimals).
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-4)


@pytest.mark.parametrize("c,a", [(1, 0.3), (3, 2.0), (7, 6.5), (20, 25.0), (50, 10.0)])
def test_erlang_b_matches_exact_sum(c, a):
    assert erlang_b(c, a) == pytest.approx(erlang_b_sum(c, a), rel=1e-12)


@pytest.mark.parametrize("c,a", [(100, 99.5), (1000, 950.0), (10_000, 10_100.0), (100_000, 99_999.0),
                                 (1_000_000, 999_999.0), (1_000_000, 1_500_000.0), (200, 5_000.0)])
def test_erlang_b_large_systems_match_recursion(c, a):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = erlang_b(c, a)
    assert value == pytest.approx(erlang_b_recursion(c, a), rel=1e-11)


def test_extremes_have_no_nan_or_warning():
    c = np.array([1, 10, 10**3, 10**5, 10**6, 10**6])
    a = c * np.array([0.999999, 0.999999, 0.999999, 0.999999, 0.999999, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b, cw = erlang_b(c, a), erlang_c(c, a)
        m = MMc(a, 1.0, c)
        w, q = m.mean_wait, m.response_quantile(0.99)
    for arr in (b, cw):
        assert np.all(np.isfinite(arr))
    for arr in (w, q):  # the last queue is overloaded: infinite, never NaN
        assert np.all(np.isfinite(arr[:-1])) and np.isinf(arr[-1])
    assert np.all((b >= 0) & (b <= 1)) and np.all((cw >= 0) & (cw <= 1))


def test_waits_past_the_float_range_are_inf_without_warning():
    # a service time of 1e308 s: c mu - lambda is a subnormal and C / (c mu - lambda) passes the float range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = MMc(np.array([0.5, 3.9]) * 1e-308, 1e-308, 4)
        w, t = m.mean_wait, m.mean_response
    assert np.all(m.stable) and np.isinf(w[-1]) and np.isinf(t[-1])
    assert np.all(np.isfinite(w[:-1]))


# -- identities -------------------------------------------------------------------------
@given(st.integers(1, 300), st.floats(0.01, 0.99))
@settings(max_examples=60, deadline=None)
def test_erlang_c_from_b_relation(c, rho):
    a = rho * c
    b = erlang_b(c, a)
    # Independent form: C = B / (1 - rho (1 - B))
    assert erlang_c(c, a) == pytest.approx(b / (1 - rho * (1 - b)), rel=1e-12)
    assert erlang_c(c, a) >= b


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.999])
def test_mm1_closed_forms(rho):
    mu = 3.0
    m = MMc(rho * mu, mu, 1)
    assert m.prob_wait == pytest.approx(rho, rel=1e-12)
    assert m.mean_response == pytest.approx(1 / (mu - rho * mu), rel=1e-12)
    assert m.mean_queue_length == pytest.approx(rho**2 / (1 - rho), rel=1e-10)
    # M/M/1 response time is exponential with rate mu - lambda.
    t = np.array([0.0, 0.1, 1.0, 5.0])
    assert np.allclose(m.prob_response_exceeds(t), np.exp(-(mu - rho * mu) * t), rtol=1e-10)
    assert m.response_quantile(0.99) == pytest.approx(math.log(100) / (mu - rho * mu), rel=1e-9)


@given(st.integers(1, 200), st.floats(0.05, 0.98), st.floats(0.1, 100.0))
@settings(max_examples=50, deadline=None)
def test_littles_law_and_means(c, rho, mu):
    m = MMc(rho * c * mu, mu, c)
    assert m.mean_in_system == pytest.approx(m.arrival_rate * m.mean_response, rel=1e-12)
    # L = Lq + a (mean busy servers)
    assert m.mean_in_system == pytest.approx(m.mean_queue_length + m.offered_load, rel=1e-9)


@given(st.integers(1, 100), st.floats(0.05, 0.98), st.floats(0.5, 0.999))
@settings(max_examples=50, deadline=None)
def test_quantiles_invert_tails(c, rho, q):
    m = MMc(rho * c, 1.0, c)
    t = m.response_quantile(q)
    assert m.prob_response_exceeds(t) == pytest.approx(1 - q, abs=1e-9)
    w = m.wait_quantile(q)
    if w > 0:
        assert m.prob_wait_exceeds(w) == pytest.approx(1 - q, rel=1e-9)
    else:
        assert m.prob_wait <= 1 - q + 1e-12


def test_response_tail_integrates_to_mean():
    # E[T] = integral of P(T > t) dt: an independent check of the tail formula.
    from scipy.integrate import quad

    for c, rho in [(1, 0.7), (4, 0.8), (16, 0.95), (3, 1 / 3)]:  # theta == mu when c=3, rho=1/3... and others
        m = MMc(rho * c, 2.0, c)
        integral, _ = quad(lambda t: m.prob_response_exceeds(t), 0, np.inf, limit=200)
        assert integral == pytest.approx(m.mean_response, rel=1e-7)


# -- properties ----------------------------------------------------------------------
@given(st.integers(1, 500), st.floats(0.0, 2000.0))
@settings(max_examples=80, deadline=None)
def test_probabilities_in_unit_interval(c, a):
    assert 0.0 <= erlang_b(c, a) <= 1.0
    assert 0.0 <= erlang_c(c, a) <= 1.0


@given(st.integers(1, 200), st.floats(0.1, 150.0))
@settings(max_examples=60, deadline=None)
def test_monotone_in_servers_and_load(c, a):
    assert erlang_b(c + 1, a) <= erlang_b(c, a)
    assert erlang_b(c, a * 1.1) >= erlang_b(c, a)
    if a < c:
        assert erlang_c(c + 1, a) <= erlang_c(c, a) + 1e-15
        assert erlang_c(c, min(a * 1.05, c * 0.999999)) >= erlang_c(c, a) - 1e-15


def test_broadcasting():
    c = np.arange(1, 11)[:, None]
    a = np.linspace(0.1, 9.0, 7)[None, :]
    out = erlang_c(c, a)
    assert out.shape == (10, 7)
    assert out[3, 2] == pytest.approx(erlang_c(4, a[0, 2]))


# -- unstable queues and bad input --------------------------------------------------------
def test_unstable_queue_reports_itself():
    m = MMc(10.0, 1.0, 8)
    assert m.stable is False
    assert m.utilization == pytest.approx(1.25)
    assert m.prob_wait == 1.0
    assert math.isinf(m.mean_wait) and math.isinf(m.mean_response) and math.isinf(m.mean_queue_length)
    assert math.isinf(m.wait_quantile(0.5)) and math.isinf(m.response_quantile(0.99))
    assert m.prob_wait_exceeds(100.0) == 1.0
    sweep = MMc(np.array([4.0, 8.0, 12.0]), 1.0, 8)
    assert list(sweep.stable) == [True, False, False]
    assert not np.isnan(sweep.mean_wait).any()


@pytest.mark.parametrize("kwargs,name", [
    (dict(arrival_rate=-1, service_rate=1, servers=1), "arrival_rate"),
    (dict(arrival_rate=0, service_rate=1, servers=1), "arrival_rate"),
    (dict(arrival_rate=1, service_rate=0, servers=1), "service_rate"),
    (dict(arrival_rate=1, service_rate=1, servers=0), "servers"),
    (dict(arrival_rate=1, service_rate=1, servers=2.5), "servers"),
    (dict(arrival_rate=float("nan"), service_rate=1, servers=1), "arrival_rate"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MMc(**kwargs)


def test_bad_quantiles_and_loads():
    m = MMc(1.0, 2.0, 1)
    for q in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="q"):
            m.response_quantile(q)
    with pytest.raises(ValueError, match="offered_load"):
        erlang_b(3, -1.0)
    with pytest.raises(ValueError, match="servers"):
        erlang_c(0, 1.0)
    with pytest.raises(ValueError, match="t must be"):
        m.prob_wait_exceeds(-1.0)


# -- staffing --------------------------------------------------------------------------------
def test_servers_needed_is_least_meeting_targets():
    lam, mu = 100.0, 1.0
    c = servers_needed(lam, mu, max_wait_quantile=(0.95, 0.02))
    assert MMc(lam, mu, c).wait_quantile(0.95) <= 0.02
    assert MMc(lam, mu, c - 1).wait_quantile(0.95) > 0.02
    c = servers_needed(lam, mu, max_prob_wait=0.2, max_mean_wait_s=0.01)
    assert MMc(lam, mu, c).prob_wait <= 0.2 and MMc(lam, mu, c).mean_wait <= 0.01
    prev = MMc(lam, mu, c - 1)
    assert prev.prob_wait > 0.2 or prev.mean_wait > 0.01
    assert servers_needed(lam, mu) == 101  # least stable


def test_servers_needed_square_root_staffing_at_scale():
    # Halfin-Whitt: c ~ a + beta sqrt(a), where 1 / (1 + beta Phi(beta) / phi(beta)) = P(wait).
    from scipy.optimize import brentq
    from scipy.stats import norm

    beta_hw = brentq(lambda b: 1 / (1 + b * norm.cdf(b) / norm.pdf(b)) - 0.2, 0.01, 5)
    a = 1e5
    c = servers_needed(a, 1.0, max_prob_wait=0.2)
    assert (c - a) / math.sqrt(a) == pytest.approx(beta_hw, abs=0.01)
    assert erlang_c(c, a) <= 0.2 < erlang_c(c - 1, a)


def test_servers_needed_unreachable_target():
    with pytest.raises(ValueError, match="unreachable"):
        servers_needed(10.0, 1.0, max_response_quantile=(0.99, 0.5))  # service alone: p99 = 4.6 s


def test_max_arrival_rate_inverts_the_quantile():
    mu, c, slo = 25.0, 8, 0.25
    lam = max_arrival_rate(mu, c, max_response_quantile=(0.99, slo))
    assert MMc(lam, mu, c).response_quantile(0.99) == pytest.approx(slo, rel=1e-6)
    assert max_arrival_rate(mu, c) == c * mu
    assert max_arrival_rate(mu, c, max_response_quantile=(0.99, 0.1)) == 0.0  # p99 of service is 184 ms
    # Consistent with servers_needed at that rate.
    assert servers_needed(lam * 0.999, mu, max_response_quantile=(0.99, slo)) == c


# -- the simulator agrees with the model ----------------------------------------------------------
@pytest.mark.parametrize("c,rho,seed", [(1, 0.7, 1), (2, 0.8, 2), (8, 0.9, 3), (32, 0.95, 4)])
def test_simulation_agrees_with_mmc(c, rho, seed):
    model = MMc(rho * c, 1.0, c)
    sim = simulate_queue(rho * c, 1.0, c, n_requests=200_000, seed=seed)
    # 3 half-widths: a 95% interval checked at 8 points would fail by chance too often at 1 width.
    assert abs(sim.mean_wait - model.mean_wait) <= 3 * sim.mean_wait_ci
    assert abs(sim.prob_wait - model.prob_wait) <= 3 * sim.prob_wait_ci
    assert sim.response_quantile(0.9) == pytest.approx(model.response_quantile(0.9), rel=0.06)


# M/G/1 (Pollaczek–Khinchine)
rates = st.floats(0.01, 100.0)
loads = st.floats(0.01, 0.99)


@settings(max_examples=100, deadline=None)
@given(mu=rates, rho=loads)
def test_mg1_with_exponential_service_is_mm1(mu, rho):
    assert MG1(rho * mu, mu, 1.0).mean_wait == pytest.approx(MMc(rho * mu, mu, 1).mean_wait, rel=1e-9)


def test_md1_published_queue_length():
    # M/D/1: Lq = rho^2 / (2 (1 - rho))  (Kleinrock 1975, eq. 5.74 with Cs^2 = 0)
    rho = np.array([0.3, 0.6, 0.9, 0.999])
    np.testing.assert_allclose(MG1(rho, 1.0, 0.0).mean_queue_length, rho**2 / (2 * (1 - rho)), rtol=1e-12)


def test_mg1_unstable_is_inf_and_variability_costs_linearly():
    m = MG1([0.5, 1.0, 2.0], 1.0, 3.0)
    assert list(m.stable) == [True, False, False]
    assert np.isinf(m.mean_wait[1:]).all() and np.isinf(m.mean_response[1:]).all()
    w = MG1(0.5, 1.0, np.array([0.0, 1.0, 3.0])).mean_wait
    np.testing.assert_allclose(w / w[1], [0.5, 1.0, 2.0])  # (1 + cs^2)/2


@pytest.mark.parametrize("call, name", [
    (lambda: MG1(-1.0, 1.0, 1.0), "arrival_rate"),
    (lambda: MG1(1.0, 1.0, -0.5), "scv"),
])
def test_mg1_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name):
        call()

