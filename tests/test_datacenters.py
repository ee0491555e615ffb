import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.availability import k_of_n_unavailability
from scaling_lab.datacenters import (
    best_sites,
    datacenters_needed,
    failover_shares,
    failover_utilization_limit,
    max_utilization_for_failover,
    replication_delay_floor_ms,
    service_availability,
    simulate_datacenter_availability,
)
from scaling_lab.geography import load_cities, load_cloud_regions, load_region_rtt, nearest_datacenter


@pytest.fixture(scope="module")
def world():
    return load_cities(), load_cloud_regions()


def test_best_sites_is_the_true_optimum(world):
    cities, regions = world
    for k in (1, 2, 3):
        sites, mean_rtt = best_sites(cities.lat, cities.lon, regions.lat, regions.lon, k)
        # independent evaluation of every subset through geography.nearest_datacenter
        costs = {c: nearest_datacenter(cities.lat, cities.lon, regions.lat.to_numpy()[list(c)],
                                       regions.lon.to_numpy()[list(c)])[2]
                 for c in itertools.combinations(range(len(regions)), k)}
        assert mean_rtt == pytest.approx(min(costs.values()))
        assert costs[sites] == pytest.approx(mean_rtt)


def test_best_sites_mean_rtt_falls_with_k_and_scales_with_route_factor(world):
    cities, regions = world
    rtts = [best_sites(cities.lat, cities.lon, regions.lat, regions.lon, k)[1] for k in range(1, 10)]
    assert np.all(np.diff(rtts) < 0)
    assert rtts[-1] > 0  # cities are not all at a region
    s1, r1 = best_sites(cities.lat, cities.lon, regions.lat, regions.lon, 3)
    s2, r2 = best_sites(cities.lat, cities.lon, regions.lat, regions.lon, 3, route_factor=2.0)
    assert s1 == s2 and r2 == pytest.approx(2 * r1)


def test_failover_shares_rows_and_rerouting(world):
    cities, regions = world
    lat, lon = regions.lat.to_numpy()[[0, 4, 6]], regions.lon.to_numpy()[[0, 4, 6]]
    s = failover_shares(cities.lat, cities.lon, lat, lon)
    assert s.shape == (4, 3)
    assert np.allclose(s.sum(axis=1), 1.0)
    assert np.allclose(np.diag(s[1:]), 0.0)
    assert np.all(s[1:] >= s[0] * (1 - np.eye(3)) - 1e-12)  # survivors never lose users
    idx, _, _ = nearest_datacenter(cities.lat, cities.lon, lat, lon)
    assert np.allclose(s[0], np.bincount(idx, minlength=3) / len(cities))


def test_even_split_reduces_to_k_minus_one_over_k():
    k = 5
    s = np.vstack([np.full(k, 1 / k)] + [np.where(np.arange(k) == i, 0.0, 1 / (k - 1)) for i in range(k)])
    assert max_utilization_for_failover(s, 0.8) == pytest.approx(failover_utilization_limit(k, 1, 0.8))
    assert failover_utilization_limit(np.array([2, 3, 10])) == pytest.approx([0.5, 2 / 3, 0.9])
    assert failover_utilization_limit(4, failed=2, max_utilization=0.9) == pytest.approx(0.45)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=2, max_size=6), st.integers(0, 10_000))
def test_failover_limit_is_never_above_even_split(normal, seed):
    # any re-routing of a failed site's users: the binding survivor is at least as loaded as an even spread
    rng = np.random.default_rng(seed)
    k = len(normal)
    s0 = np.asarray(normal) / np.sum(normal)
    rows = [s0]
    for i in range(k):
        split = rng.dirichlet(np.ones(k - 1))
        row = s0.copy()
        row[i] = 0.0
        row[np.arange(k) != i] += s0[i] * split
        rows.append(row)
    u = max_utilization_for_failover(np.vstack(rows))
    assert 0 < u <= (k - 1) / k + 1e-12
    # at that utilization every survivor of every failure is at most 100 % busy, and one is exactly
    peak = max((u * rows[i + 1][j] / s0[j]) for i in range(k) for j in range(k) if j != i)
    assert peak == pytest.approx(1.0)


def test_single_site_cannot_absorb_anything():
    assert max_utilization_for_failover(np.array([[1.0], [0.0]])) == 0.0


