import warnings
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from scaling_lab import cache
from scaling_lab.queueing import MMc


# --- popularity ---------------------------------------------------------------
def test_zipf_alpha_one_ten_million_matches_harmonic_number():
    n = 10**7
    p = cache.zipf_popularity(n, 1.0)
    h_n = special.digamma(n + 1) + np.euler_gamma  # H_n, independent of the summation
    assert p[0] == pytest.approx(1.0 / h_n, rel=1e-12)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(p) <= 0)


@pytest.mark.parametrize("alpha", [1.0001, 1.5])
def test_zipf_normalizer_matches_hurwitz_zeta(alpha):
    n = 10**6
    p = cache.zipf_popularity(n, alpha)
    norm = special.zeta(alpha, 1) - special.zeta(alpha, n + 1)
    assert p[0] == pytest.approx(1.0 / norm, rel=1e-9)


def test_zipf_zero_is_uniform_and_negative_alpha_rejected():
    assert np.allclose(cache.zipf_popularity(7, 0.0), 1 / 7)
    with pytest.raises(ValueError, match="alpha"):
        cache.zipf_popularity(10, -0.1)


def test_empirical_popularity_from_trace_and_counts():
    p = cache.popularity_from_trace([3, 3, 1, 3, 1, 7])
    assert np.allclose(p, [3 / 6, 2 / 6, 1 / 6])
    assert np.allclose(cache.popularity_from_counts([0, 2, 6]), [0.75, 0.25])
    with pytest.raises(ValueError, match="counts"):
        cache.popularity_from_counts([0, 0])


# --- Che's approximation --------------------------------------------------------
def test_che_published_check():
    # Icarus' test of Che's approximation: alpha = 0.8, n = 100, C = 40 gives T ~ 72.2
    # and LRU hit ratio ~ 0.64.  Solving the equation gives T = 72.21 and h = 0.6454.
    p = cache.zipf_popularity(100, 0.8)
    assert cache.characteristic_time(p, 40) == pytest.approx(72.2, abs=0.05)
    assert cache.hit_ratio(p, 40, "lru") == pytest.approx(0.645, abs=0.001)


def test_characteristic_time_solves_its_equation_at_extremes():
    p = cache.zipf_popularity(10**6, 1.0)
    for c in [1, 1000, 999_999]:
        t = cache.characteristic_time(p, c)
        assert np.sum(-np.expm1(-p * t)) == pytest.approx(c, rel=1e-9)
        t = cache.characteristic_time(p, c, "fifo")
        assert np.sum(p * t / (1 + p * t)) == pytest.approx(c, rel=1e-9)


@pytest.mark.parametrize("policy", cache.CACHE_POLICIES)
def test_analytic_hit_ratio_matches_exact_simulation(policy):
    # Che / Fricker-Robert-Roberts are approximations; for n = 1000 they are within ~1 %.
    p = cache.zipf_popularity(1000, 0.8)
    trace = cache.irm_trace(p, 400_000, seed=11)
    for c in [50, 200]:
        sim = cache.simulate_hit_ratio(policy, c, trace=trace, warmup_fraction=0.25, seed=5)
        assert sim == pytest.approx(cache.hit_ratio(p, c, policy), abs=0.01)


def test_policy_ordering_and_full_cache():
    p = cache.zipf_popularity(500, 0.9)
    sizes = np.array([5, 50, 250])
    lfu, lru, fifo = (cache.hit_ratio(p, sizes, pol) for pol in ("lfu", "lru", "fifo"))
    assert np.all(lfu > lru) and np.all(lru > fifo)
    assert np.all(np.diff(lru) > 0)
    assert cache.hit_ratio(p, 500, "lru") == 1.0
    assert cache.hit_ratio(p, 500, "random") == 1.0


def test_cache_larger_than_catalogue_is_rejected():
    p = cache.zipf_popularity(10, 0.8)
    with pytest.raises(ValueError, match="cache_size"):
        cache.hit_ratio(p, 11)
    with pytest.raises(ValueError, match="cache_size"):
        cache.simulate_hit_ratio("fifo", 4, trace=[0, 1, 2, 1])
    with pytest.raises(ValueError, match="policy"):
        cache.hit_ratio(p, 3, "mru")
    with pytest.raises(ValueError, match="cache_size"):  # one size: the curve is hit_ratio's
        cache.characteristic_time(p, [3, 4])
    with pytest.raises(ValueError, match="cache_size"):
        cache.simulate_hit_ratio("lru", [2, 3], trace=[0, 1, 2, 1])


def test_popularity_weights_summing_past_the_float_range_are_normalized_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = cache.hit_ratio(np.full(50, 1e308), 10)  # 50 equal items: the uniform popularity
        counts = cache.popularity_from_counts(np.array([1e308, 1e308, 0.0]))
    assert h == pytest.approx(cache.hit_ratio(np.ones(50), 10), rel=1e-12)
    np.testing.assert_allclose(counts, [0.5, 0.5])


