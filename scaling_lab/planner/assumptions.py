"""What the planner assumes besides the number of daily users, each input declared once.

Every field of :class:`Assumptions` carries its default, a one-line
description, the chapter that motivates it and its check; the class
docstring, the validation, the command line's options and their help are all
derived from that one declaration.  :func:`resolve_assumptions` is the single
way every public entry of the planner turns ``assumptions`` and ``**overrides``
into an :class:`Assumptions` (an unknown name is a ``ValueError`` naming it).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, replace
from functools import lru_cache, partial
from typing import Any, Callable, Mapping

import numpy as np

from .. import geography
from ..core.validation import (
    check_in_range,
    check_integer,
    check_nonnegative,
    check_open_probability,
    check_positive,
    check_probability,
)
from .chapters import chapter_number

__all__ = ["Assumptions", "resolve_assumptions", "assumption_help"]


@lru_cache(maxsize=None)
def user_region_names() -> tuple:
    """The world regions of ``cities.csv`` (the values ``user_regions`` may take)."""
    return tuple(sorted(geography.load_cities()["region"].unique()))


def _regions(value, name: str) -> tuple:
    regions = (value,) if isinstance(value, str) else tuple(value)
    known = user_region_names()
    if not regions or any(r not in known for r in regions):
        raise ValueError(f"{name} must be a non-empty subset of {known}, got {value!r}")
    return regions


def _known_to_prices(lookup: str) -> Callable:
    """A check that ``value`` is a name ``prices.<lookup>`` knows (an instance family, an instance type)."""
    def check(value, name: str) -> str:
        from . import prices
        try:
            getattr(prices, lookup)(value)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name}: {err}") from None
        return value
    return check


_family = _known_to_prices("family_sizes")
_instance = _known_to_prices("instance")


def _optional(check: Callable) -> Callable:
    return lambda value, name: None if value is None else check(value, name)


_positive = check_positive
_nonnegative = check_nonnegative
_fraction = check_probability
_open_fraction = check_open_probability
_count = partial(check_integer, minimum=1)
_at_least_one = partial(check_in_range, low=1.0, high=math.inf, high_open=True)


def _assumption(default: Any, help: str, chapter: str, check: Callable) -> Any:
    return field(default=default, metadata={"help": help, "chapter": chapter, "check": check})


@dataclass(frozen=True)
class Assumptions:
    """Everything the planner assumes besides the number of daily users.

    Times in seconds, sizes in bytes, prices in US dollars per month (per GB
    for bandwidth).  The defaults describe a typical consumer web service on
    cloud machines; each comes from the chapter named with it.
    """

    # Traffic and headroom
    requests_per_user: float = _assumption(30.0, "requests one daily user sends per day", "single-server",
                                           _positive)
    peak_to_average: float = _assumption(3.0, "peak request rate over the daily mean (>= 1)", "single-server",
                                         _at_least_one)
    forecast_margin: float = _assumption(0.2, "fraction by which the peak may exceed its forecast; every tier "
                                         "is sized for the peak times (1 + margin)", "millions-of-users",
                                         _nonnegative)
    max_utilization: float = _assumption(0.8, "highest busy fraction of any tier at the forecast peak with every "
                                         "machine up", "load-balancer", partial(check_in_range, low=0.0, high=1.0,
                                                                                  low_open=True))
    n_plus_two_above: int = _assumption(20, "machines per site above which a pool keeps two spares (N+2) "
                                        "instead of one", "load-balancer", _count)
    read_fraction: float = _assumption(0.9, "fraction of requests that only read, in [0, 1]",
                                       "database-replication", _fraction)
    # Web tier
    web_service_time_s: float = _assumption(0.040, "mean work of one request on a web worker, seconds",
                                            "single-server", _positive)
    web_family: str = _assumption("m6i", "instance family of the web servers (size chosen by cost)",
                                  "vertical-vs-horizontal", _family)
    web_workers_per_vcpu: float = _assumption(1.0, "web workers per vCPU (1 for CPU-bound requests)",
                                              "vertical-vs-horizontal", _positive)
    reserved_vcpus_per_machine: float = _assumption(1.0, "vCPUs of every machine kept for the OS, agents and "
                                                    "sidecars", "vertical-vs-horizontal", _nonnegative)
    latency_slo_s: float = _assumption(0.250, "latency SLO, seconds, at the quantile slo_quantile",
                                       "single-server", _positive)
    slo_quantile: float = _assumption(0.99, "quantile of the latency SLO (0.99: the p99)", "single-server",
                                      _open_fraction)
    # Load balancers
    lb_family: str = _assumption("c6i", "instance family of the load-balancer nodes (size chosen by cost)",
                                 "load-balancer", _family)
    lb_arrival_rate_per_vcpu: float = _assumption(5_000.0, "requests per second one vCPU of a load balancer "
                                                  "forwards (TLS terminated)", "load-balancer", _positive)
    lb_bandwidth_bps_per_vcpu: float = _assumption(0.39e9, "sustained network bits per second per vCPU "
                                                   "(c6i baseline bandwidth)", "load-balancer", _positive)
    # Session store
    session_ops_per_request: float = _assumption(1.2, "session-store operations per web request",
                                                 "stateless-web-tier", _positive)
    session_op_time_s: float = _assumption(20e-6, "mean time of one session-store operation on one node, seconds",
                                           "stateless-web-tier", _positive)
    session_instance: str = _assumption("r6i.large", "instance type of one session-store node",
                                        "stateless-web-tier", _instance)
    # Database
    db_query_time_s: float = _assumption(0.005, "mean time of one database query, seconds", "database-tier",
                                         _positive)
    db_family: str = _assumption("r6i", "instance family of the database nodes (size chosen by cost; one "
                                 "query per vCPU at a time)", "database-tier", _family)
    db_latency_slo_s: float = _assumption(0.050, "p99 query time a database node must keep, seconds "
                                          "(sets a node's capacity)", "database-tier", _positive)
    apply_cost: float = _assumption(0.5, "cost of replaying one write on a replica, relative to a query",
                                    "database-replication", _nonnegative)
    max_replicas_per_shard: int = _assumption(5, "replicas one primary may feed before the shard splits",
                                              "sharding", partial(check_integer, minimum=0))
    stored_bytes_per_user: float = _assumption(100e3, "database bytes per daily user", "sharding", _positive)
    db_storage_bytes: float = _assumption(4e12, "bytes one database primary holds", "sharding", _positive)
    # Storage and backups
    storage_growth_per_month: float = _assumption(0.03, "monthly growth of the stored data (fraction)",
                                                  "sharding", _nonnegative)
    storage_horizon_months: float = _assumption(12.0, "months of growth the disks are provisioned for",
                                                "sharding", _nonnegative)
    block_storage_price_per_gb: float = _assumption(0.08, "dollars per provisioned GB of database disk a month "
                                                    "(gp3 list price)", "sharding", _nonnegative)
    backup_copies: float = _assumption(2.0, "full copies of the data the backups hold (a weekly full and its "
                                       "daily increments come to about two)", "database-replication",
                                       _nonnegative)
    backup_price_per_gb: float = _assumption(0.05, "dollars per GB of backup a month (snapshot list price)",
                                             "database-replication", _nonnegative)
    # Cache
    object_bytes: float = _assumption(1e3, "bytes of one cached object, one dynamic response and one write",
                                      "cache", _positive)
    zipf_alpha: float = _assumption(1.0, "Zipf exponent of the objects' popularity", "cache", _positive)
    cache_hit_ratio: float = _assumption(0.8, "hit ratio the cache is sized for, in (0, 1)", "cache",
                                         _open_fraction)
    cache_family: str = _assumption("r6i", "instance family of the cache nodes (size chosen by cost)", "cache",
                                    _family)
    cache_memory_fraction: float = _assumption(0.75, "fraction of a cache node's memory that holds objects",
                                               "cache", _open_fraction)
    cache_node_ops_per_s: float = _assumption(100e3, "operations per second one cache node serves", "cache",
                                              _positive)
    # CDN and bandwidth
    static_bytes_per_request: float = _assumption(50e3, "static bytes (images, scripts) per request", "cdn",
                                                  _nonnegative)
    origin_bandwidth_bps: float = _assumption(10e9, "bits per second the origin can serve static content at "
                                              "(above it a CDN is required)", "cdn", _positive)
    cdn_request_price_per_10k: float = _assumption(0.01, "dollars per 10,000 CDN requests (HTTPS list price)",
                                                   "cdn", _nonnegative)
    # Geography
    user_regions: tuple = _assumption(("North America",), "world regions of the users, among the regions of "
                                      "cities.csv (comma-separated on the command line)", "data-centers", _regions)
    max_rtt_ms: float = _assumption(100.0, "round-trip-time ceiling from any user city to its data center, ms",
                                    "data-centers", _positive)
    route_factor: float = _assumption(1.6, "real network path length over the great circle (>= 1)",
                                      "data-centers", _at_least_one)
    # Background jobs
    jobs_per_user: float = _assumption(0.2, "background jobs (photo processing) per user per day (0: none)",
                                       "message-queues", _nonnegative)
    job_time_s: float = _assumption(1.0, "mean work of one background job, seconds", "message-queues", _positive)
    peak_duration_s: float = _assumption(3600.0, "how long the daily peak lasts, seconds", "message-queues",
                                         _positive)
    drain_target_s: float = _assumption(1800.0, "seconds after the peak by which the job backlog must be gone",
                                        "message-queues", _nonnegative)
    worker_family: str = _assumption("c6i", "instance family of the worker machines (size chosen by cost; one "
                                     "job per usable vCPU)", "message-queues", _family)
    # Telemetry
    log_bytes_per_request: float = _assumption(500.0, "bytes of logs per request", "logging-metrics-automation",
                                               _nonnegative)
    log_sample_rate: float = _assumption(1.0, "fraction of requests logged", "logging-metrics-automation",
                                         _fraction)
    metrics_per_machine: float = _assumption(500.0, "time series every machine exports",
                                             "logging-metrics-automation", _nonnegative)
    scrape_interval_s: float = _assumption(15.0, "seconds between metric scrapes", "logging-metrics-automation",
                                           _positive)
    telemetry_ingest_price_per_gb: float = _assumption(0.50, "dollars per GB of logs and metrics ingested",
                                                       "logging-metrics-automation", _nonnegative)
    telemetry_retention_days: float = _assumption(30.0, "days logs and metrics are kept",
                                                  "logging-metrics-automation", _nonnegative)
    telemetry_storage_price_per_gb: float = _assumption(0.03, "dollars per GB of kept telemetry a month",
                                                        "logging-metrics-automation", _nonnegative)
    # Availability
    availability_target: float | None = _assumption(
        0.999, "fraction of time the service must be up, in [0, 1); none plans for capacity only (no spares)",
        "database-replication", _optional(partial(check_in_range, low=0.0, high=1.0, high_open=True)))
    server_mttf_h: float = _assumption(2000.0, "mean time to failure of one machine, hours",
                                       "database-replication", _positive)
    server_mttr_h: float = _assumption(10.0, "mean time to repair one machine, hours", "database-replication",
                                       _positive)
    failover_s: float = _assumption(30.0, "database failover time, seconds", "database-replication", _nonnegative)
    site_availability: float = _assumption(0.9999, "availability of one data center as a whole", "data-centers",
                                           partial(check_in_range, low=0.0, high=1.0, low_open=True))

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, f.metadata["check"](getattr(self, f.name), f.name))
        if np.exp(-self.latency_slo_s / self.web_service_time_s) > 1.0 - self.slo_quantile:
            raise ValueError(f"latency_slo_s={self.latency_slo_s} is unreachable: a request's own work of mean "
                             f"{self.web_service_time_s} s exceeds it more often than 1 - slo_quantile")
        if np.exp(-self.db_latency_slo_s / self.db_query_time_s) > 0.01:
            raise ValueError(f"db_latency_slo_s={self.db_latency_slo_s} is unreachable for a mean query time "
                             f"of {self.db_query_time_s} s (the p99 of the query alone exceeds it)")

    @property
    def unavailability(self) -> float | None:
        """The target's unavailability :math:`U = 1 - A` (``None`` without a target)."""
        return None if self.availability_target is None else 1.0 - self.availability_target

    def as_dict(self) -> dict:
        """Every assumption by name (tuples as lists), e.g. for JSON."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


def assumption_help(name: str) -> str:
    """The description of assumption ``name`` with its chapter, as the docstring and the CLI show it."""
    f = {f.name: f for f in fields(Assumptions)}[name]
    return f"{f.metadata['help']} (chapter {chapter_number(f.metadata['chapter'])})"


def _document(cls: type) -> type:
    lines = [cls.__doc__.rstrip(), "", "    Attributes", "    ----------"]
    for f in fields(cls):
        default = "none" if f.default is None else f.default
        lines += [f"    {f.name} : {f.type}", f"        {assumption_help(f.name)}; default ``{default!r}``."]
    cls.__doc__ = "\n".join(lines) + "\n"
    return cls


_document(Assumptions)


def resolve_assumptions(assumptions: Assumptions | None = None, overrides: Mapping[str, Any] | None = None
                        ) -> Assumptions:
    """``assumptions`` (default :class:`Assumptions`) with ``overrides`` applied, every value checked.

    Raises
    ------
    ValueError
        If ``assumptions`` is not an :class:`Assumptions`, if an override is not
        one of its fields (the message names it) or if a value is out of range.
    """
    a = Assumptions() if assumptions is None else assumptions
    if not isinstance(a, Assumptions):
        raise ValueError(f"assumptions must be an Assumptions, got {type(a).__name__}")
    if overrides:
        known = {f.name for f in fields(Assumptions)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown assumption {unknown[0]!r}: the assumptions are the fields of Assumptions "
                             f"({', '.join(sorted(known))})")
        a = replace(a, **overrides)
    return a


# A field's default without MISSING juggling, for the command line.
def default_of(name: str) -> Any:
    """The default value of assumption ``name``."""
    f = {f.name: f for f in fields(Assumptions)}[name]
    return None if f.default is MISSING else f.default
