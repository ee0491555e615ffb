"""The planner as steps: one sizing step per tier, each returning a :class:`Tier`.

A step reads the workload (daily users and :class:`~.assumptions.Assumptions`)
and the tiers sized before it, and returns the tier's machine count, monthly
cost, peak utilization, its unavailability in the series composition, the
reason for its size and the chapter its rule comes from.  :data:`STEPS` runs
them in order; the plan, its report, its flat counts and the journey's
components (:data:`COMPONENTS`) are all read off the steps, so a new tier is
one new step class added to :data:`STEPS`.

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
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..availability import k_of_n_unavailability
from ..capacity import servers_needed
from ..replication import read_scaling
from ..traffic import peak_request_rate
from .assumptions import Assumptions
from .chapters import chapter_number
from .models import least_spares, pool_capacity, shard_unavailability, site_placement, skew, zipf_cache_items

__all__ = ["item_as_attribute", "Tier", "Component", "Step", "STEPS", "COMPONENTS", "DAYS_PER_MONTH"]

DAYS_PER_MONTH = 365.25 / 12
#: Users (shard keys) at which the hashing skew is evaluated at most; more keys spread more evenly,
#: so capping overstates the skew of larger user bases slightly (conservative, and monotone in users).
_SKEW_MAX_KEYS = 100_000


def item_as_attribute(owner, mapping: str, name: str):
    """``owner.<mapping>[name]``, for ``__getattr__`` (an ``AttributeError`` naming ``name`` if absent)."""
    items = owner.__dict__.get(mapping, {})  # not getattr: unpickling calls __getattr__ before __dict__ is set
    if name in items:
        return items[name]
    raise AttributeError(f"{type(owner).__name__} has no {name!r} in its {mapping}")


@dataclass(frozen=True)
class Tier:
    """One tier of a plan, as sized by its step.

    ``count`` is machines (or nodes, or load balancers) over all sites;
    ``monthly_cost`` in dollars; ``utilization`` the busy fraction of its
    machines at the peak (``None`` where it means nothing); ``unavailability``
    its share in the series composition (0 for tiers off the request path);
    ``values`` the tier's own numbers, also readable as attributes
    (``plan.web.workers``).
    """

    name: str = ""
    label: str = ""
    chapter: str = ""
    count: int = 0
    monthly_cost: float = 0.0
    utilization: float | None = None
    unavailability: float = 0.0
    reason: str = ""
    values: Mapping = field(default_factory=dict)

    def __getattr__(self, name):
        return item_as_attribute(self, "values", name)

    @property
    def chapter_number(self) -> int:
        """The number of the chapter this tier's rule comes from (display only)."""
        return chapter_number(self.chapter)


@dataclass(frozen=True)
class Component:
    """A piece of the journey: ``needed(tier)`` says whether a plan uses it."""

    key: str
    label: str
    chapter: str
    step: str
    needed: Callable[[Tier], bool]

    @property
    def chapter_number(self) -> int:
        return chapter_number(self.chapter)


class Step:
    """One tier's sizing rule.  Subclasses set the class attributes and implement :meth:`size`."""

    name: str = ""            # key of Plan.tiers, and the attribute plan.<name>
    label: str = ""           # the report's and the bill's name for the tier
    chapter: str = ""         # slug of the chapter the rule comes from
    count_column: str | None = None  # the column of Plan.counts() holding Tier.count
    columns: tuple = ()       # values also copied into Plan.counts()
    machines: bool = False    # whether Tier.count is machines (summed into Plan.machines)
    priced: bool = False      # whether the tier is a line of the bill
    in_series: bool = False   # whether a request needs the tier up (availability composition)
    components: tuple = ()    # (key, label, chapter, needed) of the journey's pieces it decides

    def size(self, users: float, a: Assumptions, tiers: Mapping[str, Tier]) -> Tier:
        raise NotImplementedError

    def describe(self, t: Tier, a: Assumptions) -> str:
        """One line of the report."""
        return f"{t.count}  [{t.reason}]"

    def __call__(self, users: float, a: Assumptions, tiers: Mapping[str, Tier]) -> Tier:
        t = self.size(users, a, tiers)
        return Tier(self.name, self.label, self.chapter, int(t.count), float(t.monthly_cost), t.utilization,
                    float(t.unavailability), t.reason, dict(t.values))


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