@pytest.mark.parametrize("policy", ["lru", "fifo", "random"])
def test_one_item_near_the_float_range_gives_the_limit_without_warning(policy):
    # one item holds almost all the weight: the other 49 have p ~ 1e-308, so T ~ 1e307 requests
    # (the root search passes the float range on its way) and the hit ratio is 1 to the last digit
    p = np.append(np.full(49, 1.0), 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = cache.characteristic_time(p, 10, policy)
        h = cache.hit_ratio(p, 10, policy)
    assert 1e306 < t < np.inf and h == pytest.approx(1.0)


# --- exact simulation -----------------------------------------------------------
def _brute_stack_distances(trace):
    out = []
    for i, x in enumerate(trace):
        js = [j for j in range(i) if trace[j] == x]
        out.append(-1 if not js else len(set(trace[js[-1] + 1:i])))
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=120))
def test_stack_distances_match_brute_force(trace):
    ref = _brute_stack_distances(trace)
    assert np.array_equal(cache.stack_distances(trace, compiled=True), ref)
    assert np.array_equal(cache.stack_distances(trace, compiled=False), ref)


def _lru_hits(trace, c):
    od, hits = OrderedDict(), 0
    for x in trace:
        if x in od:
            hits += 1
            od.move_to_end(x)
        else:
            od[x] = True
            if len(od) > c:
                od.popitem(last=False)
    return hits


def _fifo_hits(trace, c):
    od, hits = OrderedDict(), 0
    for x in trace:
        if x in od:
            hits += 1
        else:
            od[x] = True
            if len(od) > c:
                od.popitem(last=False)
    return hits


def _perfect_lfu_hits(trace, c):
    counts, last, cached, hits = {}, {}, [], 0
    for i, x in enumerate(trace):
        counts[x] = counts.get(x, 0) + 1
        last[x] = i
        if x in cached:
            hits += 1
        elif len(cached) < c:
            cached.append(x)
        else:
            victim = min(cached, key=lambda y: (counts[y], last[y]))
            if counts[x] > counts[victim]:
                cached[cached.index(victim)] = x
    return hits


def test_lru_curve_and_policies_match_reference_implementations():
    rng = np.random.default_rng(3)
    trace = cache.irm_trace(cache.zipf_popularity(60, 0.7), 3000, seed=rng)
    curve = cache.lru_hit_ratio_curve(trace)
    assert curve[0] == 0 and np.all(np.diff(curve) >= 0)
    for c in [1, 7, 30, 60]:
        assert curve[c] == pytest.approx(_lru_hits(trace, c) / len(trace), abs=1e-15)
        assert cache.simulate_hit_ratio("fifo", c, trace=trace) == pytest.approx(
            _fifo_hits(trace, c) / len(trace), abs=1e-15)
    for c in [1, 5, 20]:
        assert cache.simulate_hit_ratio("lfu", c, trace=trace) == pytest.approx(
            _perfect_lfu_hits(trace, c) / len(trace), abs=1e-15)


def test_random_policy_is_seeded():
    trace = cache.irm_trace(cache.zipf_popularity(200, 0.8), 20_000, seed=1)
    a = cache.simulate_hit_ratio("random", 20, trace=trace, seed=4)
    assert a == cache.simulate_hit_ratio("random", 20, trace=trace, seed=4)
    assert a != cache.simulate_hit_ratio("random", 20, trace=trace, seed=5)


def test_simulate_from_popularity_is_seeded():
    p = cache.zipf_popularity(100, 0.8)
    a = cache.simulate_hit_ratio("lru", 40, popularity=p, n_requests=50_000, seed=2)
    assert a == cache.simulate_hit_ratio("lru", 40, popularity=p, n_requests=50_000, seed=2)
    with pytest.raises(ValueError, match="n_requests"):
        cache.simulate_hit_ratio("lru", 40, popularity=p)


# --- TTL caches ---------------------------------------------------------------
def _simulate_ttl(lam, ttl, mu, reset, seed, n=200_000):
    rng = np.random.default_rng(seed)
    req = np.cumsum(rng.exponential(1 / lam, n))
    upd = np.cumsum(rng.exponential(1 / mu, int(req[-1] * mu * 1.2) + 100))
    expiry, fetched, hits, stale = -1.0, 0.0, 0, 0
    for t in req:
        if t < expiry:
            hits += 1
            # stale if some update happened in (fetched, t]
            k = np.searchsorted(upd, fetched, side="right")
            stale += k < len(upd) and upd[k] <= t
            if reset:
                expiry = t + ttl
        else:
            fetched, expiry = t, t + ttl
    return hits / n, stale / hits


