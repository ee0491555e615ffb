"""The planner as steps: one sizing step per tier, each returning a :class:`Tier`.

A step reads the workload (daily users and :class:`~.assumptions.Assumptions`)
and the tiers sized before it, and returns the tier's machine count, monthly
cost, peak utilization, its unavailability in the series composition, the
reason for its size and the chapter its rule comes from.  :data:`STEPS` runs
them in order; the plan, its report, its flat counts and the journey's
components (:data:`COMPONENTS`) are all read off the steps, so a new tier is
one new step class added to :data:`STEPS`.

Headroom is policy, the same for every tier: each is sized for the *forecast*
peak :math:`\\lambda_f = (1 + m)\\,\\lambda` (``forecast_margin`` :math:`m`),
runs at most ``max_utilization`` busy there with every machine up, and keeps
meeting its target with one machine lost per site (two above
``n_plus_two_above`` machines): N+1 or N+2, plus the spares the availability
budget asks for.  Without an availability target the plan has no spares at all.

Availability budget: the target's unavailability :math:`U` is split evenly over
the :math:`n` tiers a request crosses in series (site, load balancers, web,
session store, database), each getting :math:`U/n` (unavailabilities of
components in series add to first order).  A request touches one shard, so the
database tier's unavailability is one shard's; a tier spread over several
sites counts its worst site.

References
----------
L. A. Barroso, U. Hölzle and P. Ranganathan, *The Datacenter as a Computer*,
3rd ed., Morgan & Claypool, 2018 (N+1 provisioning, tiers and cost).
N. J. Gunther, *Guerrilla Capacity Planning*, Springer, 2007.
B. Beyer et al. (eds.), *Site Reliability Engineering*, O'Reilly, 2016, ch. 18
(N+2 and intent-based capacity planning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Callable, Mapping

import numpy as np

from .. import geography
from ..availability import k_of_n_unavailability
from ..backlog import burst_backlog, workers_for_drain_time
from ..capacity import servers_needed
from ..core.validation import MAX_COUNT, check_fields, check_integer, check_nonnegative, check_probability
from ..datacenters import failover_shares
from ..observability import metric_bytes_per_day, sampled_log_bytes_per_day
from ..queueing import MMc
from ..replication import read_scaling
from ..sessions import SessionStore
from ..traffic import SECONDS_PER_DAY, peak_request_rate
from .assumptions import Assumptions
from .chapters import CHAPTERS, chapter_number
from .models import pool_capacity, shard_unavailability, site_placement, skew, zipf_cache_items
from .prices import family_sizes, instance, tiered_transfer_cost

__all__ = ["item_as_attribute", "Tier", "Component", "Step", "STEPS", "COMPONENTS", "DAYS_PER_MONTH"]

DAYS_PER_MONTH = 365.25 / 12
#: Users (shard keys) at which the hashing skew is evaluated at most; more keys spread more evenly,
#: so capping overstates the skew of larger user bases slightly (conservative, and monotone in users).
_SKEW_MAX_KEYS = 100_000
#: Past these sizes the plan leaves what its models were checked for, and says so.
_LARGEST_POOL, _MOST_SHARDS = 500, 1024

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
    (``plan.web.workers``).  ``chapter`` is a slug of :data:`CHAPTERS`, or
    empty while a step's rule has sized the tier but not yet named it.
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
    warnings: tuple = ()

    def __post_init__(self):
        if self.chapter != "" and self.chapter not in CHAPTERS:
            raise ValueError(f"chapter must be '' or one of {CHAPTERS}, got {self.chapter!r}")
        optional = {} if self.utilization is None else {"utilization": check_nonnegative}
        check_fields(self, scalar=True, count=partial(check_integer, minimum=0, maximum=MAX_COUNT),
                     monthly_cost=check_nonnegative, **optional, unavailability=check_probability)

    def __getattr__(self, name):
        return item_as_attribute(self, "values", name)

    @property
    def chapter_number(self) -> int | None:
        """The number of the chapter this tier's rule comes from (display only; None before it is named)."""
        return chapter_number(self.chapter) if self.chapter else None


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
                    float(t.unavailability), t.reason, dict(t.values), tuple(t.warnings))



def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _pool_text(t: Tier, instance: str) -> str:
    """``"3 r6i.large (1+2 per data center"``: the start of a pooled tier's report line."""
    return f"{t.count} {instance} ({'+'.join(map(str, t.per_site))} per data center"


def _gb(x: float) -> str:
    return f"{x:,.0f} GB" if x >= 10 else f"{x:.2g} GB"