class Traffic(Step):
    """Peak rate :math:`\\lambda = k\\,\\mathrm{DAU}\\,r/86\\,400` (:func:`scaling_lab.traffic.peak_request_rate`)."""

    name, label, chapter = "traffic", "peak traffic", "single-server"
    columns = ("peak_arrival_rate",)

    def size(self, users, a, tiers):
        lam = float(peak_request_rate(users, a.requests_per_user, a.peak_to_average))
        return Tier(reason="daily users x requests per user x peak factor", values={"peak_arrival_rate": lam})

    def describe(self, t, a):
        return (f"{t.peak_arrival_rate:,.1f} req/s ({a.requests_per_user:g} req/user/day, peak "
                f"{a.peak_to_average:g}x the daily mean, {a.read_fraction:.0%} reads)")


class Sites(Step):
    """Data centers: the most of (a) the fewest sites, placed greedily among the cloud regions, that
    keep every user city within ``max_rtt_ms`` (:func:`scaling_lab.geography.nearest_datacenter`) and
    (b) the fewest sites such that losing one leaves enough (each sized for :math:`\\lambda/(k-1)`)
    within the site tier's availability budget."""

    name, label, chapter = "sites", "data centers", "data-centers"
    count_column = "data_centers"
    in_series = True
    components = (Component("data_centers", "Two or more data centers", "data-centers", "sites",
                            lambda t: t.count >= 2),)

    def size(self, users, a, tiers):
        budget = a.unavailability_budget
        lam = tiers["traffic"].peak_arrival_rate
        geo_regions, _ = site_placement(a.user_regions, a.max_rtt_ms, a.route_factor, 1)
        k = len(geo_regions)
        reason = "geography" if k > 1 else "one site suffices"
        u_site = 1.0 - a.site_availability
        if budget is not None:
            k_av = 1
            while (u_site if k_av == 1 else k_of_n_unavailability(k_av - 1, k_av, u_site)) > budget:
                k_av += 1
            if k_av > k:
                k, reason = k_av, "availability (survive the loss of one site)"
        regions, worst_rtt = site_placement(a.user_regions, a.max_rtt_ms, a.route_factor, k)
        k = len(regions)
        u = u_site if k == 1 else float(k_of_n_unavailability(k - 1, k, u_site))
        per_site = lam if k == 1 else lam / (k - 1)
        return Tier(count=k, unavailability=u, reason=reason,
                    values={"regions": regions, "max_rtt_ms": float(worst_rtt), "site_arrival_rate": per_site})

    def describe(self, t, a):
        return f"{t.count} ({', '.join(t.regions)}; worst user RTT {t.max_rtt_ms:.0f} ms)  [{t.reason}]"


