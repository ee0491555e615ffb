"""Capacity planner: monotone in load, each threshold where its chapter's model puts it, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.planner import models
from scaling_lab.availability import k_of_n_unavailability
from scaling_lab.cache import hit_ratio, zipf_popularity
from scaling_lab.geography import load_cities, load_cloud_regions, nearest_datacenter
from scaling_lab.planner import COMPONENTS, Assumptions, entry_points, plan, sweep, zipf_cache_items
from scaling_lab.capacity import max_arrival_rate, servers_needed
from scaling_lab.replication import read_scaling
from scaling_lab.traffic import daily_users_supported

CAPACITY_ONLY = Assumptions(availability_target=None)
MONOTONE = ["web_servers", "load_balancers", "database_nodes", "shards", "cache_nodes", "worker_machines",
            "data_centers", "cdn", "machines", "monthly_cost", "peak_arrival_rate", "cache_gb"]


def _users_at_rate(rate, a=CAPACITY_ONLY):
    return daily_users_supported(rate, a.requests_per_user, a.peak_to_average)


def _value(p, column):
    return p.counts()[column] if column in p.counts() else p.needed[column]


def _crosses(column, users, before, after, a=CAPACITY_ONLY, eps=1e-6):
    below = _value(plan(users * (1 - eps), a), column)
    above = _value(plan(users * (1 + eps), a), column)
    return below == before and above == after


# --- building blocks ----------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.6, 1.0, 1.3])
def test_zipf_cache_items_matches_lfu_hit_ratio_of_the_cache_model(alpha):
    n, target = 50_000, 0.7
    c = zipf_cache_items(n, alpha, target)
    p = zipf_popularity(n, alpha)
    assert hit_ratio(p, c, "lfu") >= target - 1e-12
    assert hit_ratio(p, c - 1, "lfu") < target


def test_generalized_harmonic_euler_maclaurin_against_exact_sums():
    n = np.array([999, 1000, 5000, 123_456, 2_000_000])
    for alpha in (0.5, 0.9, 1.0, 1.5):
        exact = [np.sum(np.arange(1, m + 1, dtype=float) ** -alpha) for m in n]
        np.testing.assert_allclose(models._generalized_harmonic(n, alpha), exact, rtol=1e-12)


# --- monotone in load ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"availability_target": None}, {"read_fraction": 0.5},
                                {"user_regions": ("Europe", "Asia"), "availability_target": 0.9999},
                                {"stored_bytes_per_user": 1e6, "max_replicas_per_shard": 1}])
def test_no_component_count_decreases_as_users_grow(kw):
    df = sweep(np.logspace(0, 8, 161), **kw)
    for col in MONOTONE:
        assert np.all(np.diff(df[col].to_numpy(dtype=float)) >= 0), col
    for key in (c.key for c in COMPONENTS):
        if key != "read_replicas":  # per-shard replicas halve at a split (see Plan.needed)
            flags = df[f"needs_{key}"].to_numpy()
            assert not np.any(flags[:-1] & ~flags[1:]), key


@settings(max_examples=40, deadline=None)
@given(u1=st.floats(1.0, 2e8), factor=st.floats(1.0, 50.0), read=st.floats(0.0, 1.0),
       rpu=st.floats(1.0, 200.0), target=st.sampled_from([None, 0.99, 0.999, 0.9999]),
       regions=st.sampled_from([("North America",), ("Europe", "Asia"), ("Africa", "Oceania", "Europe")]))
def test_monotone_property(u1, factor, read, rpu, target, regions):
    a = Assumptions(read_fraction=read, requests_per_user=rpu, availability_target=target, user_regions=regions)
    small, big = plan(u1, a).counts(), plan(u1 * factor, a).counts()
    for col in MONOTONE:
        assert big[col] >= small[col] - 1e-9 * abs(small[col]), col


# --- each threshold where its chapter's model puts it --------------------------------------------
def test_load_balancer_enters_when_one_web_server_breaks_the_slo():
    a = CAPACITY_ONLY
    one_server = max_arrival_rate(1 / a.web_service_time_s, a.web_workers_per_server,
                                  max_response_quantile=(a.slo_quantile, a.latency_slo_s))
    assert _crosses("web_servers", _users_at_rate(one_server), 1, 2)


def test_database_separates_when_web_and_database_work_no_longer_fit_one_machine():
    a = CAPACITY_ONLY
    shared = max_arrival_rate(1 / (a.web_service_time_s + a.db_query_time_s), a.web_workers_per_server,
                              max_response_quantile=(a.slo_quantile, a.latency_slo_s))
    assert _crosses("separate_database", _users_at_rate(shared), False, True)
    assert plan(1.0, a).database.count == 0


def test_cache_enters_when_uncached_queries_exceed_one_database_node():
    a = CAPACITY_ONLY
    node = max_arrival_rate(1 / a.db_query_time_s, a.db_cores, max_response_quantile=(0.99, a.db_latency_slo_s))
    assert _crosses("cache_nodes", _users_at_rate(node), 0, 1)
    p = plan(2 * _users_at_rate(node), a)
    assert p.database.read_rate == pytest.approx(p.peak_arrival_rate * a.read_fraction * (1 - a.cache_hit_ratio))


def test_cache_size_reaches_the_hit_ratio_it_is_sized_for():
    p = plan(3e6, CAPACITY_ONLY)
    n_objects = p.daily_users * CAPACITY_ONLY.stored_bytes_per_user / CAPACITY_ONLY.object_bytes
    items = p.cache.cache_bytes / CAPACITY_ONLY.object_bytes
    share = models._generalized_harmonic(items, 1.0) / models._generalized_harmonic(math.floor(n_objects), 1.0)
    assert share >= CAPACITY_ONLY.cache_hit_ratio
    assert p.cache.per_site >= p.cache.cache_bytes / CAPACITY_ONLY.cache_node_bytes


def test_replicas_enter_at_one_nodes_capacity_and_carry_the_read_load():
    a = CAPACITY_ONLY
    u = entry_points(a)["read_replicas"]
    p = plan(u * 1.001, a)
    node = p.database.node_max_arrival_rate
    assert p.database.read_rate + p.database.write_rate == pytest.approx(node, rel=2e-3)
    f = p.database.read_rate / (p.database.read_rate + p.database.write_rate)
    carried = read_scaling(f, p.database.replicas_per_shard, primary_capacity_per_s=node, apply_cost=a.apply_cost)
    assert carried.max_request_rate >= p.database.read_rate + p.database.write_rate


def test_shards_split_when_a_primary_with_its_replicas_or_its_disk_is_full():
    a = CAPACITY_ONLY
    u = entry_points(a)["sharding"]
    p = plan(u * 1.001, a)
    assert p.database.shards == 2 and plan(u * 0.999, a).database.shards == 1
    rate = p.database.read_rate + p.database.write_rate
    f = p.database.read_rate / rate
    full = read_scaling(f, a.max_replicas_per_shard, primary_capacity_per_s=p.database.node_max_arrival_rate,
                        apply_cost=a.apply_cost).max_request_rate
    on_disk = u * a.stored_bytes_per_user
    assert rate == pytest.approx(full, rel=2e-3) or on_disk == pytest.approx(a.db_storage_bytes, rel=2e-3)
    # storage alone: one primary's disk
    b = Assumptions(availability_target=None, stored_bytes_per_user=1e7, db_storage_bytes=1e12)
    assert _crosses("shards", 1e12 / 1e7, 1, 2, b, eps=1e-3)


def test_cdn_enters_at_the_origin_bandwidth():
    a = CAPACITY_ONLY
    rate = a.origin_bandwidth_bps / (8 * a.static_bytes_per_request)
    assert _crosses("cdn", _users_at_rate(rate), False, True)


def test_queue_workers_are_the_mmc_pool_for_the_mean_wait_target():
    a = Assumptions()
    p = plan(2e6, a)
    jobs = 2e6 * a.jobs_per_user / 86_400 * a.peak_to_average
    assert p.workers.queue_workers == servers_needed(jobs, 1 / a.job_time_s, max_mean_wait_s=a.max_job_wait_s)
    assert p.workers.count == math.ceil(p.workers.queue_workers / a.worker_slots_per_machine)
    assert plan(2e6, a, jobs_per_user=0.0).workers.count == 0


def test_web_spares_are_the_fewest_that_meet_the_tiers_budget():
    a = Assumptions(availability_target=0.999)
    p = plan(5e7, a)
    needed = math.ceil(servers_needed(p.peak_arrival_rate, 1 / a.web_service_time_s,
                                      max_response_quantile=(a.slo_quantile, a.latency_slo_s))
                       / a.web_workers_per_server)
    n = p.web.per_site
    u = a.server_mttr_h / (a.server_mttf_h + a.server_mttr_h)
    assert n > needed
    assert k_of_n_unavailability(needed, n, u) <= a.unavailability_budget < k_of_n_unavailability(needed, n - 1, u)
    assert p.meets_availability


def test_two_data_centers_when_one_site_misses_its_budget():
    assert plan(10.0, availability_target=0.999).sites.count == 1  # 1e-4 <= 3.3e-4
    p = plan(10.0, availability_target=0.9999)  # 1e-4 > 3.3e-5
    assert p.sites.count == 2 and p.web.per_site >= 2
    # each site absorbs the whole load when the other is lost
    assert p.web.per_site >= plan(10.0, availability_target=None).web.count


def test_geography_places_sites_within_the_rtt_ceiling():
    p = plan(1e4, user_regions=("North America", "Europe", "Asia"), max_rtt_ms=120.0)
    cities = load_cities()
    users = cities[cities["region"].isin(["North America", "Europe", "Asia"])]
    regions = load_cloud_regions().set_index("region").loc[list(p.sites.regions)]
    _, rtt, _ = nearest_datacenter(users["lat"], users["lon"], regions["lat"], regions["lon"], route_factor=1.6)
    assert rtt.max() <= 120.0 and p.sites.max_rtt_ms == pytest.approx(rtt.max())
    assert plan(1e4, max_rtt_ms=120.0).sites.count == 1
    assert p.sites.count >= 3


def test_entry_points_follow_the_journey_and_agree_with_direct_thresholds():
    a = CAPACITY_ONLY
    e = entry_points(a)
    one_server = max_arrival_rate(1 / a.web_service_time_s, a.web_workers_per_server,
                                  max_response_quantile=(a.slo_quantile, a.latency_slo_s))
    assert e["load_balancer"] == pytest.approx(_users_at_rate(one_server), rel=2e-3)
    assert e["separate_database"] < e["load_balancer"] < e["cache"] < e["sharding"]
    assert e["data_centers"] is None and e["message_queue"] == 1.0
    with_target = entry_points(availability_target=0.999)
    assert with_target["load_balancer"] == 1.0 and with_target["read_replicas"] == 1.0


def test_report_names_every_tier():
    text = plan(1e7).report()
    for word in ("web servers", "database", "cache", "CDN", "queue workers", "data centers", "monthly cost"):
        assert word in text
    assert f"{plan(1e7).web.count}" in text


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("users", [0, -1, float("nan"), float("inf"), "many"])
def test_bad_user_counts_raise(users):
    with pytest.raises(ValueError, match="daily_users"):
        plan(users)


@pytest.mark.parametrize("kw, name", [
    ({"read_fraction": 1.5}, "read_fraction"), ({"peak_to_average": 0.5}, "peak_to_average"),
    ({"requests_per_user": 0}, "requests_per_user"), ({"availability_target": 1.0}, "availability_target"),
    ({"cache_hit_ratio": 1.0}, "cache_hit_ratio"), ({"web_workers_per_server": 2.5}, "web_workers_per_server"),
    ({"user_regions": ("Atlantis",)}, "user_regions"), ({"latency_slo_s": 0.05}, "latency_slo_s"),
    ({"db_latency_slo_s": 0.001}, "db_latency_slo_s"), ({"route_factor": 0.9}, "route_factor"),
    ({"no_such_thing": 1}, "no_such_thing")])
def test_bad_assumptions_raise(kw, name):
    with pytest.raises(ValueError, match=name):
        plan(1e6, **kw)


def test_bad_entry_point_arguments_raise():
    with pytest.raises(ValueError, match="max_users"):
        entry_points(max_users=0.5)
    with pytest.raises(ValueError, match="n_items"):
        zipf_cache_items(0, 1.0, 0.5)