@pytest.mark.parametrize("reset", [False, True])
def test_ttl_hit_and_stale_probability_match_simulation(reset):
    lam, ttl, mu = 2.0, 1.5, 0.4
    h, s = _simulate_ttl(lam, ttl, mu, reset, seed=8, n=60_000)
    assert h == pytest.approx(cache.ttl_hit_ratio(lam, ttl, reset_on_hit=reset), abs=0.006)
    assert s == pytest.approx(cache.ttl_stale_hit_probability(lam, ttl, mu, reset_on_hit=reset), abs=0.008)


def test_ttl_limits():
    assert cache.ttl_hit_ratio(5.0, 0.0) == 0.0
    assert cache.ttl_stale_hit_probability(1.0, 2.0, 0.0) == 0.0
    assert cache.ttl_stale_hit_probability(1.0, 2.0, 0.0, reset_on_hit=True) == pytest.approx(0.0, abs=1e-12)
    # a tiny update rate: stale probability ~ mu T / 2 without reset
    assert cache.ttl_stale_hit_probability(1.0, 2.0, 1e-9) == pytest.approx(1e-9, rel=1e-6)


# --- consequences ---------------------------------------------------------------
def test_backend_rate_and_latency():
    assert cache.backend_rate(1000.0, 0.9) == pytest.approx(100.0)
    assert cache.mean_latency(0.9, 0.001, 0.05) == pytest.approx(0.9 * 0.001 + 0.1 * 0.05)
    got = cache.backend_mean_latency(1000.0, 0.8, cache_latency_s=0.001,
                                     backend_service_rate=50.0, backend_servers=5)
    assert got == pytest.approx(0.001 + 0.2 * MMc(200.0, 50.0, 5).mean_response)
    assert cache.backend_mean_latency(1000.0, 0.5, cache_latency_s=0.001,
                                      backend_service_rate=50.0, backend_servers=5) == np.inf
    curve = cache.backend_mean_latency(1000.0, np.linspace(0.8, 1.0, 5), cache_latency_s=0.001,
                                       backend_service_rate=50.0, backend_servers=5)
    assert np.all(np.diff(curve) < 0) and curve[-1] == pytest.approx(0.001)


def test_cache_failure_headroom():
    f = cache.cache_failure(10_000.0, 0.95, 100.0)
    assert f.load_multiplier == pytest.approx(20.0)
    assert f.backend_rate_cold == 10_000.0
    assert f.servers_normal == 6 and f.servers_cold == 101
    assert f.utilization_cold_with_normal_servers > 1
    assert f.headroom_servers == 95
    with pytest.raises(ValueError, match="hit_ratio"):
        cache.cache_failure(10.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="arrival_rate / backend_service_rate"):
        cache.cache_failure(1e308, 0.5, 1.0)


# -- TTL caches of bounded size, consistency, stampedes, bytes ------------------------------
from collections import deque  # noqa: E402

from scaling_lab import cache as _cache  # noqa: E402


