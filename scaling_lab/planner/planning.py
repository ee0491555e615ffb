"""Capacity planner: the whole journey, from daily users to an architecture and its monthly bill.

:func:`plan` turns a workload (daily active users, requests per user, read/write
mix, object sizes, a latency SLO, an availability target, prices) into the
architecture the book arrives at — web servers behind load balancers, a cache
tier, a primary with read replicas per shard, data centers, a CDN and a queue
with workers — and what it costs per month.  Every component is sized by the
model of the chapter that introduces it; :class:`Assumptions` documents each
input and :func:`plan` each rule.  :func:`sweep` evaluates the plan over many
user counts and :func:`entry_points` finds the user count at which each
component first becomes necessary.

The rules, in the order of the journey (chapter numbers refer to the book):

1. **Traffic** (chapter 1): peak rate :math:`\\lambda = k\\,\\mathrm{DAU}\\,r/86\\,400`
   (:func:`scaling_lab.traffic.peak_request_rate`).
2. **Web servers** (chapters 1, 3, 4): the least number of workers meeting the
   latency SLO in an M/M/c queue (:func:`scaling_lab.capacity.servers_needed`),
   packed into machines of ``web_workers_per_server`` workers; the load
   balancer pools them (chapter 4), and with an availability target the pool
   gets the spares that keep :math:`n_{cap}`-of-:math:`n` machines up with the
   tier's share of the unavailability budget
   (:func:`scaling_lab.availability.k_of_n_unavailability`).
3. **Separate database** (chapter 2): once one machine running both the web
   code and the database cannot meet the SLO (an M/M/c with service time
   :math:`S_{web} + S_{db}`), or once there is more than one web server.
4. **Cache** (chapter 6): once the database load without a cache exceeds one
   database node; sized for the target hit ratio over a Zipf-popular catalogue
   (perfect-LFU content, the top :math:`C` objects), in nodes of
   ``cache_node_bytes``, with one spare node per site under an availability
   target (losing a node sends its misses to the database,
   :func:`scaling_lab.cache.cache_failure`).
5. **Read replicas** (chapter 5): the least number of replicas per shard whose
   read capacity, net of replaying the write stream, carries the shard's load
   (:func:`scaling_lab.replication.read_scaling`); at least one standby when a
   lone primary misses the database's availability budget
   (:func:`scaling_lab.availability.primary_failover`), and one per extra
   data center.
6. **CDN** (chapter 7): once the static bytes at the peak exceed the origin's
   bandwidth.
7. **Data centers** (chapter 9): the most of (a) the fewest sites, placed
   greedily among the cloud regions in ``data/``, that keep every user city
   within ``max_rtt_ms`` (:func:`scaling_lab.geography.nearest_datacenter`) and
   (b) the fewest sites such that losing one leaves enough (each sized for
   :math:`\\lambda/(k-1)`) within the site tier's availability budget.
8. **Queue workers** (chapter 10): background jobs go through a queue to an
   M/M/c worker pool sized for a mean-wait target.
9. **Shards** (chapter 12): the shard count doubles (each shard split in two,
   so modulo hashing moves exactly half the keys) until every shard — the
   fullest one, by the balls-into-bins skew of
   :func:`scaling_lab.sharding.expected_skew` — fits one primary's storage and
   its load fits a primary with at most ``max_replicas_per_shard`` replicas.

Availability budget: the target's unavailability :math:`U` is split evenly over
the three tiers a request crosses in series (web, database, site), each
getting :math:`U/3` (unavailabilities of components in series add to first
order).  A request touches one shard, so the database tier's unavailability is
one shard's.

References
----------
L. A. Barroso, U. Hölzle and P. Ranganathan, *The Datacenter as a Computer*,
3rd ed., Morgan & Claypool, 2018 (N+1 provisioning, tiers and cost).
N. J. Gunther, *Guerrilla Capacity Planning*, Springer, 2007.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special

from .. import geography
from ..core.validation import (
    check_in_range,
    check_integer,
    check_nonnegative,
    check_open_probability,
    check_positive,
    check_probability,
)
from ..availability import k_of_n_unavailability, primary_failover
from ..queueing import MMc
from ..capacity import max_arrival_rate, servers_needed
from ..replication import read_scaling
from ..sharding import expected_skew
from ..traffic import peak_request_rate

__all__ = ["Assumptions", "Plan", "plan", "sweep", "entry_points", "COMPONENTS", "zipf_cache_items"]

DAYS_PER_MONTH = 365.25 / 12
#: Users (shard keys) at which the hashing skew is evaluated at most; more keys spread more evenly,
#: so capping overstates the skew of larger user bases slightly (conservative, and monotone in users).
_SKEW_MAX_KEYS = 100_000

#: The components of the journey: key of :attr:`Plan.needed`, label, chapter.
COMPONENTS = (
    ("separate_database", "Separate database server", 2),
    ("load_balancer", "Load balancer + 2 or more web servers", 4),
    ("read_replicas", "Read replicas", 5),
    ("cache", "Cache tier", 6),
    ("cdn", "CDN", 7),
    ("data_centers", "Two or more data centers", 9),
    ("message_queue", "Message queue + workers", 10),
    ("sharding", "Sharded database", 12),
)


@dataclass(frozen=True)
class Assumptions:
    """Everything the planner assumes besides the number of daily users.

    Times in seconds, sizes in bytes, prices in US dollars per month (per
    GB for bandwidth).  The defaults describe a typical consumer web service
    on cloud machines; every chapter of the book motivates its own.

    Attributes
    ----------
    requests_per_user : float
        Requests one daily user sends per day (chapter 1).
    peak_to_average : float
        Peak rate over the daily mean, >= 1 (chapter 1).
    read_fraction : float
        Fraction of requests that only read, in [0, 1] (chapter 5).
    web_service_time_s, web_workers_per_server : float, int
        Mean work of one request on a web worker; workers per web machine.
    latency_slo_s, slo_quantile : float
        "A fraction ``slo_quantile`` of requests within ``latency_slo_s``"
        (chapter 1; the p99 by default).
    db_query_time_s, db_cores, db_latency_slo_s : float, int, float
        Mean time of one database query, cores per database node, and the
        p99 query latency a node must keep (sets a node's capacity, chapter 2).
    apply_cost : float
        Cost of replaying one write on a replica relative to a query (chapter 5).
    max_replicas_per_shard : int
        Replicas one primary may feed before the shard is split (chapter 12).
    stored_bytes_per_user : float
        Database bytes per daily user; ``db_storage_bytes`` is what one
        primary holds (chapter 12).
    object_bytes : float
        Size of one cached object and of one dynamic response (chapter 6).
    zipf_alpha : float
        Popularity exponent of the objects (chapter 6).
    cache_hit_ratio : float
        Hit ratio the cache is sized for, in (0, 1) (chapter 6).
    cache_node_bytes, cache_node_ops_per_s : float
        Usable memory and operations per second of one cache node.
    static_bytes_per_request : float
        Static assets (images, scripts) per request (chapter 7).
    origin_bandwidth_bps : float
        Bits per second the origin can serve static content at before a CDN
        is needed (chapter 7).
    user_regions : tuple of str
        World regions of the users, among the ``region`` values of
        ``data/cities.csv`` (chapter 9).
    max_rtt_ms, route_factor : float
        Round-trip-time ceiling from any user city to its data center, and
        real paths' length over the fibre floor (chapter 9).
    jobs_per_user, job_time_s, max_job_wait_s : float
        Background jobs (photo processing) per user per day, their mean work,
        and the mean time a job may wait in the queue (chapter 10).
    worker_slots_per_machine : int
        Jobs one worker machine runs at once.
    availability_target : float or None
        Fraction of time the service must be up, in [0, 1); ``None`` plans for
        capacity only (no redundancy).
    server_mttf_h, server_mttr_h, failover_s : float
        Mean time to failure and to repair of one machine (hours) and the
        database failover time (seconds).
    site_availability : float
        Availability of one data center as a whole.
    web_server_price, db_node_price, cache_node_price, worker_price, load_balancer_price : float
        Dollars per machine (or load balancer) per month.
    egress_price_per_gb, cdn_price_per_gb : float
        Dollars per GB served from the origin and from the CDN (list prices of
        the first tiers are about equal, so the CDN is bought for bandwidth and
        latency, not price).
    """

    requests_per_user: float = 30.0
    peak_to_average: float = 3.0
    read_fraction: float = 0.9
    web_service_time_s: float = 0.040
    web_workers_per_server: int = 8
    latency_slo_s: float = 0.250
    slo_quantile: float = 0.99
    db_query_time_s: float = 0.005
    db_cores: int = 8
    db_latency_slo_s: float = 0.050
    apply_cost: float = 0.5
    max_replicas_per_shard: int = 5
    stored_bytes_per_user: float = 100e3
    db_storage_bytes: float = 4e12
    object_bytes: float = 1e3
    zipf_alpha: float = 1.0
    cache_hit_ratio: float = 0.8
    cache_node_bytes: float = 64e9
    cache_node_ops_per_s: float = 100e3
    static_bytes_per_request: float = 50e3
    origin_bandwidth_bps: float = 1e9
    user_regions: tuple = ("North America",)
    max_rtt_ms: float = 100.0
    route_factor: float = 1.6
    jobs_per_user: float = 0.2
    job_time_s: float = 1.0
    max_job_wait_s: float = 30.0
    worker_slots_per_machine: int = 8
    availability_target: float | None = 0.999
    server_mttf_h: float = 2000.0
    server_mttr_h: float = 10.0
    failover_s: float = 30.0
    site_availability: float = 0.9999
    web_server_price: float = 250.0
    db_node_price: float = 700.0
    cache_node_price: float = 450.0
    worker_price: float = 250.0
    load_balancer_price: float = 25.0
    egress_price_per_gb: float = 0.085
    cdn_price_per_gb: float = 0.085

    def __post_init__(self):
        for name in ("requests_per_user", "web_service_time_s", "latency_slo_s", "db_query_time_s",
                     "db_latency_slo_s", "stored_bytes_per_user", "db_storage_bytes", "object_bytes",
                     "zipf_alpha", "cache_node_bytes", "cache_node_ops_per_s", "origin_bandwidth_bps",
                     "max_rtt_ms", "job_time_s", "max_job_wait_s", "server_mttf_h", "server_mttr_h"):
            object.__setattr__(self, name, check_positive(getattr(self, name), name))
        for name in ("apply_cost", "static_bytes_per_request", "jobs_per_user", "failover_s",
                     "web_server_price", "db_node_price", "cache_node_price", "worker_price",
                     "load_balancer_price", "egress_price_per_gb", "cdn_price_per_gb"):
            object.__setattr__(self, name, check_nonnegative(getattr(self, name), name))
        for name in ("web_workers_per_server", "db_cores", "worker_slots_per_machine"):
            object.__setattr__(self, name, check_integer(getattr(self, name), name, minimum=1))
        object.__setattr__(self, "max_replicas_per_shard",
                           check_integer(self.max_replicas_per_shard, "max_replicas_per_shard", minimum=0))
        object.__setattr__(self, "peak_to_average",
                           check_in_range(self.peak_to_average, "peak_to_average", 1.0, math.inf, high_open=True))
        object.__setattr__(self, "route_factor",
                           check_in_range(self.route_factor, "route_factor", 1.0, math.inf, high_open=True))
        object.__setattr__(self, "read_fraction", check_probability(self.read_fraction, "read_fraction"))
        object.__setattr__(self, "slo_quantile", check_open_probability(self.slo_quantile, "slo_quantile"))
        object.__setattr__(self, "cache_hit_ratio",
                           check_open_probability(self.cache_hit_ratio, "cache_hit_ratio"))
        object.__setattr__(self, "site_availability",
                           check_in_range(self.site_availability, "site_availability", 0.0, 1.0, low_open=True))
        if self.availability_target is not None:
            object.__setattr__(self, "availability_target", check_in_range(
                self.availability_target, "availability_target", 0.0, 1.0, high_open=True))
        if isinstance(self.user_regions, str):
            object.__setattr__(self, "user_regions", (self.user_regions,))
        regions = tuple(self.user_regions)
        known = tuple(sorted(_city_table()["region"].unique()))
        if not regions or any(r not in known for r in regions):
            raise ValueError(f"user_regions must be a non-empty subset of {known}, got {self.user_regions!r}")
        object.__setattr__(self, "user_regions", regions)
        if np.exp(-self.latency_slo_s / self.web_service_time_s) > 1.0 - self.slo_quantile:
            raise ValueError(f"latency_slo_s={self.latency_slo_s} is unreachable: a request's own work of mean "
                             f"{self.web_service_time_s} s exceeds it more often than 1 - slo_quantile")
        if np.exp(-self.db_latency_slo_s / self.db_query_time_s) > 0.01:
            raise ValueError(f"db_latency_slo_s={self.db_latency_slo_s} is unreachable for a mean query time "
                             f"of {self.db_query_time_s} s (the p99 of the query alone exceeds it)")

    @property
    def unavailability_budget(self) -> float | None:
        """Each of the three serial tiers' share of the target's unavailability, :math:`(1 - A)/3`."""
        return None if self.availability_target is None else (1.0 - self.availability_target) / 3.0


@dataclass(frozen=True)
class Plan:
    """The architecture for one workload, as computed by :func:`plan`.

    Counts are machines unless stated.  ``reasons`` says which constraint set
    each tier's size (capacity, availability, storage, geography...).
    """

    daily_users: float
    assumptions: Assumptions
    peak_arrival_rate: float
    db_read_rate_per_s: float
    db_write_rate_per_s: float
    data_centers: int
    site_regions: tuple
    max_rtt_ms: float
    web_servers_per_site: int
    load_balancers: int
    separate_database: bool
    cache_nodes_per_site: int
    cache_bytes: float
    cache_hit_ratio: float
    shards: int
    replicas_per_shard: int
    db_node_capacity_per_s: float
    queue_workers: int
    worker_machines: int
    cdn: bool
    static_bandwidth_bps: float
    unavailability: dict
    cost: dict
    reasons: dict = field(default_factory=dict)

    @property
    def web_servers(self) -> int:
        """Web servers over all data centers."""
        return self.web_servers_per_site * self.data_centers

    @property
    def cache_nodes(self) -> int:
        """Cache nodes over all data centers."""
        return self.cache_nodes_per_site * self.data_centers

    @property
    def database_nodes(self) -> int:
        """Primaries plus replicas (0 while the database shares the single server)."""
        return self.shards * (1 + self.replicas_per_shard) if self.separate_database else 0

    @property
    def machines(self) -> int:
        """Every machine: web, database, cache and worker."""
        return self.web_servers + self.database_nodes + self.cache_nodes + self.worker_machines

    @property
    def monthly_cost(self) -> float:
        """Total dollars per month."""
        return float(sum(self.cost.values()))

    @property
    def availability(self) -> float:
        """Availability of the three tiers in series (web, database, site), first order."""
        return 1.0 - sum(self.unavailability.values())

    @property
    def meets_availability(self) -> bool:
        """Whether the planned availability reaches the target (True without a target)."""
        target = self.assumptions.availability_target
        return target is None or self.availability >= target - 1e-12

    @property
    def needed(self) -> dict:
        """Which of the journey's components (:data:`COMPONENTS`) this plan uses.

        Every flag but ``read_replicas`` stays on once on as users grow.  Replicas
        per shard follow the shard's load, which halves at every split, so a
        write- or storage-driven split can leave shards without read replicas
        for a while (the total number of database nodes never decreases).
        """
        return {
            "separate_database": self.separate_database,
            "load_balancer": self.web_servers_per_site >= 2,
            "read_replicas": self.separate_database and self.replicas_per_shard >= 1,
            "cache": self.cache_nodes_per_site >= 1,
            "cdn": self.cdn,
            "data_centers": self.data_centers >= 2,
            "message_queue": self.worker_machines >= 1,
            "sharding": self.shards >= 2,
        }

    def counts(self) -> dict:
        """The plan as flat numbers (one row of :func:`sweep`)."""
        return {
            "daily_users": self.daily_users, "peak_arrival_rate": self.peak_arrival_rate,
            "web_servers": self.web_servers, "load_balancers": self.load_balancers,
            "database_nodes": self.database_nodes, "shards": self.shards,
            "replicas_per_shard": self.replicas_per_shard, "cache_nodes": self.cache_nodes,
            "cache_gb": self.cache_bytes / 1e9, "worker_machines": self.worker_machines,
            "data_centers": self.data_centers, "cdn": int(self.cdn), "machines": self.machines,
            "availability": self.availability, "monthly_cost": self.monthly_cost,
        }

    def report(self) -> str:
        """A readable, multi-line description of the plan."""
        a = self.assumptions
        target = "none (capacity only)" if a.availability_target is None else f"{a.availability_target:.4%}"
        lines = [
            f"Capacity plan for {self.daily_users:,.0f} daily active users",
            f"  peak traffic      {self.peak_arrival_rate:,.1f} req/s ({a.requests_per_user:g} req/user/day, "
            f"peak {a.peak_to_average:g}x the daily mean, {a.read_fraction:.0%} reads)",
            f"  latency SLO       p{100 * a.slo_quantile:g} <= {1e3 * a.latency_slo_s:g} ms; "
            f"availability target {target}",
            "",
            f"  data centers      {self.data_centers} ({', '.join(self.site_regions)}; worst user RTT "
            f"{self.max_rtt_ms:.0f} ms)  [{self.reasons['data_centers']}]",
            f"  web servers       {self.web_servers} ({self.web_servers_per_site} per data center, "
            f"{a.web_workers_per_server} workers each), load balancers {self.load_balancers}"
            f"  [{self.reasons['web']}]",
        ]
        if self.separate_database:
            lines.append(f"  database          {self.shards} shard(s) x (1 primary + {self.replicas_per_shard} "
                         f"replicas) = {self.database_nodes} nodes; one node carries "
                         f"{self.db_node_capacity_per_s:,.0f} queries/s  [{self.reasons['database']}]")
        else:
            lines.append("  database          on the single server  [fits the SLO together with the web code]")
        lines.append(f"  database load     {self.db_read_rate_per_s:,.1f} reads/s + "
                     f"{self.db_write_rate_per_s:,.1f} writes/s at the peak, after the cache")
        if self.cache_nodes_per_site:
            lines.append(f"  cache             {self.cache_nodes} nodes ({self.cache_nodes_per_site} per data "
                         f"center), {self.cache_bytes / 1e9:,.1f} GB for a {self.cache_hit_ratio:.0%} hit ratio"
                         f"  [{self.reasons['cache']}]")
        else:
            lines.append(f"  cache             none  [{self.reasons['cache']}]")
        lines.append(f"  CDN               {'yes' if self.cdn else 'no'} (static {self.static_bandwidth_bps / 1e9:,.2f} "
                     f"Gbit/s at the peak; origin limit {a.origin_bandwidth_bps / 1e9:g} Gbit/s)")
        lines.append(f"  queue workers     {self.queue_workers} on {self.worker_machines} machines  "
                     f"[{self.reasons['workers']}]")
        verdict = ("no target" if a.availability_target is None
                   else "meets the target" if self.meets_availability else "MISSES the target")
        lines.append(f"  availability      {self.availability:.5%} ({verdict})")
        lines.append("")
        lines.append(f"  monthly cost      ${self.monthly_cost:,.0f}")
        for name, dollars in self.cost.items():
            lines.append(f"    {name:<16}${dollars:>14,.0f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


# ---------------------------------------------------------------------------
# Models too specific to live elsewhere
# ---------------------------------------------------------------------------
def _generalized_harmonic(n, alpha: float):
    """:math:`H_{n,\\alpha} = \\sum_{i=1}^{n} i^{-\\alpha}`: exact below 1000, Euler-Maclaurin above."""
    n = np.asarray(n, dtype=float)
    small = n < 1000
    out = np.empty(n.shape)
    if small.any():
        terms = np.cumsum(np.arange(1, 1001, dtype=float) ** -alpha)
        out[small] = terms[np.maximum(n[small].astype(int), 1) - 1]
    big = ~small
    if big.any():
        m = n[big]
        if abs(alpha - 1.0) < 1e-12:
            core = np.log(m) + np.euler_gamma
        else:
            core = special.zeta(alpha) + m ** (1.0 - alpha) / (1.0 - alpha)
        out[big] = core + 0.5 * m ** -alpha - alpha * m ** (-alpha - 1.0) / 12.0
    return out


def zipf_cache_items(n_items: float, alpha: float, hit_ratio: float) -> int:
    """Objects a cache must hold to reach ``hit_ratio`` on Zipf(``alpha``) requests over ``n_items`` objects.

    A cache holding the :math:`C` most popular objects (perfect LFU, the best
    any policy does under independent requests; chapter 6) hits with
    probability :math:`h(C) = H_{C,\\alpha} / H_{N,\\alpha}`, with the
    generalized harmonic number :math:`H_{n,\\alpha} = \\sum_{i \\le n} i^{-\\alpha}`
    (Euler-Maclaurin for :math:`n \\ge 1000`, so catalogues of :math:`10^{12}`
    objects cost nothing).  Returns the least :math:`C` with
    :math:`h(C) \\ge` ``hit_ratio``.

    References
    ----------
    L. Breslau, P. Cao, L. Fan, G. Phillips and S. Shenker, *Web caching and
    Zipf-like distributions: evidence and implications*, INFOCOM 1999.
    """
    n = check_positive(n_items, "n_items")
    a = check_positive(alpha, "alpha")
    h = check_open_probability(hit_ratio, "hit_ratio")
    n = max(1.0, math.floor(n))
    target = h * float(_generalized_harmonic(n, a))
    lo, hi = 0.0, n  # h(lo) < target <= h(hi)
    while hi - lo > 1:
        mid = math.floor((lo + hi) / 2)
        if float(_generalized_harmonic(mid, a)) >= target:
            hi = mid
        else:
            lo = mid
    return int(hi)


@lru_cache(maxsize=None)
def _city_table() -> pd.DataFrame:
    return geography.load_cities()


@lru_cache(maxsize=256)
def _site_placement(user_regions: tuple, max_rtt_ms: float, route_factor: float, min_sites: int):
    """Greedy placement: add the cloud region that most lowers the worst user RTT until it is <= max_rtt_ms."""
    cities = _city_table()
    users = cities[cities["region"].isin(user_regions)]
    regions = geography.load_cloud_regions()
    chosen: list[int] = []
    worst = math.inf
    while len(chosen) < len(regions) and (worst > max_rtt_ms or len(chosen) < min_sites):
        best = None
        for j in range(len(regions)):
            if j in chosen:
                continue
            trial = chosen + [j]
            _, rtt, _ = geography.nearest_datacenter(
                users["lat"].to_numpy(), users["lon"].to_numpy(), regions["lat"].to_numpy()[trial],
                regions["lon"].to_numpy()[trial], route_factor=route_factor)
            score = (float(rtt.max()), float(rtt.mean()))
            if best is None or score < best[0]:
                best = (score, j)
        chosen.append(best[1])
        worst = best[0][0]
    return tuple(regions["region"].to_numpy()[chosen]), worst


@lru_cache(maxsize=256)
def _db_node_capacity(query_time_s: float, cores: int, p99_s: float) -> float:
    return max_arrival_rate(1.0 / query_time_s, cores, max_response_quantile=(0.99, p99_s))


@lru_cache(maxsize=256)
def _single_server_capacity(service_s: float, workers: int, q: float, slo_s: float) -> float:
    return max_arrival_rate(1.0 / service_s, workers, max_response_quantile=(q, slo_s))


@lru_cache(maxsize=4096)
def _skew(n_keys: int, shards: int) -> float:
    return expected_skew(n_keys, shards)


@lru_cache(maxsize=256)
def _shard_unavailability(mttf_h: float, mttr_h: float, failover_s: float, replicas: int) -> float:
    if replicas == 0:
        return mttr_h / (mttf_h + mttr_h)
    return primary_failover(mttf_h, mttr_h, failover_s).unavailability


def _least_spares(needed: int, u: float, budget: float | None) -> int:
    """Least n >= needed with P(fewer than `needed` of n machines up) <= budget."""
    if budget is None:
        return needed
    n = needed
    while k_of_n_unavailability(needed, n, u) > budget:
        n += 1
    return n


# ---------------------------------------------------------------------------
# The planner
# ---------------------------------------------------------------------------
def plan(daily_users: float, assumptions: Assumptions | None = None, **overrides) -> Plan:
    """The architecture and monthly cost for ``daily_users`` daily active users.

    Parameters
    ----------
    daily_users : float
        Daily active users, > 0.
    assumptions : Assumptions, optional
        Everything else (defaults: :class:`Assumptions`).
    **overrides
        Fields of :class:`Assumptions` to change, e.g. ``read_fraction=0.99``.

    Returns
    -------
    Plan

    Notes
    -----
    The rules (see the module docstring for the chapter of each):

    .. math:: \\lambda = k\\,\\frac{\\mathrm{DAU}\\cdot r}{86\\,400}, \\qquad
              c_{web} = \\min\\{c : T_{q}(\\lambda_{site}, 1/S, c) \\le \\mathrm{SLO}\\},
              \\qquad n_{web} = \\lceil c_{web}/w \\rceil + \\text{spares},

    with :math:`\\lambda_{site} = \\lambda/(k_{dc} - 1)` when there are
    :math:`k_{dc} \\ge 2` data centers (the survivors absorb a lost one).  The
    database sees :math:`\\lambda f (1 - h) + \\lambda (1 - f)` queries per
    second (reads after the cache, then writes); one node carries the largest
    rate that keeps its p99 query time within ``db_latency_slo_s``.

    References
    ----------
    See the module docstring.
    """
    users = check_positive(daily_users, "daily_users")
    a = assumptions if assumptions is not None else Assumptions()
    if not isinstance(a, Assumptions):
        raise ValueError(f"assumptions must be an Assumptions, got {type(a).__name__}")
    if overrides:
        unknown = set(overrides) - {f.name for f in fields(Assumptions)}
        if unknown:
            raise ValueError(f"unknown assumptions {sorted(unknown)}; valid names are the fields of Assumptions")
        a = replace(a, **overrides)
    budget = a.unavailability_budget
    u_server = a.server_mttr_h / (a.server_mttf_h + a.server_mttr_h)
    reasons: dict[str, str] = {}

    # Traffic (chapter 1).
    lam = float(peak_request_rate(users, a.requests_per_user, a.peak_to_average))

    # Data centers (chapter 9): geography, then the availability of the site tier.
    geo_regions, _ = _site_placement(a.user_regions, a.max_rtt_ms, a.route_factor, 1)
    k_sites = len(geo_regions)
    reasons["data_centers"] = "geography" if k_sites > 1 else "one site suffices"
    u_site = 1.0 - a.site_availability
    if budget is not None:
        k_av = 1
        while (u_site if k_av == 1 else k_of_n_unavailability(k_av - 1, k_av, u_site)) > budget:
            k_av += 1
        if k_av > k_sites:
            k_sites = k_av
            reasons["data_centers"] = "availability (survive the loss of one site)"
    site_regions, worst_rtt = _site_placement(a.user_regions, a.max_rtt_ms, a.route_factor, k_sites)
    k_sites = len(site_regions)
    site_u = u_site if k_sites == 1 else float(k_of_n_unavailability(k_sites - 1, k_sites, u_site))
    lam_site = lam if k_sites == 1 else lam / (k_sites - 1)

    # Web tier (chapters 1, 3, 4): M/M/c workers for the SLO, machines, spares.
    slo = (a.slo_quantile, a.latency_slo_s)
    workers = servers_needed(lam_site, 1.0 / a.web_service_time_s, max_response_quantile=slo)
    web_cap = -(-workers // a.web_workers_per_server)
    web_per_site = _least_spares(web_cap, u_server, budget)
    reasons["web"] = (f"{workers} workers for the SLO" +
                      (f" + {web_per_site - web_cap} spare(s) for availability" if web_per_site > web_cap else ""))
    web_u = float(k_of_n_unavailability(web_cap, web_per_site, u_server))

    # Database node capacity (chapter 2) and the single-server test.
    node_cap = _db_node_capacity(a.db_query_time_s, a.db_cores, a.db_latency_slo_s)
    single_cap = _single_server_capacity(a.web_service_time_s + a.db_query_time_s, a.web_workers_per_server,
                                         a.slo_quantile, a.latency_slo_s)

    # Cache (chapter 6): once the uncached database load exceeds one node.
    cache_on = lam > node_cap
    n_objects = users * a.stored_bytes_per_user / a.object_bytes
    if cache_on:
        h = a.cache_hit_ratio
        items = zipf_cache_items(n_objects, a.zipf_alpha, h)
        cache_bytes = items * a.object_bytes
        reads_site = lam_site * a.read_fraction
        per_site = max(math.ceil(cache_bytes / a.cache_node_bytes), math.ceil(reads_site / a.cache_node_ops_per_s))
        cache_per_site = per_site + (1 if budget is not None else 0)
        reasons["cache"] = (f"{lam:,.0f} queries/s uncached > {node_cap:,.0f} per database node" +
                            ("; one spare node per site" if budget is not None else ""))
    else:
        h, cache_bytes, cache_per_site = 0.0, 0.0, 0
        reasons["cache"] = f"the database carries the uncached {lam:,.0f} queries/s"
    reads = lam * a.read_fraction * (1.0 - h)
    writes = lam * (1.0 - a.read_fraction)
    db_rate = reads + writes
    f_eff = reads / db_rate if db_rate > 0 else 0.0

    # Database (chapters 2, 5, 12): shards double until storage and load fit, then replicas.
    r_min = max(k_sites - 1, 0)
    if budget is not None and _shard_unavailability(a.server_mttf_h, a.server_mttr_h, a.failover_s, 0) > budget:
        r_min = max(r_min, 1)
    data_bytes = users * a.stored_bytes_per_user
    n_keys = int(min(max(users, 1.0), _SKEW_MAX_KEYS))
    r_max = max(a.max_replicas_per_shard, r_min)
    best_cap = read_scaling(f_eff, r_max, primary_capacity_per_s=node_cap, apply_cost=a.apply_cost).max_request_rate
    shards = 1
    while True:
        skew = _skew(n_keys, shards) if shards > 1 else 1.0
        if data_bytes * skew / shards <= a.db_storage_bytes and db_rate * skew / shards <= best_cap:
            break
        shards *= 2
    shard_load = db_rate * skew / shards
    replicas = r_min
    while read_scaling(f_eff, replicas, primary_capacity_per_s=node_cap,
                       apply_cost=a.apply_cost).max_request_rate < shard_load:
        replicas += 1
    why = []
    if shards > 1:
        why.append("storage" if data_bytes * _skew(n_keys, shards // 2) / (shards // 2) > a.db_storage_bytes
                   else "load beyond a primary with its replicas")
    if replicas > r_min:
        why.append("read capacity")
    elif replicas:
        why.append("standby for availability" if k_sites == 1 else "a replica in every data center")
    reasons["database"] = ", ".join(why) if why else "one primary carries the load"
    separate_db = lam > single_cap or web_per_site > 1 or k_sites > 1 or replicas > 0 or shards > 1 or cache_on
    db_u = float(_shard_unavailability(a.server_mttf_h, a.server_mttr_h, a.failover_s, replicas)) \
        if separate_db else web_u
    if not separate_db:
        replicas = 0

    # Queue workers (chapter 10).
    if a.jobs_per_user > 0:
        job_rate = float(peak_request_rate(users, a.jobs_per_user, a.peak_to_average))
        queue_workers = servers_needed(job_rate, 1.0 / a.job_time_s, max_mean_wait_s=a.max_job_wait_s)
        worker_machines = -(-queue_workers // a.worker_slots_per_machine)
        reasons["workers"] = f"{job_rate:,.2f} jobs/s at the peak, mean wait <= {a.max_job_wait_s:g} s"
    else:
        queue_workers = worker_machines = 0
        reasons["workers"] = "no background jobs"

    # CDN (chapter 7).
    static_bps = lam * a.static_bytes_per_request * 8.0
    cdn = static_bps > a.origin_bandwidth_bps

    # Cost (dollars per month).
    load_balancers = k_sites if web_per_site >= 2 else 0
    monthly_requests = users * a.requests_per_user * DAYS_PER_MONTH
    dynamic_gb = monthly_requests * a.object_bytes / 1e9
    static_gb = monthly_requests * a.static_bytes_per_request / 1e9
    db_nodes = shards * (1 + replicas) if separate_db else 0
    cost = {
        "web servers": web_per_site * k_sites * a.web_server_price,
        "load balancers": load_balancers * a.load_balancer_price,
        "database": db_nodes * a.db_node_price,
        "cache": cache_per_site * k_sites * a.cache_node_price,
        "queue workers": worker_machines * a.worker_price,
        "bandwidth": dynamic_gb * a.egress_price_per_gb
                     + static_gb * (a.cdn_price_per_gb if cdn else a.egress_price_per_gb),
    }
    unavailability = {"web": web_u, "database": db_u, "sites": site_u}
    return Plan(float(users), a, lam, reads, writes, k_sites, site_regions, float(worst_rtt), web_per_site,
                load_balancers, bool(separate_db), cache_per_site, float(cache_bytes), h, shards, replicas,
                float(node_cap), int(queue_workers), int(worker_machines), bool(cdn), float(static_bps),
                unavailability, cost, reasons)


def sweep(daily_users, assumptions: Assumptions | None = None, **overrides) -> pd.DataFrame:
    """:meth:`Plan.counts` for every user count in ``daily_users`` (one row each)."""
    users = np.atleast_1d(np.asarray(check_positive(daily_users, "daily_users"), dtype=float))
    a = assumptions if assumptions is not None else Assumptions()
    if overrides:
        a = replace(a, **overrides)
    rows = []
    for u in users:
        p = plan(u, a)
        rows.append({**p.counts(), **{f"needs_{k}": v for k, v in p.needed.items()}})
    return pd.DataFrame(rows)


def entry_points(assumptions: Assumptions | None = None, *, max_users: float = 1e8,
                 points_per_decade: int = 8, rtol: float = 1e-3, **overrides) -> dict:
    """The smallest daily-user count at which each component of :data:`COMPONENTS` is first needed.

    The plan is evaluated on a logarithmic grid from 1 to ``max_users``; at
    the first grid point where a component appears, bisection on
    :math:`\\log(\\mathrm{DAU})` narrows the entry point to a relative
    ``rtol``.  A component needed already at one user has entry point 1; one
    never needed up to ``max_users`` has ``None``.

    Returns
    -------
    dict
        Component key -> daily users (float) or None.
    """
    top = check_in_range(max_users, "max_users", 1.0, math.inf, low_open=True, high_open=True)
    ppd = check_integer(points_per_decade, "points_per_decade", minimum=1)
    tol = check_in_range(rtol, "rtol", 0.0, 1.0, low_open=True, high_open=True)
    a = assumptions if assumptions is not None else Assumptions()
    if overrides:
        a = replace(a, **overrides)
    grid = np.logspace(0.0, math.log10(top), max(2, int(math.ceil(math.log10(top) * ppd)) + 1))
    out: dict = {key: None for key, _, _ in COMPONENTS}
    previous = None
    for u in grid:
        needed = plan(u, a).needed
        for key in out:
            if out[key] is not None or not needed[key]:
                continue
            if previous is None:
                out[key] = 1.0
                continue
            lo, hi = previous, u
            while hi / lo - 1.0 > tol:
                mid = math.sqrt(lo * hi)
                if plan(mid, a).needed[key]:
                    hi = mid
                else:
                    lo = mid
            out[key] = hi
        previous = u
    return out
