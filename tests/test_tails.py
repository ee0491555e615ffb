import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scaling_lab import tails


def test_fanout_published_example():
    # Dean and Barroso (2013): 1 % slow calls, fan-out 100 -> 63 % of requests slow
    assert tails.fanout_slow_probability(0.01, 100) == pytest.approx(1 - 0.99**100)
    assert tails.fanout_slow_probability(0.01, 100) == pytest.approx(0.634, abs=0.001)
    assert tails.fanout_slow_probability(1e-15, 10) == pytest.approx(1e-14, rel=1e-9)
    assert tails.fanout_slow_probability(1.0, 3) == 1.0
    assert tails.per_backend_quantile_needed(0.99, 100) == pytest.approx(0.99**0.01)


def test_max_of_k_quantiles_match_simulation():
    rng = np.random.default_rng(12)
    k = 20
    x = rng.exponential(0.01, size=(100_000, k)).max(axis=1)
    for q in [0.5, 0.99]:
        assert np.quantile(x, q) == pytest.approx(tails.max_of_k_exponential_quantile(q, k, 100.0), rel=0.03)
    assert x.mean() == pytest.approx(tails.max_of_k_exponential_mean(k, 100.0), rel=0.01)
    y = rng.lognormal(np.log(0.02), 0.5, size=(100_000, k)).max(axis=1)
    assert np.quantile(y, 0.9) == pytest.approx(tails.max_of_k_lognormal_quantile(0.9, k, 0.02, 0.5), rel=0.02)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.01, 0.999), st.integers(1, 10_000))
def test_generic_max_quantile_agrees_with_closed_forms(q, k):
    dist = stats.expon(scale=0.5)
    closed = tails.max_of_k_exponential_quantile(q, k, 2.0)
    assert tails.max_of_k_quantile(q, k, dist.ppf, survival_quantile=dist.isf) == pytest.approx(closed, rel=1e-9)
    ln = stats.lognorm(s=0.7, scale=0.03)
    assert tails.max_of_k_quantile(q, k, ln.ppf, survival_quantile=ln.isf) == pytest.approx(
        tails.max_of_k_lognormal_quantile(q, k, 0.03, 0.7), rel=1e-9)
    # the max of k is stochastically larger than one draw
    assert closed >= tails.max_of_k_exponential_quantile(q, 1, 2.0) - 1e-15


def test_hedged_request_matches_simulation():
    dist = stats.lognorm(s=1.0, scale=0.01)
    delay = float(dist.ppf(0.95))
    h = tails.HedgedRequest(dist, delay)
    rng = np.random.default_rng(5)
    x1, x2 = dist.rvs(size=(2, 400_000), random_state=rng)
    r = np.minimum(x1, delay + x2)
    assert h.extra_load == pytest.approx(0.05, abs=1e-12)
    for q in [0.5, 0.99, 0.999]:
        assert np.quantile(r, q) == pytest.approx(h.quantile(q), rel=0.03)
    assert r.mean() == pytest.approx(h.mean, rel=0.01)
    assert h.quantile(0.99) < dist.ppf(0.99)  # hedging cuts the tail
    assert h.quantile(0.5) == pytest.approx(dist.ppf(0.5), rel=1e-9)  # below the delay nothing changes


def test_hedged_request_past_the_float_range_is_never_late_without_warning():
    dist = stats.lognorm(0.5, scale=0.01)  # sf(1e308) standardizes 1e308 / 0.01: past the float range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        never = tails.HedgedRequest(dist, 1e308)
        assert never.extra_load == 0.0  # a hedge after 1e308 s is never sent
        assert tails.HedgedRequest(dist, 0.02).survival(1e308) == 0.0


def test_percentiles_cannot_be_averaged_but_histograms_merge():
    rng = np.random.default_rng(9)
    fast = rng.exponential(0.005, 200_000)  # a healthy server
    slow = rng.exponential(0.050, 2_000)  # a sick one with 1 % of the traffic
    edges = tails.log_bucket_edges(1e-6, 10.0, 200)
    merged = tails.merge_histograms(tails.histogram(fast, edges), tails.histogram(slow, edges))
    true_p99 = np.quantile(np.concatenate([fast, slow]), 0.99)
    averaged = (np.quantile(fast, 0.99) + np.quantile(slow, 0.99)) / 2
    from_hist = tails.quantile_from_histogram(edges, merged, 0.99)
    assert from_hist == pytest.approx(true_p99, rel=10 ** (1 / 200) - 1)
    assert averaged / true_p99 > 1.5  # the average of p99s badly overstates the p99