def _simulate_ttl_fifo(popularity, arrival_rate, ttl_s, cache_size, n_requests, seed):
    """Timestamped IRM requests through a FIFO cache of cache_size items whose copies expire ttl_s after insertion."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(1 / arrival_rate, n_requests))
    items = _cache.irm_trace(popularity, n_requests, seed=rng)
    expires, order, hits = {}, deque(), 0
    warm = n_requests // 5
    for k, (t, x) in enumerate(zip(times, items)):
        if x in expires and expires[x] > t:
            hits += k >= warm
            continue
        if x not in expires:
            if len(order) == cache_size:
                del expires[order.popleft()]
            order.append(x)
        else:  # expired copy still holding its slot: refresh it in place, as a new insertion
            order.remove(x)
            order.append(x)
        expires[x] = t + ttl_s
    return hits / (n_requests - warm)


def test_ttl_cache_items_is_the_time_average_occupancy():
    p = _cache.zipf_popularity(30, 0.9)
    rate, ttl, horizon = 5.0, 4.0, 20_000.0
    rng = np.random.default_rng(2)
    cached = 0.0
    for pi in p:
        t, until = 0.0, -1.0
        for gap in rng.exponential(1 / (rate * pi), int(rate * pi * horizon * 1.2) + 10):
            t += gap
            if t > horizon:
                break
            if t >= until:  # a miss: cached for ttl from now
                cached += min(ttl, horizon - t)
                until = t + ttl
    assert cached / horizon == pytest.approx(_cache.ttl_cache_items(p, rate, ttl), rel=0.02)


def test_bounded_ttl_hit_ratio_limits_and_simulation():
    p = _cache.zipf_popularity(2_000, 1.0)
    rate = 200.0
    # memory for every live copy: the TTL model; a TTL longer than the eviction time: FIFO
    assert _cache.bounded_ttl_hit_ratio(p, rate, 1.0, 2_000) == pytest.approx(
        float(np.sum(p * _cache.ttl_hit_ratio(rate * p, 1.0))))
    assert _cache.bounded_ttl_hit_ratio(p, rate, 1e6, 200) == pytest.approx(_cache.hit_ratio(p, 200, "fifo"), rel=1e-9)
    for ttl, size in ((1e6, 200), (0.5, 200), (2.0, 200)):
        sim = _simulate_ttl_fifo(p, rate, ttl, size, 120_000, seed=4)
        assert sim == pytest.approx(_cache.bounded_ttl_hit_ratio(p, rate, ttl, size), abs=0.02)


def test_staleness_window_identities():
    kw = dict(arrival_rate=5.0, ttl_s=60.0, update_rate=1e-4)
    h = 5 * 60 / (1 + 5 * 60)
    # no action on write: the stale fraction of reads is the first-order term of the TTL model
    w = _cache.staleness_window("ttl", **kw)
    exact = h * _cache.ttl_stale_hit_probability(5.0, 60.0, 1e-4)
    assert 1e-4 * w == pytest.approx(exact, rel=0.01)
    assert _cache.staleness_window("write_through", update_delay_s=0.001, **kw) == pytest.approx(h * 0.001)
    # no fill in flight across the delete: invalidation is as fresh as write-through
    assert _cache.staleness_window("invalidate", update_delay_s=0.002, fetch_s=0.001, **kw) == pytest.approx(h * 0.002)
    assert _cache.staleness_window("invalidate", update_delay_s=0.0, fetch_s=0.01, **kw) > 0.01 * 60 / 301
    with pytest.raises(ValueError, match="strategy"):
        _cache.staleness_window("lazy", **kw)


def test_expiry_stampede_against_simulation():
    rate, ttl, fetch = 40.0, 2.0, 0.25
    rng = np.random.default_rng(6)
    times = np.cumsum(rng.exponential(1 / rate, 400_000))
    fetches = coalesced = hits = 0
    ready, expires, in_flight_until = -1.0, -1.0, -1.0
    for t in times:
        if ready <= t < expires:
            hits += 1
        elif t < in_flight_until:
            fetches += 1  # a miss during the fetch: its own query without coalescing
        else:
            fetches += 1
            coalesced += 1
            in_flight_until, ready, expires = t + fetch, t + fetch, t + fetch + ttl
    model = _cache.expiry_stampede(rate, ttl, fetch)
    span = times[-1]
    assert fetches / span == pytest.approx(model.fetch_rate, rel=0.02)
    assert coalesced / span == pytest.approx(model.fetch_rate_coalesced, rel=0.02)
    assert hits / len(times) == pytest.approx(model.hit_ratio, abs=0.005)
    assert model.misses_per_expiry == pytest.approx(1 + rate * fetch)


def test_slab_chunks_match_memcached_listing():
    # memcached -vv with the defaults (-f 1.25 -n 48): the first slab classes
    listing = [96, 120, 152, 192, 240, 304, 384, 480, 600, 752, 944, 1184, 1480]
    assert [_cache.slab_chunk_bytes(s) for s in listing] == listing
    assert [_cache.slab_chunk_bytes(s + 1) for s in listing[:-1]] == listing[1:]
    assert _cache.slab_chunk_bytes(1 << 20) == 1 << 20
    assert _cache.cache_memory_bytes(2_000, 1_000) == 2_000 * 1_184  # 1,096-byte items in 1,184-byte chunks
    with pytest.raises(ValueError, match="item_bytes"):
        _cache.slab_chunk_bytes(0)


def test_ttl_hit_ratio_past_the_float_range_is_its_limit_1():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.ttl_hit_ratio(1e300, 1e10) == 1.0
        assert cache.ttl_hit_ratio(1e300, 1e10, reset_on_hit=True) == 1.0
        assert cache.ttl_hit_ratio(1e308, 10.0) == 1.0


def test_limits_past_the_float_range():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = cache.zipf_popularity(5, 1e308)  # alpha -> inf: every request for the first item
        np.testing.assert_array_equal(p, [1.0, 0, 0, 0, 0])
        assert cache.ttl_stale_hit_probability(5.0, 10.0, 1e308) == 1.0


def test_ttl_caches_at_a_rate_near_the_float_range_hold_every_item_without_warning():
    p = cache.zipf_popularity(50, 0.8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        held = cache.ttl_cache_items(p, 1.7976931348623157e308, 10.0)
        h = cache.bounded_ttl_hit_ratio(p, 1.7976931348623157e308, 10.0, 50)
    assert held == pytest.approx(50.0) and h == pytest.approx(1.0)


def test_a_cache_larger_than_the_trace_names_the_trace():
    with pytest.raises(ValueError, match="items in trace"):
        cache.simulate_hit_ratio("lru", 10, trace=np.zeros(100, dtype=np.int64))