def _server_unavailability(a: Assumptions) -> float:
    return a.server_mttr_h / (a.server_mttf_h + a.server_mttr_h)


def tier_budget(a: Assumptions) -> float | None:
    """Each serial tier's share :math:`U/n` of the target's unavailability (``None`` without a target)."""
    n = sum(1 for s in STEPS if s.in_series)
    return None if a.unavailability is None else a.unavailability / n


def spares_lost(a: Assumptions, needed: int) -> int:
    """Machines a pool must be able to lose and still meet its target: 0 without a target, else N+1 or N+2."""
    if a.availability_target is None:
        return 0
    return 1 if needed + 1 <= a.n_plus_two_above else 2


def redundant_pool(a: Assumptions, needed: int) -> tuple[int, float]:
    """Machines for a pool that needs ``needed`` up: N+1 (or N+2), then the fewest more that keep
    :math:`P(\\text{fewer than needed up}) \\le U/n`; returns the count and that unavailability."""
    u = _server_unavailability(a)
    n = needed + spares_lost(a, needed)
    budget = tier_budget(a)
    if not needed:
        return n, 0.0
    unavailable = k_of_n_unavailability(needed, n, u)
    while budget is not None and unavailable > budget:  # the first n that meets it, looked for 64 at a time
        counts = np.arange(n + 1, n + 65)
        tried = k_of_n_unavailability(needed, counts, u)
        i = next(iter(np.flatnonzero(~(tried > budget))), len(counts) - 1)
        n, unavailable = int(counts[i]), tried[i]
    return n, float(unavailable)


def _usable(vcpu: float, a: Assumptions, per_vcpu: float = 1.0) -> int:
    return int(math.floor((vcpu - a.reserved_vcpus_per_machine) * per_vcpu + 1e-9))


def cheapest_size(family: str, plan_for: Callable):
    """Plan a tier on every size of ``family`` and keep the cheapest (ties: fewer machines).

    ``plan_for(size)`` returns ``(machines, payload)`` or ``None`` when the size cannot serve;
    returns ``(size, machines, monthly_cost, payload)``.
    """
    best = None
    for size in family_sizes(family):
        planned = plan_for(size)
        if planned is None:
            continue
        machines, payload = planned
        key = (round(machines * size.usd_per_month, 2), machines)
        if best is None or key < best[0]:
            best = (key, size, payload)
    (cost, machines), size, payload = best
    return size, machines, cost, payload


class Traffic(Step):
    """Peak rate :math:`\\lambda = k\\,\\mathrm{DAU}\\,r/86\\,400` (:func:`scaling_lab.traffic.peak_request_rate`)
    and the forecast peak :math:`\\lambda_f = (1 + m)\\lambda` every tier is sized for."""

    name, label, chapter = "traffic", "peak traffic", "single-server"
    columns = ("peak_arrival_rate",)

    def size(self, users, a, tiers):
        lam = float(peak_request_rate(users, a.requests_per_user, a.peak_to_average))
        return Tier(reason=f"sized for {1 + a.forecast_margin:g}x the forecast peak",
                    values={"peak_arrival_rate": lam, "design_arrival_rate": lam * (1 + a.forecast_margin),
                            "mean_arrival_rate": lam / a.peak_to_average})

    def describe(self, t, a):
        return (f"{t.peak_arrival_rate:,.1f} req/s ({a.requests_per_user:g} req/user/day, peak "
                f"{a.peak_to_average:g}x the daily mean, {a.read_fraction:.0%} reads); tiers sized for "
                f"{t.design_arrival_rate:,.1f} req/s")


