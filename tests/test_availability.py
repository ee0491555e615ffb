import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from scaling_lab import availability as av


def _brute_k_of_n(k, n, a):
    total = 0.0
    for up in itertools.product([0, 1], repeat=n):
        if sum(up) >= k:
            total += np.prod([a if x else 1 - a for x in up])
    return total


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7), st.integers(0, 6), st.floats(0.0, 1.0))
def test_k_of_n_matches_enumeration(n, extra, a):
    k = max(1, n - extra)
    assert av.k_of_n(k, n, a) == pytest.approx(_brute_k_of_n(k, n, a), abs=1e-12)


def test_k_of_n_special_cases_and_many_nines():
    assert av.k_of_n(1, 2, 0.99) == pytest.approx(av.parallel_availability(0.99, 0.99))
    assert av.k_of_n(3, 3, 0.99) == pytest.approx(av.series_availability(0.99, 0.99, 0.99))
    # 1-of-3 with u = 1e-8 each: U = 1e-24 exactly, far below double rounding of A
    assert av.k_of_n_unavailability(1, 3, 1e-8) == pytest.approx(1e-24, rel=1e-12)
    # majority of 5 with u = 1e-4: U = C(5,3) u^3 (1-u)^2 + C(5,4) u^4 (1-u) + u^5
    u = 1e-4
    exact = 10 * u**3 * (1 - u) ** 2 + 5 * u**4 * (1 - u) + u**5
    assert av.k_of_n_unavailability(3, 5, u) == pytest.approx(exact, rel=1e-12)
    assert av.nines(av.k_of_n_unavailability(1, 3, 1e-3)) == pytest.approx(9.0)


def test_series_parallel_and_downtime():
    assert av.series_availability(0.999, 0.999) == pytest.approx(0.998001)
    assert av.parallel_availability(0.9, 0.9, 0.9) == pytest.approx(0.999)
    assert av.series_unavailability(1e-12, 1e-12) == pytest.approx(2e-12, rel=1e-9)
    assert av.parallel_unavailability(1e-9, 1e-9) == pytest.approx(1e-18)
    assert av.downtime_minutes_per_year(0.999) == pytest.approx(525.96)
    assert av.from_mttf(999.0, 1.0) == pytest.approx(0.999)


def _simulate_chain(q, t_end, seed):
    rng = np.random.default_rng(seed)
    rates = -np.diag(q)
    cum = np.cumsum(np.clip(q, 0, None) / rates[:, None], axis=1).tolist()
    state, t, occupancy = 0, 0.0, [0.0] * len(q)
    while t < t_end:
        dwell = rng.exponential(1 / rates[state])
        occupancy[state] += min(dwell, t_end - t)
        t += dwell
        u = rng.random()
        state = next(j for j, c in enumerate(cum[state]) if u < c)
    return np.array(occupancy) / t_end


def test_failover_chain_matches_simulation_and_transient_limit():
    # exaggerated rates so that the chain visits every state often
    res = av.primary_failover(mttf_h=50.0, mttr_h=5.0, failover_s=3600.0)
    q = av.failover_generator(50.0, 5.0, 3600.0)
    pi = np.array(list(res.state_probabilities.values()))
    # transient solution from "both up" after a long time equals the stationary vector
    p_t = linalg.expm(q * 5000.0)[0]
    assert np.allclose(p_t, pi, atol=1e-10)
    occ = _simulate_chain(q, 1_000_000.0, seed=7)
    assert occ == pytest.approx(pi, abs=0.005)
    assert res.unavailability == pytest.approx(occ[1] + occ[3], abs=0.004)


def test_instant_failover_is_two_independent_nodes():
    res = av.primary_failover(2000.0, 4.0, 0.0)
    u = av.parallel_unavailability(1 - av.from_mttf(2000.0, 4.0), 1 - av.from_mttf(2000.0, 4.0))
    assert res.unavailability == pytest.approx(u, rel=1e-10)


def test_failover_time_costs_about_one_failover_per_primary_failure():
    base = av.primary_failover(8760.0, 8.0, 0.0)
    slow = av.primary_failover(8760.0, 8.0, 60.0)
    # about one primary failure per year, each costing ~1 minute
    extra = slow.downtime_minutes_per_year - base.downtime_minutes_per_year
    assert extra == pytest.approx(1.0 * 365.25 / 365 * 0.999, rel=0.02)
    assert slow.availability < base.availability


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be"):
        av.k_of_n(4, 3, 0.9)
    with pytest.raises(ValueError, match="availability"):
        av.k_of_n(1, 3, 1.5)
    with pytest.raises(ValueError, match="mttf"):
        av.primary_failover(0.0, 1.0, 1.0)


@pytest.mark.parametrize("kwargs, name", [({"mttf_h": 5e-324}, "mttf_h"), ({"mttr_h": 5e-324}, "mttr_h"),
                                          ({"failover_s": 5e-324}, "failover_s")])
def test_primary_failover_rates_must_stay_in_the_float_range(kwargs, name):
    with pytest.raises(ValueError, match=name):
        av.primary_failover(**{"mttf_h": 2000.0, "mttr_h": 10.0, "failover_s": 30.0, **kwargs})


def test_primary_failover_with_rates_many_decades_apart_takes_its_limits_without_warning():
    import warnings

    base = av.primary_failover(2000.0, 10.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no LinAlgWarning: the jump chain's equations are well conditioned
        never_up = av.primary_failover(1e-300, 10.0, 30.0)
        instant = av.primary_failover(2000.0, 10.0, 1e-300)
        never_fails = av.primary_failover(1e300, 10.0, 30.0)
    assert never_up.availability == 0.0 and never_fails.availability == 1.0
    assert instant.unavailability == pytest.approx(base.unavailability, rel=1e-12)  # a failover of no time