def test_service_availability_regimes():
    q = 1e-3
    assert service_availability(3, 0.30, q) == pytest.approx(q**3, rel=1e-9)         # 1 of 3
    assert service_availability(3, 0.60, q) == pytest.approx(k_of_n_unavailability(2, 3, q))
    assert service_availability(3, 0.60, q) == pytest.approx(3 * q**2, rel=0.01)
    assert service_availability(3, 0.90, q) == pytest.approx(1 - (1 - q) ** 3)         # all 3
    assert datacenters_needed(3, np.array([0.0, 0.33, 0.34, 0.67, 1.0])).tolist() == [1, 1, 2, 3, 3]
    assert datacenters_needed(4, 0.5, max_utilization=0.8) == 3


@pytest.mark.parametrize("k, m, mttf, mttr", [(3, 2, 500.0, 24.0), (4, 3, 300.0, 20.0), (3, 1, 200.0, 20.0)])
def test_simulated_availability_matches_binomial(k, m, mttf, mttr):
    u, half = simulate_datacenter_availability(k, m, mttf, mttr, horizon_h=1e7, seed=3)
    exact = k_of_n_unavailability(m, k, mttr / (mttf + mttr))
    assert u == pytest.approx(exact, abs=3 * half)


def test_replication_floor_against_measured_rtts():
    rtt = load_region_rtt()
    one_way = replication_delay_floor_ms(rtt["distance_km"].to_numpy())
    sync = replication_delay_floor_ms(rtt["distance_km"].to_numpy(), synchronous=True)
    assert np.allclose(sync, 2 * one_way)
    assert np.all(rtt["rtt_ms"].to_numpy() >= sync)  # physics: no measured RTT beats the floor
    # New York to London, 5570 km: about 27 ms one way in fibre
    assert replication_delay_floor_ms(5570.0) == pytest.approx(27.3, abs=0.2)