class Sites(Step):
    """Data centers: the most of (a) the fewest sites, placed greedily among the cloud regions, that
    keep every user city within ``max_rtt_ms`` and (b) the fewest sites such that losing one leaves
    enough within the site tier's budget.  Each site is sized for its largest geographic share
    (:func:`scaling_lab.datacenters.failover_shares`, user cities weighted equally): its normal
    share, or what it serves when any other site is down and that site's users move to their next
    nearest.  Writes go to one primary, in the site with the largest share; the extra round trip of
    a write from the farthest site is stated against the SLO (measured inter-region RTTs)."""

    name, label, chapter = "sites", "data centers", "data-centers"
    count_column = "data_centers"
    in_series = True
    components = (Component("data_centers", "Two or more data centers", "data-centers", "sites",
                            lambda t: t.count >= 2),)

    def size(self, users, a, tiers):
        budget = tier_budget(a)
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
        shares, primary, write_rtt = _site_geometry(a.user_regions, regions)
        design = shares[0] if k == 1 else shares.max(axis=0)
        warnings = []
        if worst_rtt > a.max_rtt_ms:
            warnings.append(f"every region is used and the worst user RTT is still {worst_rtt:.0f} ms "
                            f"> max_rtt_ms = {a.max_rtt_ms:g}")
        if write_rtt >= a.latency_slo_s * 1e3 / 2:
            warnings.append(f"a write from the farthest site adds {write_rtt:.0f} ms to reach the primary in "
                            f"{primary}, half the SLO or more: shard by region or relax the SLO")
        u = u_site if k == 1 else float(k_of_n_unavailability(k - 1, k, u_site))
        return Tier(count=k, unavailability=u, reason=reason, warnings=tuple(warnings),
                    values={"regions": regions, "max_rtt_ms": float(worst_rtt), "shares": tuple(shares[0]),
                            "design_shares": tuple(design), "primary": primary, "write_extra_rtt_ms": write_rtt})

    def describe(self, t, a):
        split = ", ".join(f"{r} {s:.0%} (up to {d:.0%})" for r, s, d in zip(t.regions, t.shares, t.design_shares))
        writes = f"; writes to {t.primary}, +{t.write_extra_rtt_ms:.0f} ms from the farthest site" if t.count > 1 else ""
        return f"{t.count} ({split}; worst user RTT {t.max_rtt_ms:.0f} ms{writes})  [{t.reason}]"


@lru_cache(maxsize=256)
def _site_geometry(user_regions: tuple, regions: tuple):
    """Failover shares of the sites (user cities weighted equally), the primary's region and the worst
    extra RTT of a write from another site to it (measured inter-region RTTs)."""
    cities = geography.load_cities()
    cities = cities[cities["region"].isin(user_regions)]
    places = geography.load_cloud_regions().set_index("region").loc[list(regions)]
    shares = failover_shares(cities["lat"], cities["lon"], places["lat"], places["lon"])
    primary = regions[int(np.argmax(shares[0]))]
    rtt = geography.region_rtt_matrix()
    return shares, primary, max(float(rtt.loc[r, primary]) for r, s in zip(regions, shares[0]) if s > 0)


def _site_rates(tiers) -> list[float]:
    """Forecast-peak request rate each site is sized for."""
    return [tiers["traffic"].design_arrival_rate * s for s in tiers["sites"].design_shares]


