"""Capacity planner: each tier checked against its chapter's model, the simulator or a hand computation."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.availability import k_of_n_unavailability
from scaling_lab.backlog import burst_backlog
from scaling_lab.cache import hit_ratio, zipf_popularity
from scaling_lab.capacity import max_arrival_rate, servers_needed
from scaling_lab.datacenters import failover_shares
from scaling_lab.geography import load_cities, load_cloud_regions, nearest_datacenter
from scaling_lab.planner import COMPONENTS, Assumptions, entry_points, models, plan, sweep, zipf_cache_items
from scaling_lab.planner.prices import family_sizes, instance
from scaling_lab.planner.report import plan_to_dict, plan_to_json
from scaling_lab.queueing import MMc
from scaling_lab.replication import read_scaling
from scaling_lab.simulation import Exponential, simulate_pool

A = Assumptions()
U_SERVER = A.server_mttr_h / (A.server_mttf_h + A.server_mttr_h)


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


# --- headroom and the web tier -------------------------------------------------------------------
@pytest.mark.parametrize("users", [1e3, 1e5, 1e6, 1e7, 1e8])
def test_web_tier_runs_below_its_target_and_meets_the_slo_with_machines_lost(users):
    p = plan(users)
    rate = p.traffic.peak_arrival_rate * (1 + A.forecast_margin)
    w, n = p.web.workers_per_server, p.web.per_site[0]
    assert p.web.utilization <= A.max_utilization + 1e-12
    assert rate * A.web_service_time_s / (n * w) == pytest.approx(p.web.utilization)
    lost = 1 if p.web.needed_per_site[0] + 1 <= A.n_plus_two_above else 2
    assert p.web.machines_lost >= 1 and p.web.machines_lost == lost
    survivors = MMc(rate, 1 / A.web_service_time_s, (n - lost) * w)
    assert survivors.response_quantile(A.slo_quantile) <= A.latency_slo_s
    assert w == instance(p.web.instance).vcpu - A.reserved_vcpus_per_machine


def test_planned_web_tier_meets_the_slo_in_simulation_with_a_machine_lost():
    """Ten million users: the least-connections pool of the plan, one machine down, at the forecast peak."""
    p = plan(1e7)
    rate = p.traffic.design_arrival_rate
    up = p.web.per_site[0] - 1
    sim = simulate_pool(rate, Exponential(A.web_service_time_s), up, "jsq",
                        workers_per_server=p.web.workers_per_server, n_requests=200_000, seed=3)
    assert sim.response_quantile(A.slo_quantile) <= A.latency_slo_s
    # without the spares and the margin the same pool breaks the SLO at the peak: the headroom is what holds it
    lean = math.ceil(servers_needed(p.peak_arrival_rate, 1 / A.web_service_time_s,
                                    max_response_quantile=(A.slo_quantile, A.latency_slo_s))
                     / p.web.workers_per_server)
    broken = simulate_pool(p.peak_arrival_rate, Exponential(A.web_service_time_s), lean - 1, "jsq",
                           workers_per_server=p.web.workers_per_server, n_requests=200_000, seed=3)
    assert broken.response_quantile(A.slo_quantile) > A.latency_slo_s


def test_small_services_get_small_machines_and_large_ones_larger():
    small, large = plan(1_000), plan(1e8)
    for tier, family in (("web", A.web_family), ("load_balancers", A.lb_family), ("workers", A.worker_family)):
        assert getattr(small, tier).instance == family_sizes(family)[0].instance, tier
    assert small.database.instance == family_sizes(A.db_family)[0].instance
    assert instance(large.web.instance).vcpu > instance(small.web.instance).vcpu
    assert small.monthly_cost < 1_000


def test_web_size_is_the_cheapest_of_the_family():
    p = plan(1e7)
    rate = p.traffic.design_arrival_rate
    c = servers_needed(rate, 1 / A.web_service_time_s, max_response_quantile=(A.slo_quantile, A.latency_slo_s))
    costs = {}
    for size in family_sizes(A.web_family):
        w = int(size.vcpu - A.reserved_vcpus_per_machine)
        need = max(math.ceil(c / w), math.ceil(rate * A.web_service_time_s / (A.max_utilization * w)))
        n = need + (1 if need + 1 <= A.n_plus_two_above else 2)
        while k_of_n_unavailability(need, n, U_SERVER) > (1 - A.availability_target) / 5:
            n += 1
        costs[size.instance] = n * size.usd_per_month
    assert p.web.monthly_cost == pytest.approx(min(costs.values()))
    assert p.web.instance == min(costs, key=costs.get)


def test_web_spares_are_the_fewest_that_meet_the_tiers_budget():
    p = plan(5e7)
    n, need = p.web.per_site[0], p.web.needed_per_site[0]
    budget = (1 - A.availability_target) / 5
    assert k_of_n_unavailability(need, n, U_SERVER) <= budget
    assert n == need + 2 or k_of_n_unavailability(need, n - 1, U_SERVER) > budget
    assert p.meets_availability


def test_capacity_only_plan_has_no_spares():
    p = plan(1e6, availability_target=None)
    assert p.web.per_site == p.web.needed_per_site and p.web.machines_lost == 0
    assert p.workers.count == math.ceil(p.workers.queue_workers
                                        / (instance(p.workers.instance).vcpu - A.reserved_vcpus_per_machine))
    assert p.cache.count == 0 or "spare" not in p.cache.reason


# --- every layer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("users", [1e3, 1e7, 1e9])
def test_every_tier_on_the_request_path_is_redundant(users):
    p = plan(users)
    for tier in ("load_balancers", "web", "sessions"):
        t = getattr(p, tier)
        assert min(t.per_site) >= 2, tier
        assert t.unavailability <= (1 - A.availability_target) / 5
    assert p.database.replicas_per_shard >= 1
    assert set(p.unavailability) == {"sites", "load_balancers", "web", "sessions", "database"}


def test_load_balancers_carry_the_requests_and_the_bytes():
    p = plan(1e7)  # no CDN at list prices: the balancers carry the static bytes too
    vcpu = instance(p.load_balancers.instance).vcpu
    rate = p.traffic.design_arrival_rate
    bits = rate * (A.object_bytes + A.static_bytes_per_request) * 8
    assert p.cdn.count == 0 and p.load_balancers.bandwidth_bps == pytest.approx(bits)
    need = max(math.ceil(rate / (A.max_utilization * A.lb_arrival_rate_per_vcpu * vcpu)),
               math.ceil(bits / (A.max_utilization * A.lb_bandwidth_bps_per_vcpu * vcpu)))
    assert p.load_balancers.count >= need + 1


def test_queue_workers_drain_the_peak_backlog_within_the_target():
    p = plan(1e7)
    base = 1e7 * A.jobs_per_user / 86_400
    burst = base * A.peak_to_average * (1 + A.forecast_margin)
    slots = instance(p.workers.instance).vcpu - A.reserved_vcpus_per_machine
    up = (p.workers.count - 1) * slots
    fluid = burst_backlog(base, burst, A.peak_duration_s, 1 / A.job_time_s, up)
    assert fluid.drain_time_s <= A.drain_target_s
    assert base * A.job_time_s / up <= A.max_utilization
    fewer = burst_backlog(base, burst, A.peak_duration_s, 1 / A.job_time_s, up - slots)
    assert fewer.drain_time_s > A.drain_target_s or base * A.job_time_s / (up - slots) > A.max_utilization


def test_database_sees_the_cache_misses_and_the_writes():
    p = plan(1e7)
    rate = p.traffic.design_arrival_rate
    assert p.cache.count >= 1
    assert p.database.read_rate == pytest.approx(rate * A.read_fraction * (1 - A.cache_hit_ratio))
    assert p.database.write_rate == pytest.approx(rate * (1 - A.read_fraction))
    f = p.database.read_rate / (p.database.read_rate + p.database.write_rate)
    carried = read_scaling(f, p.database.replicas_per_shard - 1, primary_capacity_per_s=p.database.node_max_arrival_rate,
                           apply_cost=A.apply_cost)
    assert carried.max_request_rate >= p.database.read_rate + p.database.write_rate  # carries it with a replica lost


def test_cache_size_reaches_the_hit_ratio_it_is_sized_for():
    p = plan(3e6, read_fraction=0.99)
    n_objects = 3e6 * A.stored_bytes_per_user / A.object_bytes
    if p.cache.count:
        share = (models._generalized_harmonic(p.cache.cache_bytes / A.object_bytes, 1.0)
                 / models._generalized_harmonic(math.floor(n_objects), 1.0))
        assert share >= A.cache_hit_ratio


def test_telemetry_volume_matches_the_logging_chapter():
    # 10 k req/s on average and 500 bytes a request: 432 GB of logs a day
    users = 10_000 * 86_400 / A.requests_per_user
    assert plan(users).telemetry.log_gb_per_day == pytest.approx(432.0)


# --- geography -----------------------------------------------------------------------------------
def test_world_sites_are_sized_from_their_geographic_share_and_failover():
    regions = ("North America", "South America", "Europe", "Africa", "Middle East", "Asia", "Oceania")
    p = plan(1e8, user_regions=regions)
    cities = load_cities()
    users = cities[cities["region"].isin(regions)]
    places = load_cloud_regions().set_index("region").loc[list(p.sites.regions)]
    shares = failover_shares(users["lat"], users["lon"], places["lat"], places["lon"])
    assert p.sites.count >= 3 and np.allclose(p.sites.shares, shares[0])
    rate = p.traffic.design_arrival_rate
    w = p.web.workers_per_server
    capacity = [max_arrival_rate(1 / A.web_service_time_s, (n - 1) * w,
                                 max_response_quantile=(A.slo_quantile, A.latency_slo_s)) for n in p.web.per_site]
    for row in shares:  # normally and with each site down, every site carries its users with a machine lost
        assert np.all(rate * row <= np.array(capacity) * (1 + 1e-9))
    assert len(set(p.web.per_site)) > 1  # not an even split


def test_geography_places_sites_within_the_rtt_ceiling():
    p = plan(1e4, user_regions=("North America", "Europe", "Asia"), max_rtt_ms=120.0)
    cities = load_cities()
    users = cities[cities["region"].isin(["North America", "Europe", "Asia"])]
    regions = load_cloud_regions().set_index("region").loc[list(p.sites.regions)]
    _, rtt, _ = nearest_datacenter(users["lat"], users["lon"], regions["lat"], regions["lon"], route_factor=1.6)
    assert rtt.max() <= 120.0 and p.sites.max_rtt_ms == pytest.approx(rtt.max())
    assert plan(1e4, max_rtt_ms=120.0).sites.count == 1 and p.sites.count >= 3
    assert p.sites.write_extra_rtt_ms > 100 and any("write" in w for w in p.sites.warnings)


def test_two_data_centers_when_one_site_misses_its_budget():
    assert plan(10.0, availability_target=0.999).sites.count == 1
    p = plan(10.0, availability_target=0.9999)
    assert p.sites.count == 2 and min(p.web.per_site) >= 2
    assert all(d == pytest.approx(1.0) for d in p.sites.design_shares)  # each site absorbs the other's users


# --- the journey and the bill --------------------------------------------------------------------
def test_monthly_cost_grows_with_users():
    df = sweep(np.logspace(0, 9, 37))
    assert np.all(np.diff(df["monthly_cost"].to_numpy()) > 0)
    assert np.all(np.diff(df["peak_arrival_rate"].to_numpy()) > 0)


@settings(max_examples=25, deadline=None)
@given(u1=st.floats(1.0, 2e8), factor=st.floats(1.0, 50.0), read=st.floats(0.0, 1.0),
       target=st.sampled_from([0.99, 0.999, 0.9999]))
def test_a_plan_for_more_users_never_costs_less(u1, factor, read, target):
    a = Assumptions(read_fraction=read, availability_target=target)
    assert plan(u1 * factor, a).monthly_cost >= plan(u1, a).monthly_cost * (1 - 1e-9)


def test_entry_points_follow_the_journey():
    e = entry_points(availability_target=None)
    one_server = max_arrival_rate(1 / A.web_service_time_s, 1, max_response_quantile=(A.slo_quantile, A.latency_slo_s))
    assert e["load_balancer"] is not None and e["separate_database"] <= e["load_balancer"]
    assert e["load_balancer"] < e["cache"] < e["sharding"]
    with_target = entry_points()
    assert with_target["load_balancer"] == 1.0 and with_target["read_replicas"] == 1.0
    assert with_target["session_store"] == 1.0 and one_server > 0


def test_tiered_prices_by_hand():
    from scaling_lab.planner.prices import tiered_transfer_cost
    # 10 TB at 0.09, 40 TB at 0.085, 100 TB at 0.07, the rest at 0.05
    assert tiered_transfer_cost(200_000, "egress") == pytest.approx(10_000 * 0.09 + 40_000 * 0.085 + 100_000 * 0.07
                                                                    + 50_000 * 0.05)
    assert tiered_transfer_cost(2_000, "cdn") == pytest.approx(2_000 * 0.085)
    assert tiered_transfer_cost(0, "cdn") == 0.0


def test_cdn_when_cheaper_or_when_the_origin_cannot_serve_the_bytes():
    for users in (1e4, 1e6, 1e7, 1e8):
        t = plan(users).cdn
        forced = t.static_bandwidth_bps > A.origin_bandwidth_bps
        assert bool(t.count) == (forced or t.with_cdn_cost < t.origin_only_cost)
        assert t.monthly_cost == pytest.approx(t.with_cdn_cost if t.count else t.origin_only_cost)
    assert plan(1e8).cdn.count == 1 and plan(1e6).cdn.count == 0


def test_warns_past_what_the_models_cover():
    assert not any(t.warnings for t in plan(1e6).tiers.values())
    text = plan(1e9).report()
    assert "warning:" in text and "one site" in text


def test_json_round_trips():
    p = plan(3e6, user_regions=("Europe", "Asia"))
    d = json.loads(plan_to_json(p))
    assert d == json.loads(json.dumps(plan_to_dict(p)))
    again = plan(d["daily_users"], Assumptions(**{k: tuple(v) if isinstance(v, list) else v
                                                  for k, v in d["assumptions"].items()}))
    assert plan_to_dict(again) == plan_to_dict(p)
    assert d["monthly_cost"] == pytest.approx(sum(t["monthly_cost"] for t in d["tiers"].values()))


def test_report_names_every_tier():
    text = plan(1e7).report()
    for word in ("web servers", "database", "cache", "CDN", "queue workers", "data centers", "monthly cost",
                 "load balancers", "session store", "telemetry", "storage"):
        assert word in text
    small = plan(1e3).report()
    assert "1 worker each" in small and "1 replica)" in small
    assert not any(f" 1 {word}s" in text + small for word in ("worker", "replica", "shard", "machine", "spare"))


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("users", [0, -1, float("nan"), float("inf"), "many"])
def test_bad_user_counts_raise(users):
    with pytest.raises(ValueError, match="daily_users"):
        plan(users)


@pytest.mark.parametrize("kw, name", [
    ({"read_fraction": 1.5}, "read_fraction"), ({"peak_to_average": 0.5}, "peak_to_average"),
    ({"requests_per_user": 0}, "requests_per_user"), ({"availability_target": 1.0}, "availability_target"),
    ({"cache_hit_ratio": 1.0}, "cache_hit_ratio"), ({"n_plus_two_above": 2.5}, "n_plus_two_above"),
    ({"user_regions": ("Atlantis",)}, "user_regions"), ({"latency_slo_s": 0.05}, "latency_slo_s"),
    ({"db_latency_slo_s": 0.001}, "db_latency_slo_s"), ({"route_factor": 0.9}, "route_factor"),
    ({"web_family": "z9"}, "web_family"), ({"session_instance": "huge"}, "session_instance"),
    ({"max_utilization": 0}, "max_utilization"), ({"no_such_thing": 1}, "no_such_thing")])
def test_bad_assumptions_raise(kw, name):
    with pytest.raises(ValueError, match=name):
        plan(1e6, **kw)


def test_bad_entry_point_arguments_raise():
    with pytest.raises(ValueError, match="max_users"):
        entry_points(max_users=0.5)
    with pytest.raises(ValueError, match="n_items"):
        zipf_cache_items(0, 1.0, 0.5)


@pytest.mark.parametrize("call, name", [
    (lambda: plan(1e11), "daily_users"),
    (lambda: plan(5e-324), "daily_users"),  # at least 10^-6: its request rate would fall below the float range  # more than 10^10: shard counts leave the models' ranges
    (lambda: plan([1e4, 1e5]), "daily_users"),  # one plan, one number: sweep takes several
    (lambda: sweep(np.ones((2, 2)) * 1e4), "daily_users"),
    (lambda: sweep([1e4, 1e308]), "daily_users"),
    (lambda: entry_points(max_users=1e11), "max_users"),
    (lambda: entry_points(max_users=[1e4, 1e5]), "max_users"),
    (lambda: entry_points(max_users=1e4, points_per_decade=101), "points_per_decade"),
    (lambda: entry_points(max_users=1e4, points_per_decade=[2, 3]), "points_per_decade"),
    (lambda: entry_points(max_users=1e4, rtol=[0.1, 0.2]), "rtol"),
    (lambda: entry_points(max_users=1e4, rtol=5e-324), "rtol"),  # the bisection could never get there
    (lambda: zipf_cache_items(1e308, 1.0, 0.5), "n_items"),  # at most 2^53 objects: the bisection ends
    (lambda: zipf_cache_items([1e6, 1e7], 1.0, 0.5), "n_items"),
    (lambda: zipf_cache_items(1e6, [0.8, 0.9], 0.5), "alpha"),
    (lambda: zipf_cache_items(1e6, 0.8, [0.5, 0.9]), "hit_ratio"),
])
def test_planner_refuses_bad_input_by_name(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_a_plan_is_drawn_up_to_ten_billion_daily_users():
    p = plan(1e10)
    assert p.machines > 0 and np.isfinite(p.monthly_cost)
