"""scaling-lab: the models, simulator and planner behind *Scaling from zero to millions of users*.

``import scaling_lab as sl`` is the front door: every public model, the
simulator, the planner and the explorer are here by name (``sl.MMc``,
``sl.servers_needed``, ``sl.hit_ratio``, ``sl.simulate_queue``, ``sl.plan``).
The modules stay importable by concept, one per chapter idea
(``scaling_lab.queueing``, ``scaling_lab.cache``…); the layers live in
packages: ``core`` (validation, arrays, statistics, parallel map),
``simulation`` (the discrete-event simulator), ``planner`` (capacity plans and
the command line) and ``presentation`` (explorers and the plot style).
"""

__version__ = "0.2.0"

from .approximations import MGc
from .availability import (
    MINUTES_PER_YEAR, FailoverAvailability, downtime_minutes_per_year, failover_generator, from_mttf,
    k_of_n, k_of_n_unavailability, nines, parallel_availability, parallel_unavailability, primary_failover,
    series_availability, series_unavailability,
)
from .autoscaling import ScaleOutTarget, scale_out_lag, scale_out_target
from .backlog import (
    BoundedBurst, BurstBacklog, DeliveryOutcome, bounded_burst, burst_backlog, decoupling_comparison, delivery_outcome,
    prob_rejected_bounded, time_average_in_system, waiting_count, workers_for_drain_time,
)
from .cache import (
    CACHE_POLICIES, CONSISTENCY_STRATEGIES, CacheFailure, ExpiryStampede, backend_mean_latency, backend_rate,
    bounded_ttl_hit_ratio, cache_failure, cache_memory_bytes, characteristic_time, effective_ttl_s, expiry_stampede,
    hit_ratio, irm_trace, lru_hit_ratio_curve, mean_latency, popularity_from_counts, popularity_from_trace,
    simulate_hit_ratio, slab_chunk_bytes, stack_distances, staleness_window, ttl_cache_items, ttl_hit_ratio,
    ttl_stale_hit_probability, zipf_popularity,
)
from .capacity import NPlusOneHeadroom, max_arrival_rate, n_plus_one_headroom, pooling_comparison, servers_needed
from .cdn import (
    CDNCost, cdn_break_even_usd_per_gb, cdn_monthly_cost, central_hit_ratio, edge_hit_ratios, edge_request_rates,
    first_byte_ms,
)
from .core.parallel import parallel_map
from .datacenters import (
    best_sites, datacenters_needed, failover_shares, failover_utilization_limit, max_utilization_for_failover,
    replication_delay_floor_ms, service_availability, simulate_datacenter_availability,
)
from .datacenters import DNSFailover, dns_failover, geo_failover_unavailability, writes_at_risk
from .geography import (
    EARTH_RADIUS_KM, FIBRE_SPEED_KM_PER_MS, haversine_km, load_cities, load_cloud_regions, load_region_rtt,
    nearest_datacenter, region_rtt_matrix, route_factors, rtt_floor_ms, user_rtt_ms,
)
from .healthcheck import (
    DetectionTime, detection_time, requests_to_failed_server, simulate_failed_requests, vrrp_failover_time,
)
from .loadbalancing import mean_field_queue_length, mean_field_response_time, mean_field_tail
from .network import (
    DataModelDemand, HeldPool, MVAResult, OpenNetwork, Station, data_model_demands, held_pool, mva, pool_throughput,
)
from .observability import (
    GORILLA_BYTES_PER_SAMPLE, budget_exhaustion_time, burn_rate, burn_rate_threshold, error_budget,
    metric_bytes_per_day, sampled_log_bytes_per_day,
)
from .observability import CanaryDetection, canary_detection
from .planner import (
    COMPONENTS, STEPS, Assumptions, Plan, Tier, entry_points, plan, resolve_assumptions, sweep, zipf_cache_items,
)
from .presentation.explorer import Explorer, Slider, is_static
from .presentation.plotting import latency_vs_load_figure, slo_line
from .queueing import MG1, MMc, erlang_b, erlang_c
from .replication import ReadScaling, ReplicaLoss, ReplicationLag, apply_thread_rate, read_scaling, replica_loss
from .scalability import USLFit, amdahl_speedup, fit_usl, usl_peak_concurrency, usl_throughput
from .sessions import (
    SessionStore, expected_max_standard_normal, new_server_load_share, prob_session_interrupted,
    simulate_sticky_loads, sticky_peak_load_factor, time_to_rebalance, users_losing_sessions,
)
from .sharding import (
    SCHEMES, ConsistentHashRing, assign_shards, consistent_hash_share_cv, expected_max_load, expected_skew,
    hash64, hot_shard_share, jump_hash, keys_moved_fraction, rendezvous_hash, simulate_keys_moved,
    simulate_shard_shares,
)
from .sharding import HotKeySplit, JoinCost, ReshardingCost, hot_key_split, join_cost, resharding_cost
from .simulation import (
    ROUTING_POLICIES, ArrivalProcess, ClosedSimulationResult, Deterministic, Distribution, Exponential, Gamma,
    HyperExponential, LogNormal, OnOffArrivals, PiecewisePoissonArrivals, PoissonArrivals, RenewalArrivals,
    SimulationResult, TandemSimulationResult, batch_means_ci, fcfs_start_times, simulate_closed_network,
    simulate_pool, simulate_queue, simulate_tandem,
)
from .simulation import RETRY_POLICIES, RetrySimulationResult, metastability_map, simulate_retries
from .tails import (
    HedgedRequest, daily_volume_bytes, fanout_slow_probability, histogram, log_bucket_edges, max_of_k_exponential_mean,
    max_of_k_exponential_quantile, max_of_k_lognormal_quantile, max_of_k_quantile, merge_histograms,
    per_backend_quantile_needed, quantile_from_histogram,
)
from .tails import pooled_response_quantile, slow_request_shares
from .traffic import SECONDS_PER_DAY, daily_users_supported, peak_request_rate

__all__ = [name for name in dir() if not name.startswith("_") and name not in {
    "approximations", "autoscaling", "availability", "backlog", "cache", "capacity", "cdn", "core", "datacenters",
    "geography", "healthcheck", "loadbalancing", "network", "observability", "planner", "presentation",
    "queueing", "replication", "scalability", "sessions", "sharding", "simulation", "tails", "traffic",
}]