class CDN(Step):
    """Bandwidth and CDN, decided by comparison: the month's bytes priced at the tiered origin egress,
    or dynamic bytes at egress plus static bytes and requests at the tiered CDN prices; the cheaper,
    unless the static bytes at the forecast peak exceed the origin's bandwidth (then the CDN).
    Writes replicated to every other site pay inter-region transfer."""

    name, label, chapter = "cdn", "bandwidth and CDN", "cdn"
    count_column = "cdn"
    priced = True
    components = (Component("cdn", "CDN", "cdn", "cdn", lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        requests = users * a.requests_per_user * DAYS_PER_MONTH
        dynamic_gb, static_gb = requests * a.object_bytes / 1e9, requests * a.static_bytes_per_request / 1e9
        origin = tiered_transfer_cost(dynamic_gb + static_gb, "egress")
        cdn = (tiered_transfer_cost(dynamic_gb, "egress") + tiered_transfer_cost(static_gb, "cdn")
               + requests * a.cdn_request_price_per_10k / 1e4)
        bps = tiers["traffic"].design_arrival_rate * a.static_bytes_per_request * 8.0
        forced = bps > a.origin_bandwidth_bps
        on = forced or cdn < origin
        writes_gb = requests * (1 - a.read_fraction) * a.object_bytes / 1e9 * (tiers["sites"].count - 1)
        replication = tiered_transfer_cost(writes_gb, "inter_region")
        if forced:
            reason = (f"static {bps / 1e9:,.2f} Gbit/s at the forecast peak > origin's "
                      f"{a.origin_bandwidth_bps / 1e9:g} Gbit/s")
        else:
            reason = f"CDN ${cdn:,.0f} vs origin ${origin:,.0f} a month"
        return Tier(count=int(on), monthly_cost=(cdn if on else origin) + replication, reason=reason,
                    values={"static_bandwidth_bps": bps, "dynamic_gb": dynamic_gb, "static_gb": static_gb,
                            "origin_only_cost": origin, "with_cdn_cost": cdn, "replication_cost": replication})

    def describe(self, t, a):
        extra = f", inter-region replication ${t.replication_cost:,.0f}" if t.replication_cost else ""
        return (f"{'CDN' if t.count else 'origin only'}, {t.dynamic_gb + t.static_gb:,.0f} GB a month{extra}"
                f"  [{t.reason}]")


class Web(Step):
    """Web servers: at each site the least number of M/M/c workers meeting the latency SLO at the
    forecast peak (:func:`scaling_lab.capacity.servers_needed`; least-connections balancing, which
    approaches one shared queue), packed into machines, at most ``max_utilization`` busy, plus N+1
    (N+2) and the availability spares.  The machine size is chosen from the price list
    (``web_family``): every size is planned and the cheapest tier wins (ties: fewer machines); a
    machine keeps ``reserved_vcpus_per_machine`` for itself, so small machines waste more."""

    name, label, chapter = "web", "web servers", "load-balancer"
    count_column = "web_servers"
    machines = priced = in_series = True

    def size(self, users, a, tiers):
        rates = _site_rates(tiers)
        slo = (a.slo_quantile, a.latency_slo_s)
        needed_workers = [servers_needed(r, 1.0 / a.web_service_time_s, max_response_quantile=slo) for r in rates]
        def plan_for(size):
            w = _usable(size.vcpu, a, a.web_workers_per_vcpu)
            if w < 1:
                return None
            need = [max(-(-c // w), math.ceil(r * a.web_service_time_s / (a.max_utilization * w) - 1e-9))
                    for c, r in zip(needed_workers, rates)]
            pools = [redundant_pool(a, n) for n in need]
            return sum(n for n, _ in pools), (w, need, pools)

        size, total, cost, (w, need, pools) = cheapest_size(a.web_family, plan_for)
        per_site = [n for n, _ in pools]
        j = int(np.argmax(rates))
        lost = spares_lost(a, need[j])
        p99_lost = MMc(rates[j], 1.0 / a.web_service_time_s, (per_site[j] - lost) * w)
        reason = f"{_plural(sum(needed_workers), 'worker')} for the SLO at the forecast peak"
        spares = total - sum(need)
        if spares:
            reason += f" + {_plural(spares, 'spare')} (N+{spares_lost(a, need[j])} and availability)"
        warnings = ()
        if max(per_site) > _LARGEST_POOL:
            warnings = (f"{max(per_site):,} web servers in one site: past the pools this model was checked "
                        f"for; split the site (lower max_rtt_ms) or the service",)
        return Tier(count=total, monthly_cost=cost, unavailability=max(u for _, u in pools), reason=reason,
                    utilization=max(r * a.web_service_time_s / (n * w) for r, n in zip(rates, per_site)),
                    warnings=warnings,
                    values={"instance": size.instance, "workers_per_server": w, "workers": int(sum(needed_workers)),
                            "per_site": tuple(per_site), "needed_per_site": tuple(need),
                            "policy": "least connections", "machines_lost": lost,
                            "p99_one_lost_s": float(p99_lost.response_quantile(a.slo_quantile))
                            if p99_lost.stable else math.inf})

    def describe(self, t, a):
        return (f"{_pool_text(t, t.instance)}, {_plural(t.workers_per_server, 'worker')} each, {t.utilization:.0%} busy at the forecast peak; {t.policy}, p99 "
                f"{t.p99_one_lost_s * 1e3:.0f} ms with {_plural(t.machines_lost, 'machine')} lost)  [{t.reason}]")


class LoadBalancers(Step):
    """Load balancers: a redundant, capacity-limited tier at every site with two or more web servers
    (always, under an availability target).  A node forwards ``lb_node_max_arrival_rate`` requests
    and ``lb_node_bandwidth_bps`` bits per second (responses, and static bytes without a CDN), at
    most ``max_utilization`` of either, plus N+1 (N+2) and the availability spares."""

    name, label, chapter = "load_balancers", "load balancers", "load-balancer"
    count_column = "load_balancers"
    machines = priced = in_series = True
    components = (Component("load_balancer", "Load balancer + 2 or more web servers", "load-balancer",
                            "load_balancers", lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        web = tiers["web"]
        if a.availability_target is None and max(web.per_site) < 2:
            return Tier(reason="a single web server needs none", values={"per_site": (0,) * len(web.per_site)})
        bytes_per_request = a.object_bytes + (0 if tiers["cdn"].count else a.static_bytes_per_request)
        rates = _site_rates(tiers)

        def plan_for(size):
            need = [max(1, math.ceil(r / (a.max_utilization * a.lb_arrival_rate_per_vcpu * size.vcpu) - 1e-9),
                        math.ceil(r * bytes_per_request * 8 / (a.max_utilization * a.lb_bandwidth_bps_per_vcpu
                                                               * size.vcpu) - 1e-9)) for r in rates]
            pools = [redundant_pool(a, n) for n in need]
            return sum(n for n, _ in pools), (need, pools)

        size, count, cost, (need, pools) = cheapest_size(a.lb_family, plan_for)
        busy = max(max(r / (a.lb_arrival_rate_per_vcpu * size.vcpu),
                       r * bytes_per_request * 8 / (a.lb_bandwidth_bps_per_vcpu * size.vcpu)) / n
                   for r, (n, _) in zip(rates, pools))
        spares = count - sum(need)
        warnings = ((f"{max(n for n, _ in pools)} load-balancer nodes in one site: past one balancer tier "
                     f"(spread them with DNS or anycast, or add sites)",) if max(n for n, _ in pools) > 50 else ())
        return Tier(count=count, monthly_cost=cost, unavailability=max(u for _, u in pools), utilization=busy,
                    warnings=warnings,
                    values={"per_site": tuple(n for n, _ in pools), "instance": size.instance,
                            "bandwidth_bps": max(rates) * bytes_per_request * 8},
                    reason=f"{_plural(sum(need), 'node')} for the forecast peak's requests and bytes"
                    + (f" + {_plural(spares, 'spare')}" if spares else ""))

    def describe(self, t, a):
        if not t.count:
            return f"none  [{t.reason}]"
        return f"{_pool_text(t, t.instance)}, {t.bandwidth_bps / 1e9:,.2f} Gbit/s at the busiest site)  [{t.reason}]"


class Sessions(Step):
    """Session store: once a site has two or more web servers, sessions live in a shared store
    (:class:`scaling_lab.sessions.SessionStore`, an M/M/c of nodes) with the least nodes that keep
    it at most ``max_utilization`` busy, plus N+1 (N+2) and the availability spares."""

    name, label, chapter = "sessions", "session store", "stateless-web-tier"
    count_column = "session_nodes"
    machines = priced = in_series = True
    components = (Component("session_store", "Shared session store", "stateless-web-tier", "sessions",
                            lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        if max(tiers["web"].per_site) < 2:
            return Tier(reason="sessions stay on the single web server")
        need, busy = [], []
        for r in _site_rates(tiers):
            c = max(1, math.ceil(r * a.session_ops_per_request * a.session_op_time_s / a.max_utilization - 1e-9))
            need.append(c)
            busy.append(SessionStore(r, a.session_op_time_s, c, a.session_ops_per_request))
        pools = [redundant_pool(a, n) for n in need]
        count = sum(n for n, _ in pools)
        return Tier(count=count, monthly_cost=count * instance(a.session_instance).usd_per_month,
                    unavailability=max(u for _, u in pools),
                    utilization=max(b.utilization * n / m for b, n, (m, _) in zip(busy, need, pools)),
                    reason=f"{max(b.op_rate for b in busy):,.1f} operations/s at the busiest site",
                    values={"per_site": tuple(n for n, _ in pools),
                            "added_latency_s": max(b.mean_added_latency for b in busy)})

    def describe(self, t, a):
        if not t.count:
            return f"none  [{t.reason}]"
        return f"{_pool_text(t, a.session_instance)}), {t.added_latency_s * 1e3:.2f} ms added per request  [{t.reason}]"


def _db_capacity(a: Assumptions, cores: int) -> float:
    """One node's query capacity: its p99 within ``db_latency_slo_s`` and its cores at most ``max_utilization`` busy."""
    return min(pool_capacity(a.db_query_time_s, cores, 0.99, a.db_latency_slo_s),
               a.max_utilization * cores / a.db_query_time_s)


def size_database(users: float, a: Assumptions, tiers, hit_ratio: float) -> dict:
    """The cheapest database for a cache hit ratio over the sizes of ``db_family`` (see :class:`Database`)."""
    size, nodes, cost, db = cheapest_size(a.db_family, lambda size: _database_on(users, a, tiers, hit_ratio, size))
    return {**db, "instance": size.instance, "cost": cost, "nodes": nodes}


def _database_on(users: float, a: Assumptions, tiers, hit_ratio: float, size) -> tuple[int, dict]:
    lam = tiers["traffic"].design_arrival_rate
    sites = tiers["sites"]
    cores = int(size.vcpu)
    node_cap = _db_capacity(a, cores)
    reads, writes = lam * a.read_fraction * (1.0 - hit_ratio), lam * (1.0 - a.read_fraction)
    rate = reads + writes
    f = reads / rate if rate > 0 else 0.0
    spare = 1 if a.availability_target is not None else 0
    r_min = max(sites.count - 1, 0)
    budget = tier_budget(a)
    if budget is not None and shard_unavailability(a.server_mttf_h, a.server_mttr_h, a.failover_s, 0) > budget:
        r_min = max(r_min, 1)
    data_bytes = users * a.stored_bytes_per_user
    n_keys = int(min(max(users, 1.0), _SKEW_MAX_KEYS))
    r_cap = max(a.max_replicas_per_shard - spare, 0)
    best = read_scaling(f, r_cap, primary_capacity_per_s=node_cap, apply_cost=a.apply_cost).max_request_rate
    shards = 1
    while not (data_bytes * skew(n_keys, shards) / shards <= a.db_storage_bytes
               and rate * skew(n_keys, shards) / shards <= best):
        shards *= 2
    load = rate * skew(n_keys, shards) / shards
    r_load = 0
    while read_scaling(f, r_load, primary_capacity_per_s=node_cap, apply_cost=a.apply_cost).max_request_rate < load:
        r_load += 1
    replicas = max(r_min, r_load + spare if r_load else 0)
    why = []
    if shards > 1:
        why.append("storage" if data_bytes * skew(n_keys, shards // 2) / (shards // 2) > a.db_storage_bytes
                   else "load beyond a primary with its replicas")
    if r_load:
        why.append(f"read capacity ({_plural(r_load, 'replica')} + {spare} spare)" if spare else "read capacity")
    elif replicas:
        why.append("standby for availability" if sites.count == 1 else "a replica in every data center")
    work = (reads + writes * (1.0 + replicas * a.apply_cost)) * skew(n_keys, shards) / shards
    return shards * (1 + replicas), {
        "read_rate": reads, "write_rate": writes, "node_max_arrival_rate": float(node_cap), "shards": shards,
        "replicas_per_shard": replicas, "why": why, "cores": cores,
        "utilization": work * a.db_query_time_s / ((1 + replicas) * cores)}


class Cache(Step):
    """Cache, decided by comparison: the database planned without a cache against a cache sized for
    ``cache_hit_ratio`` over a Zipf-popular catalogue (perfect-LFU content, the top :math:`C` objects,
    :func:`~.models.zipf_cache_items`) plus the smaller database behind it; the cheaper wins.  Node
    size chosen from ``cache_family`` (usable memory ``cache_memory_fraction``), at most
    ``max_utilization`` of ``cache_node_ops_per_s``, one spare node per site under a target."""

    name, label, chapter = "cache", "cache", "cache"
    count_column = "cache_nodes"
    columns = ("cache_gb",)
    machines = priced = True
    components = (Component("cache", "Cache tier", "cache", "cache", lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        none = {"hit_ratio": 0.0, "cache_bytes": 0.0, "cache_gb": 0.0, "per_site": (0,) * tiers["sites"].count}
        without = size_database(users, a, tiers, 0.0)["cost"]
        items = zipf_cache_items(users * a.stored_bytes_per_user / a.object_bytes, a.zipf_alpha, a.cache_hit_ratio)
        cache_bytes = items * a.object_bytes
        reads = [r * a.read_fraction for r in _site_rates(tiers)]
        spare = int(a.availability_target is not None)
        def plan_for(size):
            memory = size.memory_gib * 2**30 * a.cache_memory_fraction
            per_site = [max(math.ceil(cache_bytes / memory),
                            math.ceil(r / (a.max_utilization * a.cache_node_ops_per_s) - 1e-9)) + spare for r in reads]
            return sum(per_site), per_site

        size, count, cost, per_site = cheapest_size(a.cache_family, plan_for)
        behind = size_database(users, a, tiers, a.cache_hit_ratio)["cost"]
        if cost + behind >= without:
            return Tier(reason=f"the database alone (${without:,.0f}) is cheaper than a cache and a smaller "
                        f"database (${cost + behind:,.0f})", values=none)
        return Tier(count=count, monthly_cost=cost, reason=f"cache + database ${cost + behind:,.0f} < database "
                    f"alone ${without:,.0f}" + ("; one spare node per site" if spare else ""),
                    utilization=max(r / (n * a.cache_node_ops_per_s) for r, n in zip(reads, per_site)),
                    values={"hit_ratio": a.cache_hit_ratio, "cache_bytes": float(cache_bytes),
                            "cache_gb": cache_bytes / 1e9, "per_site": tuple(per_site), "instance": size.instance})

    def describe(self, t, a):
        if not t.count:
            return f"none  [{t.reason}]"
        return f"{_pool_text(t, t.instance)}), {t.cache_gb:,.1f} GB for a {t.hit_ratio:.0%} hit ratio  [{t.reason}]"


class Database(Step):
    """Database: separate from the web machine once one machine running both cannot meet the SLO (an
    M/M/c with service time :math:`S_{web} + S_{db}`) or once any other tier grows past one machine.
    The database sees :math:`D = \\lambda_f f (1 - h) + \\lambda_f (1 - f)` queries per second; one
    node carries the largest rate keeping its p99 within ``db_latency_slo_s`` and its cores at most
    ``max_utilization`` busy.  Shards double (each split in two, so modulo hashing moves exactly half
    the keys) until the fullest shard — by the balls-into-bins skew of
    :func:`scaling_lab.sharding.expected_skew` — fits one primary's storage and a primary with at most
    ``max_replicas_per_shard`` replicas (:func:`scaling_lab.replication.read_scaling`), one of them a
    spare; then the least replicas that carry it plus that spare, at least one standby when a lone
    primary misses the budget (:func:`scaling_lab.availability.primary_failover`) and one per extra
    data center."""

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
        sites, web, cache = tiers["sites"], tiers["web"], tiers["cache"]
        db = size_database(users, a, tiers, cache.hit_ratio)
        single_cap = pool_capacity(a.web_service_time_s + a.db_query_time_s, web.workers_per_server,
                                   a.slo_quantile, a.latency_slo_s)
        separate = (tiers["traffic"].design_arrival_rate > single_cap or web.count > 1 or sites.count > 1
                    or db["replicas_per_shard"] > 0 or db["shards"] > 1 or cache.count > 0)
        values = {k: db[k] for k in ("read_rate", "write_rate", "node_max_arrival_rate", "shards", "instance")}
        values.update(separate=bool(separate), replicas_per_shard=db["replicas_per_shard"] if separate else 0)
        if not separate:
            return Tier(unavailability=web.unavailability, reason="fits the SLO together with the web code",
                        values=values)
        warnings = ((f"{db['shards']:,} shards: past what the balls-into-bins skew was checked for",)
                    if db["shards"] > _MOST_SHARDS else ())
        return Tier(count=db["nodes"], monthly_cost=db["cost"], utilization=db["utilization"], warnings=warnings,
                    unavailability=shard_unavailability(a.server_mttf_h, a.server_mttr_h, a.failover_s,
                                                        db["replicas_per_shard"]),
                    reason=", ".join(db["why"]) if db["why"] else "one primary carries the load", values=values)

    def describe(self, t, a):
        load = f"; {t.read_rate:,.1f} reads/s + {t.write_rate:,.1f} writes/s at the forecast peak, after the cache"
        if not t.separate:
            return f"on the single server  [{t.reason}]" + load
        return (f"{_plural(t.shards, 'shard')} x (1 primary + {_plural(t.replicas_per_shard, 'replica')}) = "
                f"{t.count} {t.instance}; one node carries {t.node_max_arrival_rate:,.0f} queries/s  [{t.reason}]" + load)


class Storage(Step):
    """Storage and backups: every database node holds its shard's data (the fullest shard, grown by
    ``storage_growth_per_month`` over ``storage_horizon_months``) on provisioned disk; the backups
    hold ``backup_copies`` full copies of all the data."""

    name, label, chapter = "storage", "storage and backups", "sharding"
    priced = True

    def size(self, users, a, tiers):
        db = tiers["database"]
        data_gb = users * a.stored_bytes_per_user / 1e9
        n_keys = int(min(max(users, 1.0), _SKEW_MAX_KEYS))
        grown = (1 + a.storage_growth_per_month) ** a.storage_horizon_months
        per_node = data_gb * skew(n_keys, db.shards) / db.shards * grown
        disks = per_node * max(db.count, 1)
        backups = data_gb * a.backup_copies
        return Tier(monthly_cost=disks * a.block_storage_price_per_gb + backups * a.backup_price_per_gb,
                    reason=f"{_gb(data_gb)} of data, disks for {grown:.2f}x growth",
                    values={"data_gb": data_gb, "disk_gb": disks, "backup_gb": backups})

    def describe(self, t, a):
        return f"{_gb(t.disk_gb)} of disk, {_gb(t.backup_gb)} of backups  [{t.reason}]"


class Workers(Step):
    """Queue workers: background jobs go through a queue to a worker pool sized by the drain rule
    (:func:`scaling_lab.backlog.workers_for_drain_time`): the backlog the forecast peak builds over
    ``peak_duration_s`` is gone ``drain_target_s`` after it, and off-peak the pool is at most
    ``max_utilization`` busy; plus one spare machine under a target."""

    name, label, chapter = "workers", "queue workers", "message-queues"
    count_column = "worker_machines"
    machines = priced = True
    components = (Component("message_queue", "Message queue + workers", "message-queues", "workers",
                            lambda t: t.count >= 1),)

    def size(self, users, a, tiers):
        if a.jobs_per_user <= 0:
            return Tier(reason="no background jobs", values={"queue_workers": 0, "job_rate": 0.0})
        base = users * a.jobs_per_user / SECONDS_PER_DAY
        burst = base * a.peak_to_average * (1 + a.forecast_margin)
        mu = 1.0 / a.job_time_s
        workers = max(workers_for_drain_time(base, burst, a.peak_duration_s, mu, a.drain_target_s),
                      math.ceil(base / (mu * a.max_utilization) - 1e-9))
        size, machines, cost, needed = cheapest_size(a.worker_family, lambda size: (
            None if _usable(size.vcpu, a) < 1 else
            (-(-workers // _usable(size.vcpu, a)) + int(a.availability_target is not None),
             -(-workers // _usable(size.vcpu, a)))))
        slots = _usable(size.vcpu, a)
        backlog = burst_backlog(base, burst, a.peak_duration_s, mu, needed * slots)
        window = a.peak_duration_s + a.drain_target_s
        return Tier(count=machines, monthly_cost=cost,
                    utilization=min(1.0, (burst * a.peak_duration_s + base * a.drain_target_s) / window
                                    / (mu * needed * slots)),
                    reason=f"{burst:,.2f} jobs/s at the forecast peak for {a.peak_duration_s / 3600:g} h, "
                    f"backlog gone {backlog.drain_time_s / 60:,.0f} min after it",
                    values={"queue_workers": int(workers), "job_rate": burst, "instance": size.instance, "peak_backlog": backlog.peak_backlog,
                            "drain_time_s": backlog.drain_time_s})

    def describe(self, t, a):
        if not t.count:
            return f"none  [{t.reason}]"
        return f"{_plural(t.queue_workers, 'worker')} on {t.count} {t.instance}  [{t.reason}]"


class Telemetry(Step):
    """Telemetry: logs (:func:`scaling_lab.observability.sampled_log_bytes_per_day` of the day's
    requests) and metrics (:func:`scaling_lab.observability.metric_bytes_per_day` of every machine's
    series), priced per GB ingested and per GB kept for ``telemetry_retention_days``."""

    name, label, chapter = "telemetry", "telemetry", "logging-metrics-automation"
    priced = True

    def size(self, users, a, tiers):
        machines = sum(t.count for s, t in zip(STEPS, tiers.values()) if s.machines)
        logs = float(sampled_log_bytes_per_day(tiers["traffic"].mean_arrival_rate, a.log_bytes_per_request,
                                               a.log_sample_rate)) / 1e9
        metrics = float(metric_bytes_per_day(machines * a.metrics_per_machine, a.scrape_interval_s)) / 1e9
        per_day = logs + metrics
        return Tier(monthly_cost=per_day * (DAYS_PER_MONTH * a.telemetry_ingest_price_per_gb
                                            + a.telemetry_retention_days * a.telemetry_storage_price_per_gb),
                    reason=f"{_gb(logs)} of logs + {_gb(metrics)} of metrics a day",
                    values={"log_gb_per_day": logs, "metric_gb_per_day": metrics})

    def describe(self, t, a):
        return f"${t.monthly_cost:,.0f} a month  [{t.reason}]"


#: The sizing steps, in the order they run (each may read the tiers before it).
STEPS: tuple[Step, ...] = (Traffic(), Sites(), CDN(), Web(), LoadBalancers(), Sessions(), Cache(), Database(),
                           Storage(), Workers(), Telemetry())

#: The pieces of the journey the steps decide, in chapter order.
COMPONENTS: tuple[Component, ...] = tuple(sorted((c for s in STEPS for c in s.components),
                                                 key=lambda c: c.chapter_number))