@pytest.mark.parametrize("call, match", [
    (lambda: best_sites([0.0], [0.0], [0.0, 1.0], [0.0, 1.0], 3), 'k'),
    (lambda: best_sites([0.0], [0.0], [0.0], [0.0], 0), 'k'),
    (lambda: best_sites([0.0], [0.0, 1.0], [0.0], [0.0], 1), 'user_lat'),
    (lambda: best_sites([0.0], [0.0], np.zeros(40), np.zeros(40), 10), 'k'),
    (lambda: failover_shares([0.0], [0.0], [0.0], [0.0], weights=[0.0]), 'weights'),
    (lambda: failover_utilization_limit(3, failed=3), 'failed'),
    (lambda: failover_utilization_limit(3, max_utilization=0.0), 'max_utilization'),
    (lambda: max_utilization_for_failover(np.ones((3, 3))), 'shares'),
    (lambda: datacenters_needed(3, 1.5), 'utilization'),
    (lambda: service_availability(3, 0.5, 2.0), 'dc_unavailability'),
    (lambda: simulate_datacenter_availability(2, 3, 100.0, 1.0), 'needed'),
    (lambda: simulate_datacenter_availability(2, 1, 0.0, 1.0), 'mttf_h'),
    (lambda: replication_delay_floor_ms(-1.0), 'distance_km'),
    (lambda: service_availability([3, 4], 0.5, 0.01), 'datacenters'),
    (lambda: service_availability(10**9, 0.5, 0.01), 'datacenters'),
    (lambda: service_availability(3, [0.3, 0.6], 0.01), 'utilization'),
    (lambda: service_availability(3, 0.5, 0.01, max_utilization=[0.8, 0.9]), 'max_utilization'),
    (lambda: simulate_datacenter_availability(10**9, 1, 2000.0, 10.0), 'datacenters'),
    (lambda: simulate_datacenter_availability(3, 1, 2000.0, 10.0, horizon_h=1e308), 'horizon_h'),
    (lambda: simulate_datacenter_availability(3, 1, 1e-3, 1e-3), 'mttf_h'),
    (lambda: simulate_datacenter_availability(3, 1, 2000.0, 10.0, n_batches=10**9), 'n_batches'),
    (lambda: datacenters_needed(3, 0.5, 5e-324), 'max_utilization'),
    (lambda: simulate_datacenter_availability(3, 1, 2000.0, 10.0, horizon_h=5e-324), 'horizon_h'),  # more data centers than an int64 counts
    (lambda: service_availability(3, 0.5, 0.01, max_utilization=5e-324), 'max_utilization'),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_simulated_periods_past_the_float_range_give_their_limit_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        never_fails = simulate_datacenter_availability(3, 2, 1e308, 10.0, horizon_h=1e5)
        never_repaired = simulate_datacenter_availability(1, 1, 1.0, 1e308, horizon_h=1e5)
    assert never_fails == (0.0, 0.0)
    assert never_repaired[0] > 0.99  # down from its first failure (mean 1 h) to the end of 10^5 h


# --- geographic failover, DNS and cross-region writes --------------------------------------------
def _symmetric_layout():
    """Three sites 120 degrees apart on the equator; users 10 degrees either side of each:
    a failed site's users split evenly over the two others, as the binomial model assumes."""
    site_lon = np.array([0.0, 120.0, -120.0])
    user_lon = np.concatenate([site_lon - 10.0, site_lon + 10.0])
    return np.zeros(6), user_lon, np.zeros(3), site_lon


@pytest.mark.parametrize("utilization", [0.1, 0.3, 0.5, 0.6, 0.9])
def test_geo_failover_matches_the_binomial_model_when_failed_users_spread_evenly(utilization):
    from scaling_lab.datacenters import geo_failover_unavailability, service_availability

    q, u_max = 0.01, 0.9
    got = geo_failover_unavailability(*_symmetric_layout(), utilization, q, max_utilization=u_max)
    assert got == pytest.approx(service_availability(3, utilization, q, max_utilization=u_max), rel=1e-12)


def test_geo_failover_against_monte_carlo_states_of_an_uneven_layout():
    from scaling_lab.datacenters import geo_failover_unavailability

    lat = np.array([40.7, 41.9, 51.5, 48.9, 35.7, 1.3])
    lon = np.array([-74.0, -87.6, -0.1, 2.4, 139.7, 103.8])
    sla, slo = np.array([39.0, 50.1, 1.3]), np.array([-77.5, 8.7, 103.8])
    q, u, u_max = 0.2, 0.5, 0.9
    exact = geo_failover_unavailability(lat, lon, sla, slo, u, q, max_utilization=u_max)
    # independent check: draw up/down states, route each user to its nearest live site by brute force
    rng = np.random.default_rng(5)
    dist = np.hypot(lat[:, None] - sla[None, :], (lon[:, None] - slo[None, :]) * np.cos(np.radians(lat[:, None])))
    normal = np.bincount(dist.argmin(axis=1), minlength=3) / len(lat)
    bad = 0
    n = 20_000
    for down in rng.random((n, 3)) < q:
        if down.all():
            bad += 1
            continue
        share = np.bincount(np.where(down, np.inf, dist).argmin(axis=1), minlength=3) / len(lat)
        bad += bool((u * share / normal > u_max).any())
    assert abs(bad / n - exact) < 4 * np.sqrt(exact * (1 - exact) / n)


def test_dns_failover_against_simulated_resolver_caches():
    from scaling_lab.datacenters import dns_failover

    f = dns_failover(60.0, detection_s=30.0, stale_fraction=0.1, stale_hold_s=600.0)
    rng = np.random.default_rng(3)
    n = 200_000
    stale = rng.random(n) < 0.1
    hold = np.where(stale, 600.0, 60.0)
    moved_at = 30.0 + rng.random(n) * hold          # each cached answer expires uniformly within its hold
    assert moved_at.mean() == pytest.approx(f.mean_exposure_s, rel=0.01)
    for t in (10.0, 45.0, 80.0, 300.0):
        assert np.mean(moved_at > t) == pytest.approx(f.fraction_on_failed(t), abs=0.005)
    assert np.quantile(moved_at, 0.99) == pytest.approx(f.time_to_move(0.99), rel=0.02)
    # the integral of the fraction still on the failed site is the mean exposure
    t = np.linspace(0.0, 700.0, 70_001)
    assert np.trapezoid(f.fraction_on_failed(t), t) == pytest.approx(f.mean_exposure_s, rel=1e-4)


def test_writes_at_risk_is_littles_law():
    from scaling_lab.datacenters import writes_at_risk

    rng = np.random.default_rng(1)
    commits = np.cumsum(rng.exponential(1 / 500.0, 200_000))    # 500 writes/s
    lag = rng.exponential(0.08, commits.size)                   # mean lag 80 ms
    probes = rng.uniform(10.0, commits[-1] - 10.0, 2000)
    in_flight = [np.sum((commits <= t) & (commits + lag > t)) for t in probes]
    assert np.mean(in_flight) == pytest.approx(writes_at_risk(500.0, 0.08), rel=0.05)
    with pytest.raises(ValueError, match="lag_s"):
        writes_at_risk(1.0, -1.0)


def test_failover_shares_past_the_float_range_give_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        limit = max_utilization_for_failover(np.full((3, 2), 1e308))
    assert 0 <= limit <= 1