class Web(Step):
    """Web servers: the least number of M/M/c workers meeting the latency SLO
    (:func:`scaling_lab.capacity.servers_needed`) at the site's rate, packed into machines of
    ``web_workers_per_server``; with an availability target, the fewest spares that keep
    :math:`n_{cap}`-of-:math:`n` machines up within the tier's budget
    (:func:`scaling_lab.availability.k_of_n_unavailability`)."""

    name, label, chapter = "web", "web servers", "load-balancer"
    count_column = "web_servers"
    machines = priced = in_series = True
    components = (Component("load_balancer", "Load balancer + 2 or more web servers", "load-balancer", "web",
                            lambda t: t.per_site >= 2),)

    def size(self, users, a, tiers):
        sites = tiers["sites"]
        lam_site = sites.site_arrival_rate
        u_server = a.server_mttr_h / (a.server_mttf_h + a.server_mttr_h)
        workers = servers_needed(lam_site, 1.0 / a.web_service_time_s,
                                 max_response_quantile=(a.slo_quantile, a.latency_slo_s))
        needed = -(-workers // a.web_workers_per_server)
        per_site = least_spares(needed, u_server, a.unavailability_budget)
        reason = f"{_plural(workers, 'worker')} for the SLO"
        if per_site > needed:
            reason += f" + {_plural(per_site - needed, 'spare')} for availability"
        count = per_site * sites.count
        return Tier(count=count, monthly_cost=count * a.web_server_price,
                    utilization=lam_site * a.web_service_time_s / (per_site * a.web_workers_per_server),
                    unavailability=float(k_of_n_unavailability(needed, per_site, u_server)), reason=reason,
                    values={"workers": int(workers), "per_site": int(per_site), "needed_per_site": int(needed)})

    def describe(self, t, a):
        return (f"{t.count} ({t.per_site} per data center, {a.web_workers_per_server} workers each, "
                f"{t.utilization:.0%} busy at the peak)  [{t.reason}]")


class LoadBalancers(Step):
    """One load balancer per data center once a site has two or more web servers."""

    name, label, chapter = "load_balancers", "load balancers", "load-balancer"
    count_column = "load_balancers"
    priced = True

    def size(self, users, a, tiers):
        count = tiers["sites"].count if tiers["web"].per_site >= 2 else 0
        reason = "one per data center in front of its web servers" if count else "a single web server needs none"
        return Tier(count=count, monthly_cost=count * a.load_balancer_price, reason=reason)


class Cache(Step):
    """Cache: once the database load without a cache exceeds one database node; sized for the target
    hit ratio over a Zipf-popular catalogue (perfect-LFU content, the top :math:`C` objects,
    :func:`~.models.zipf_cache_items`) in nodes of ``cache_node_bytes``, with one spare node per site
    under an availability target (losing a node sends its misses to the database)."""

    name, label, chapter = "cache", "cache", "cache"
    count_column = "cache_nodes"
    columns = ("cache_gb",)
    machines = priced = True
    components = (Component("cache", "Cache tier", "cache", "cache", lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        lam = tiers["traffic"].peak_arrival_rate
        sites = tiers["sites"]
        node_cap = pool_capacity(a.db_query_time_s, a.db_cores, 0.99, a.db_latency_slo_s)
        if lam <= node_cap:
            return Tier(reason=f"the database carries the uncached {lam:,.0f} queries/s",
                        values={"hit_ratio": 0.0, "cache_bytes": 0.0, "cache_gb": 0.0, "per_site": 0})
        spare = a.unavailability_budget is not None
        items = zipf_cache_items(users * a.stored_bytes_per_user / a.object_bytes, a.zipf_alpha, a.cache_hit_ratio)
        cache_bytes = items * a.object_bytes
        reads_site = sites.site_arrival_rate * a.read_fraction
        needed = max(math.ceil(cache_bytes / a.cache_node_bytes), math.ceil(reads_site / a.cache_node_ops_per_s))
        per_site = needed + int(spare)
        count = per_site * sites.count
        reason = f"{lam:,.0f} queries/s uncached > {node_cap:,.0f} per database node"
        if spare:
            reason += "; one spare node per site"
        return Tier(count=count, monthly_cost=count * a.cache_node_price,
                    utilization=reads_site / (per_site * a.cache_node_ops_per_s), reason=reason,
                    values={"hit_ratio": a.cache_hit_ratio, "cache_bytes": float(cache_bytes),
                            "cache_gb": cache_bytes / 1e9, "per_site": per_site})

    def describe(self, t, a):
        if not t.count:
            return f"none  [{t.reason}]"
        return (f"{t.count} nodes ({t.per_site} per data center), {t.cache_gb:,.1f} GB for a {t.hit_ratio:.0%} "
                f"hit ratio  [{t.reason}]")


class Database(Step):
    """Database: separate from the web machine once one machine running both cannot meet the SLO (an
    M/M/c with service time :math:`S_{web} + S_{db}`) or once any other tier grows past one machine.
    The database sees :math:`D = \\lambda f (1 - h) + \\lambda (1 - f)` queries per second; one node
    carries the largest rate keeping its p99 within ``db_latency_slo_s``.  Shards double (each split
    in two, so modulo hashing moves exactly half the keys) until the fullest shard — by the
    balls-into-bins skew of :func:`scaling_lab.sharding.expected_skew` — fits one primary's storage
    and a primary with at most ``max_replicas_per_shard`` replicas
    (:func:`scaling_lab.replication.read_scaling`); then the least replicas that carry it, at least
    one standby when a lone primary misses the budget
    (:func:`scaling_lab.availability.primary_failover`) and one per extra data center."""

    name, label, chapter = "database", "database", "database-tier"
    count_column = "database_nodes"
    columns = ("shards", "replicas_per_shard")
    machines = priced = in_series = True
    components = (
        Component("separate_database", "Separate database server", "database-tier", "database",
                  lambda t: t.separate),
        Component("read_replicas", "Read replicas", "database-replication", "database",
                  lambda t: t.separate and t.replicas_per_shard >= 1),
        Component("sharding", "Sharded database", "sharding", "database", lambda t: t.shards >= 2),
    )

    def size(self, users, a, tiers):
        lam, sites, web, cache = (tiers[k] for k in ("traffic", "sites", "web", "cache"))
        lam = lam.peak_arrival_rate
        budget = a.unavailability_budget
        node_cap = pool_capacity(a.db_query_time_s, a.db_cores, 0.99, a.db_latency_slo_s)
        reads = lam * a.read_fraction * (1.0 - cache.hit_ratio)
        writes = lam * (1.0 - a.read_fraction)
        rate = reads + writes
        f = reads / rate if rate > 0 else 0.0
        r_min = max(sites.count - 1, 0)
        if budget is not None and shard_unavailability(a.server_mttf_h, a.server_mttr_h, a.failover_s, 0) > budget:
            r_min = max(r_min, 1)
        data_bytes = users * a.stored_bytes_per_user
        n_keys = int(min(max(users, 1.0), _SKEW_MAX_KEYS))
        best = read_scaling(f, max(a.max_replicas_per_shard, r_min), primary_capacity_per_s=node_cap,
                            apply_cost=a.apply_cost).max_request_rate
        shards = 1
        while not (data_bytes * skew(n_keys, shards) / shards <= a.db_storage_bytes
                   and rate * skew(n_keys, shards) / shards <= best):
            shards *= 2
        shard_load = rate * skew(n_keys, shards) / shards
        replicas = r_min
        while read_scaling(f, replicas, primary_capacity_per_s=node_cap,
                           apply_cost=a.apply_cost).max_request_rate < shard_load:
            replicas += 1
        why = []
        if shards > 1:
            why.append("storage" if data_bytes * skew(n_keys, shards // 2) / (shards // 2) > a.db_storage_bytes
                       else "load beyond a primary with its replicas")
        if replicas > r_min:
            why.append("read capacity")
        elif replicas:
            why.append("standby for availability" if sites.count == 1 else "a replica in every data center")
        single_cap = pool_capacity(a.web_service_time_s + a.db_query_time_s, a.web_workers_per_server,
                                   a.slo_quantile, a.latency_slo_s)
        separate = (lam > single_cap or web.per_site > 1 or sites.count > 1 or replicas > 0 or shards > 1
                    or cache.count > 0)
        values = {"read_rate": reads, "write_rate": writes, "node_max_arrival_rate": float(node_cap),
                  "separate": bool(separate), "shards": shards, "replicas_per_shard": replicas if separate else 0}
        if not separate:
            return Tier(unavailability=web.unavailability, reason="fits the SLO together with the web code",
                        values=values)
        count = shards * (1 + replicas)
        work = (reads + writes * (1.0 + replicas * a.apply_cost)) * skew(n_keys, shards) / shards
        return Tier(count=count, monthly_cost=count * a.db_node_price,
                    utilization=work * a.db_query_time_s / ((1 + replicas) * a.db_cores),
                    unavailability=shard_unavailability(a.server_mttf_h, a.server_mttr_h, a.failover_s, replicas),
                    reason=", ".join(why) if why else "one primary carries the load", values=values)

    def describe(self, t, a):
        load = f"; {t.read_rate:,.1f} reads/s + {t.write_rate:,.1f} writes/s at the peak, after the cache"
        if not t.separate:
            return f"on the single server  [{t.reason}]" + load
        return (f"{_plural(t.shards, 'shard')} x (1 primary + {_plural(t.replicas_per_shard, 'replica')}) = "
                f"{t.count} nodes; one node carries {t.node_max_arrival_rate:,.0f} queries/s  [{t.reason}]" + load)


class Workers(Step):
    """Queue workers: background jobs go through a queue to an M/M/c worker pool sized for a mean-wait target."""

    name, label, chapter = "workers", "queue workers", "message-queues"
    count_column = "worker_machines"
    machines = priced = True
    components = (Component("message_queue", "Message queue + workers", "message-queues", "workers",
                            lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        if a.jobs_per_user <= 0:
            return Tier(reason="no background jobs", values={"queue_workers": 0, "job_rate": 0.0})
        job_rate = float(peak_request_rate(users, a.jobs_per_user, a.peak_to_average))
        workers = servers_needed(job_rate, 1.0 / a.job_time_s, max_mean_wait_s=a.max_job_wait_s)
        machines = -(-workers // a.worker_slots_per_machine)
        return Tier(count=machines, monthly_cost=machines * a.worker_price,
                    utilization=job_rate * a.job_time_s / (machines * a.worker_slots_per_machine),
                    reason=f"{job_rate:,.2f} jobs/s at the peak, mean wait <= {a.max_job_wait_s:g} s",
                    values={"queue_workers": int(workers), "job_rate": job_rate})

    def describe(self, t, a):
        return f"{_plural(t.queue_workers, 'worker')} on {_plural(t.count, 'machine')}  [{t.reason}]"


class CDN(Step):
    """CDN: once the static bytes at the peak exceed the origin's bandwidth."""

    name, label, chapter = "cdn", "CDN", "cdn"
    count_column = "cdn"
    components = (Component("cdn", "CDN", "cdn", "cdn", lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        bps = tiers["traffic"].peak_arrival_rate * a.static_bytes_per_request * 8.0
        on = bps > a.origin_bandwidth_bps
        return Tier(count=int(on), reason=f"static {bps / 1e9:,.2f} Gbit/s at the peak; origin limit "
                    f"{a.origin_bandwidth_bps / 1e9:g} Gbit/s", values={"static_bandwidth_bps": bps})

    def describe(self, t, a):
        return f"{'yes' if t.count else 'no'}  [{t.reason}]"


class Bandwidth(Step):
    """Bandwidth: dynamic responses from the origin, static bytes from the CDN once there is one."""

    name, label, chapter = "bandwidth", "bandwidth", "cdn"
    priced = True

    def size(self, users, a, tiers):
        monthly_requests = users * a.requests_per_user * DAYS_PER_MONTH
        dynamic_gb = monthly_requests * a.object_bytes / 1e9
        static_gb = monthly_requests * a.static_bytes_per_request / 1e9
        static_price = a.cdn_price_per_gb if tiers["cdn"].count else a.egress_price_per_gb
        return Tier(monthly_cost=dynamic_gb * a.egress_price_per_gb + static_gb * static_price,
                    reason=f"{dynamic_gb + static_gb:,.0f} GB a month",
                    values={"dynamic_gb": dynamic_gb, "static_gb": static_gb})

    def describe(self, t, a):
        return f"${t.monthly_cost:,.0f} a month  [{t.reason}]"


#: The sizing steps, in the order they run (each may read the tiers before it).
STEPS: tuple[Step, ...] = (Traffic(), Sites(), Web(), LoadBalancers(), Cache(), Database(), Workers(), CDN(),
                           Bandwidth())

#: The pieces of the journey the steps decide, in chapter order.
COMPONENTS: tuple[Component, ...] = tuple(sorted((c for s in STEPS for c in s.components),
                                                 key=lambda c: c.chapter_number))
