import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab import sharding as sh
from scaling_lab.cache import zipf_popularity


@pytest.mark.parametrize("n,k", [(1, 1), (1, 4), (4, 2), (5, 3), (6, 4), (7, 2)])
def test_exact_max_load_matches_enumeration(n, k):
    loads = [max(np.bincount(a, minlength=k)) for a in itertools.product(range(k), repeat=n)]
    assert sh.expected_max_load(n, k, method="exact") == pytest.approx(np.mean(loads), rel=1e-12)


def test_max_load_matches_simulation_and_approximation_bounds_it():
    rng = np.random.default_rng(2)
    n, k = 1000, 50
    sims = [np.bincount(rng.integers(0, k, n), minlength=k).max() for _ in range(4000)]
    exact = sh.expected_max_load(n, k)
    assert exact == pytest.approx(np.mean(sims), abs=4 * np.std(sims) / np.sqrt(len(sims)))
    approx = sh.expected_max_load(n, k, method="approx")
    assert approx <= exact and approx == pytest.approx(exact, rel=0.01)


def test_large_case_behaves_like_raab_steger():
    n, k = 10**8, 1000
    mean = n / k
    got = sh.expected_max_load(n, k)
    assert mean < got < mean + 1.1 * np.sqrt(2 * mean * np.log(k))
    assert sh.expected_skew(n, k) == pytest.approx(got / mean)
    # one key per shard: the classic ln k / ln ln k regime, well above 1
    assert 3 < sh.expected_max_load(1000, 1000) < 7


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300), st.integers(2, 40))
def test_max_load_bounds(n, k):
    e = sh.expected_max_load(n, k)
    assert -(-n // k) - 1e-9 <= e <= n + 1e-9
    assert sh.expected_max_load(n, k, method="approx") <= e + 1e-9


def test_hot_shard_formula_and_simulation():
    p = zipf_popularity(10_000, 1.0)
    k = 20
    shares = sh.simulate_shard_shares(p, k, n_trials=400, seed=3)
    assert shares.sum(axis=1) == pytest.approx(np.ones(400))
    hottest_key_shard = shares.max(axis=1)
    # the shard of key 1 gets p1 + (1 - p1)/k on average; the hottest shard at least that
    assert hottest_key_shard.mean() >= sh.hot_shard_share(p, k) - 0.002
    assert hottest_key_shard.mean() == pytest.approx(sh.hot_shard_share(p, k), rel=0.05)
    assert sh.hot_shard_share(p, k) * k > 2  # over twice the mean load


def test_consistent_ring_share_spread_matches_beta_law():
    n = 8
    for v in (1, 10, 100):
        shares = np.array([sh.ConsistentHashRing(n, v, seed=s).shares for s in range(300)])
        assert shares.sum(axis=1) == pytest.approx(np.ones(300))
        cv = shares.std() * n
        assert cv == pytest.approx(sh.consistent_hash_share_cv(n, v), rel=0.12)


@pytest.mark.parametrize("scheme", sh.SCHEMES)
def test_keys_moved_formula_matches_real_hashing(scheme):
    for n in (4, 10):
        sim = sh.simulate_keys_moved(n, n + 1, scheme, n_keys=60_000, vnodes=200, seed=n)
        expected = sh.keys_moved_fraction(n, n + 1, scheme)
        # consistent hashing: 1/(n+1) in expectation; the ring's own spread (cv ~ 1/sqrt(v))
        # makes one ring's answer vary by a few percent of that
        assert sim == pytest.approx(expected, rel=0.15 if scheme == "consistent" else 0.03)
    assert sh.keys_moved_fraction(10, 11, "consistent") == pytest.approx(1 / 11)
    assert sh.keys_moved_fraction(10, 11, "modulo") == pytest.approx(10 / 11)


def test_modulo_moved_fraction_is_exact_over_a_full_period():
    n, m = 6, 9
    h = np.arange(n * m * 7)
    assert np.mean(h % n != h % m) == pytest.approx(sh.keys_moved_fraction(n, m, "modulo"), abs=1e-15)


def test_schemes_balance_keys():
    h = sh.hash64(np.arange(100_000), 5)
    for scheme in ("modulo", "rendezvous", "jump"):
        counts = np.bincount(sh.assign_shards(h, 7, scheme), minlength=7)
        assert counts.min() > 0.95 * 100_000 / 7


def test_bad_arguments():
    with pytest.raises(ValueError, match="scheme"):
        sh.keys_moved_fraction(3, 4, "ketama2")
    with pytest.raises(ValueError, match="shards"):
        sh.expected_max_load(10, 0)
    with pytest.raises(ValueError, match="vnodes"):
        sh.ConsistentHashRing(3, 0)


@pytest.mark.parametrize("bad", [np.nan, 0, 2.5, "8", [8, 9], 2**63])
def test_simulate_keys_moved_names_the_shard_count_it_refuses(bad):
    with pytest.raises(ValueError, match="old_shards"):
        sh.simulate_keys_moved(bad, 9, "jump", n_keys=100)
    with pytest.raises(ValueError, match="new_shards"):
        sh.simulate_keys_moved(8, bad, "jump", n_keys=100)


def test_simulate_keys_moved_bounds_shards_by_what_the_scheme_can_build():
    # a ring of 10^6 shards x 100 virtual nodes is the most MAX_ELEMENTS allows; rendezvous stops at 10^4
    with pytest.raises(ValueError, match=r"new_shards must be an integer in \[1, 10\^6\]"):
        sh.simulate_keys_moved(8, 10**6 + 1, "consistent", n_keys=100)
    with pytest.raises(ValueError, match=r"old_shards must be an integer in \[1, 10000\]"):
        sh.simulate_keys_moved(10**4 + 1, 8, "rendezvous", n_keys=100)
    assert 0 < sh.simulate_keys_moved(8, 10**9, "jump", n_keys=100) <= 1


# --- resharding, hot keys, joins -----------------------------------------------------------------
@pytest.mark.parametrize("n, m, scheme", [(16, 17, "jump"), (16, 17, "modulo"), (16, 32, "modulo"),
                                          (12, 10, "modulo"), (12, 10, "rendezvous")])
def test_resharding_cost_against_hashed_keys(n, m, scheme):
    keys = 200_000
    h = sh.hash64(np.arange(keys), seed=3)
    before, after = sh.assign_shards(h, n, scheme), sh.assign_shards(h, m, scheme)
    moved = before != after
    busiest = np.bincount(after[moved], minlength=m).max() / keys
    cost = sh.resharding_cost(n, m, scheme, data_gb=1000.0, copy_mb_per_s=50.0, write_rate=200.0)
    assert moved.mean() == pytest.approx(cost.moved_fraction, abs=0.01)
    assert 1000.0 * busiest * 1000.0 / 50.0 == pytest.approx(cost.copy_time_s, rel=0.05)
    assert cost.double_writes == pytest.approx(200.0 * cost.moved_fraction * cost.copy_time_s)


def test_hot_key_split_counts_operations_like_a_simulated_workload():
    p = zipf_popularity(2000, 1.0)
    m, r, k = 8, 0.9, 16
    rng = np.random.default_rng(6)
    n = 400_000
    key = rng.choice(p.size, n, p=p)
    read = rng.random(n) < r
    for strategy in ("copies", "suffixes"):
        out = sh.hot_key_split(p, k, m, r, strategy=strategy)
        fan = np.where(key == 0, np.where(read, out.read_fanout, out.write_fanout), 1)
        assert fan.mean() == pytest.approx(out.ops_amplification, rel=0.01)
    # no split: the bound of hot_shard_share; the right strategy cools the hot shard, the wrong one heats it
    assert sh.hot_key_split(p, k, 1, r).hot_shard_ops == pytest.approx(sh.hot_shard_share(p, k))
    assert sh.hot_key_split(p, k, m, r, strategy="copies").hot_shard_ops < sh.hot_shard_share(p, k)
    assert sh.hot_key_split(p, k, m, r, strategy="suffixes").hot_shard_ops > sh.hot_shard_share(p, k)


def test_join_cost_break_even_and_operation_counts():
    for k, d in ((16, 2), (4, 3), (64, 5)):
        even = sh.join_cost(k, 0.5, d).break_even_read_fraction
        at = sh.join_cost(k, even, d)
        assert at.scatter_ops_per_request == pytest.approx(at.denormalized_ops_per_request)
    c = sh.join_cost(16, 0.9, 2)
    assert (c.scatter_ops_per_request, c.denormalized_ops_per_request) == pytest.approx((14.5, 1.1))
    assert sh.join_cost(1, 0.9, 1).break_even_read_fraction == 0.0
    with pytest.raises(ValueError, match="copies"):
        sh.join_cost(4, 0.5, 0)
