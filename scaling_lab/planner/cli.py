"""Command line: ``python -m scaling_lab plan --daily-users 10_000_000 [--read-fraction 0.95 ...]``.

Subcommands
-----------
plan
    Print the architecture and monthly cost for a number of daily users
    (:func:`scaling_lab.planner.planning.plan`).
journey
    Print the number of daily users at which each component of the journey
    first becomes necessary (:func:`scaling_lab.planner.planning.entry_points`).

Every field of :class:`scaling_lab.planner.planning.Assumptions` is an option
(``--read-fraction``, ``--latency-slo-s``, ``--availability-target none``...);
numbers accept underscores (``10_000_000``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields

from .planning import COMPONENTS, Assumptions, entry_points, plan

_HELP = {
    "requests_per_user": "requests per daily user per day",
    "peak_to_average": "peak request rate over the daily mean (>= 1)",
    "read_fraction": "fraction of requests that only read, in [0, 1]",
    "web_service_time_s": "mean work of a request on a web worker, seconds",
    "web_workers_per_server": "workers per web server",
    "latency_slo_s": "latency SLO, seconds (at the quantile --slo-quantile)",
    "slo_quantile": "quantile of the latency SLO, e.g. 0.99",
    "db_query_time_s": "mean time of one database query, seconds",
    "db_cores": "cores per database node",
    "db_latency_slo_s": "p99 query time a database node must keep, seconds",
    "apply_cost": "cost of replaying a write on a replica, relative to a query",
    "max_replicas_per_shard": "replicas one primary may feed before the shard splits",
    "stored_bytes_per_user": "database bytes per daily user",
    "db_storage_bytes": "bytes one database primary holds",
    "object_bytes": "bytes per cached object and per dynamic response",
    "zipf_alpha": "Zipf exponent of object popularity",
    "cache_hit_ratio": "hit ratio the cache is sized for, in (0, 1)",
    "cache_node_bytes": "usable memory of one cache node, bytes",
    "cache_node_ops_per_s": "operations per second one cache node serves",
    "static_bytes_per_request": "static bytes (images, scripts) per request",
    "origin_bandwidth_bps": "origin bandwidth for static content before a CDN is needed, bits/s",
    "user_regions": "comma-separated world regions of the users (e.g. 'North America,Europe')",
    "max_rtt_ms": "round-trip-time ceiling from any user city to its data center, ms",
    "route_factor": "real network path length over the great circle (>= 1)",
    "jobs_per_user": "background jobs per user per day (0: none)",
    "job_time_s": "mean work of one background job, seconds",
    "max_job_wait_s": "mean time a job may wait in the queue, seconds",
    "worker_slots_per_machine": "jobs one worker machine runs at once",
    "availability_target": "availability target in [0, 1), or 'none' for capacity only",
    "server_mttf_h": "mean time to failure of a machine, hours",
    "server_mttr_h": "mean time to repair a machine, hours",
    "failover_s": "database failover time, seconds",
    "site_availability": "availability of one data center",
    "web_server_price": "dollars per web server per month",
    "db_node_price": "dollars per database node per month",
    "cache_node_price": "dollars per cache node per month",
    "worker_price": "dollars per worker machine per month",
    "load_balancer_price": "dollars per load balancer per month",
    "egress_price_per_gb": "dollars per GB served from the origin",
    "cdn_price_per_gb": "dollars per GB served by the CDN",
}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _target(text: str) -> float | None:
    return None if text.strip().lower() in ("none", "off", "") else _number(text)


def _regions(text: str) -> tuple:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _add_assumptions(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("assumptions (defaults in brackets)")
    for f in fields(Assumptions):
        default = f.default if f.default is not MISSING else None
        if f.name == "availability_target":
            kind = _target
        elif f.name == "user_regions":
            kind = _regions
            default = ",".join(default)
        elif isinstance(default, int) and not isinstance(default, bool):
            kind = _integer
        else:
            kind = _number
        group.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=argparse.SUPPRESS,
                           metavar="X", help=f"{_HELP.get(f.name, f.name)} [{default:g}]"
                           if isinstance(default, float) else f"{_HELP.get(f.name, f.name)} [{default}]")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m scaling_lab``."""
    parser = argparse.ArgumentParser(
        prog="python -m scaling_lab",
        description="Capacity planning from daily users to an architecture and its monthly cost.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{plan,journey}")
    p = sub.add_parser("plan", help="architecture and monthly cost for a number of daily users",
                       description="Print the architecture and monthly cost for a number of daily users.")
    p.add_argument("--daily-users", type=_number, required=True, metavar="N",
                   help="daily active users, e.g. 10_000_000")
    _add_assumptions(p)
    j = sub.add_parser("journey", help="daily users at which each component first becomes necessary",
                       description="Print the daily users at which each component first becomes necessary.")
    j.add_argument("--max-users", type=_number, default=1e8, metavar="N", help="largest user count [1e8]")
    _add_assumptions(j)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    given = {f.name: getattr(args, f.name) for f in fields(Assumptions) if hasattr(args, f.name)}
    try:
        assumptions = Assumptions(**given)
        if args.command == "plan":
            print(plan(args.daily_users, assumptions).report())
        else:
            points = entry_points(assumptions, max_users=args.max_users)
            print(f"Daily users at which each component first becomes necessary (up to {args.max_users:,.0f}):")
            for key, label, chapter in COMPONENTS:
                value = points[key]
                when = "not needed" if value is None else f"{value:>14,.0f}"
                print(f"  {label:<40} {when:>14}   (chapter {chapter})")
    except ValueError as err:
        parser.error(str(err))
    return 0