def test_histogram_errors_and_volume():
    edges = tails.log_bucket_edges(1e-3, 1.0, 10)
    with pytest.raises(ValueError, match="same bucket edges"):
        tails.merge_histograms(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="counts"):
        tails.quantile_from_histogram(edges, np.ones(3), 0.5)
    with pytest.raises(ValueError, match="max_s"):
        tails.log_bucket_edges(1.0, 0.5)
    assert tails.daily_volume_bytes(10_000, 500) == pytest.approx(432e9)
    with pytest.raises(ValueError, match="k"):
        tails.fanout_slow_probability(0.1, 0)


# --- pooled quantiles of unequal servers ---------------------------------------------------------
def test_pooled_quantile_against_simulated_servers():
    import scaling_lab as sl

    rates = np.array([100.0, 150.0, 190.0])                 # M/M/8, 40 ms: 50 %, 75 %, 95 % busy
    t99 = tails.pooled_response_quantile(0.99, rates, 25.0, 8)
    samples = [sl.simulate_queue(r, 25.0, 8, n_requests=int(r * 4000), seed=40 + i).responses
               for i, r in enumerate(rates)]                # the same 4,000 s on every server
    pooled = np.concatenate(samples)
    assert np.quantile(pooled, 0.99) == pytest.approx(t99, rel=0.04)
    share = tails.slow_request_shares(t99, rates, 25.0, 8)
    counted = np.array([np.sum(s > t99) for s in samples]) / np.sum(pooled > t99)
    assert np.allclose(counted, share, atol=0.03)
    assert share.sum() == pytest.approx(1.0)


def test_pooled_quantile_identities():
    from scaling_lab.queueing import MMc

    # identical servers: the pooled quantile is each one's
    assert tails.pooled_response_quantile(0.99, [150.0] * 4, 25.0, 8) == pytest.approx(
        MMc(150.0, 25.0, 8).response_quantile(0.99), rel=1e-9)
    # weights move the answer between the components' quantiles
    lo, hi = MMc(100.0, 25.0, 8).response_quantile(0.99), MMc(190.0, 25.0, 8).response_quantile(0.99)
    mid = tails.pooled_response_quantile(0.99, [100.0, 190.0], 25.0, 8, weights=[1, 1])
    assert lo < mid < hi
    # an overloaded server with more than 1 - q of the requests: the pooled p99 is infinite
    assert tails.pooled_response_quantile(0.99, [100.0, 250.0], 25.0, 8) == np.inf
    with pytest.raises(ValueError, match="weights"):
        tails.pooled_response_quantile(0.99, [100.0, 150.0], 25.0, 8, weights=[1.0])


def test_log_bucket_edges_near_the_top_of_the_float_range():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edges = tails.log_bucket_edges(1e-3, 1e308, 10)
    assert edges[0] == 1e-3 and edges[-1] >= 1e308 and (np.diff(edges) > 0).all()
    with pytest.raises(ValueError, match="buckets_per_decade"):
        tails.log_bucket_edges(1e-300, 1e300, 10**6)


def test_max_of_k_lognormal_quantile_huge_sigma_is_its_limit():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tails.max_of_k_lognormal_quantile(0.99, 10, 0.01, 1e308) == np.inf


def test_max_of_k_mean_with_a_rate_below_the_float_range_is_inf_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tails.max_of_k_exponential_mean(4, 5e-324) == np.inf


def test_histogram_counts_summing_past_the_float_range_give_the_same_quantile_without_warning():
    edges = tails.log_bucket_edges(1e-3, 1.0, 10)
    counts = np.arange(1.0, len(edges))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huge = tails.quantile_from_histogram(edges, counts * (1e308 / counts.max()), 0.9)
        assert tails.max_of_k_exponential_quantile(0.99, 4, 5e-324) == np.inf
    assert huge == pytest.approx(tails.quantile_from_histogram(edges, counts, 0.9), rel=1e-12)


def test_pooled_arrival_rates_past_the_range_are_refused_by_name_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="arrival_rates"):
            tails.pooled_response_quantile(0.99, [1e308, 1e308], 10.0, 2)


def test_default_weights_are_named_as_the_arrival_rates():
    with pytest.raises(ValueError, match="arrival_rates"):
        tails.pooled_response_quantile(0.99, [0.0, 0.0], 10.0, 2)
