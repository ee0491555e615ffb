"""Command line: ``python -m scaling_lab plan --daily-users 10_000_000 [--read-fraction 0.95 ...]``.

Subcommands
-----------
plan
    The architecture and monthly cost for a number of daily users
    (:func:`scaling_lab.planner.planning.plan`).
journey
    The number of daily users at which each component of the journey first
    becomes necessary, in the order they enter and why
    (:func:`scaling_lab.planner.planning.entry_points`).
sensitivity
    Which assumptions move the bill most, ±20 % each
    (``sensitivity()``).

``--format table|json|csv`` chooses the output (the JSON carries every
assumption used); ``plan --band N`` adds the 5-95 % band of the bill over N
samples of the uncertain inputs (``cost_band()``).

Every field of ``Assumptions`` is an
option of both (``--read-fraction``, ``--latency-slo-s``,
``--availability-target none``...), with the help text of its declaration;
numbers accept underscores (``10_000_000``).  A subcommand is a function that
adds its parser to the subparsers and sets ``run`` (see :data:`SUBCOMMANDS`),
so a new one is one function.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Callable

import json

import pandas as pd

from .assumptions import Assumptions, assumption_help, default_of
from .planning import entry_points, plan
from .report import plan_to_dict, plans_to_csv
from .sensitivity import cost_band, sensitivity
from .steps import COMPONENTS

__all__ = ["build_parser", "main", "SUBCOMMANDS"]


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


def _optional_number(text: str) -> float | None:
    return None if text.strip().lower() in ("none", "off", "") else _number(text)


def _regions(text: str) -> tuple:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _option_type(name: str) -> Callable:
    default = default_of(name)
    if isinstance(default, tuple):
        return _regions
    if name == "availability_target":
        return _optional_number
    if isinstance(default, str):
        return str
    if isinstance(default, int) and not isinstance(default, bool):
        return _integer
    return _number


def _show(default) -> str:
    if isinstance(default, tuple):
        return ",".join(default)
    return f"{default:g}" if isinstance(default, float) else str(default)


def _add_assumptions(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("assumptions (defaults in brackets)")
    for f in fields(Assumptions):
        group.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=_option_type(f.name),
                           default=argparse.SUPPRESS, metavar="X",
                           help=f"{assumption_help(f.name)} [{_show(default_of(f.name))}]")


def _assumptions(args: argparse.Namespace) -> Assumptions:
    return Assumptions(**{f.name: getattr(args, f.name) for f in fields(Assumptions) if hasattr(args, f.name)})


def _band_text(band) -> str:
    lo, mid, hi = band.monthly_cost
    return (f"  cost band (5-50-95 %, {len(band.samples)} samples of forecast, service time, hit ratio): "
            f"${lo:,.0f} - ${mid:,.0f} - ${hi:,.0f}")


def _run_plan(args: argparse.Namespace) -> None:
    p = plan(args.daily_users, _assumptions(args))
    band = cost_band(args.daily_users, p.assumptions, n_samples=args.band, seed=args.seed) if args.band else None
    if args.format == "json":
        out = plan_to_dict(p)
        if band is not None:
            out["cost_band"] = {"q": list(band.q), "monthly_cost": list(band.monthly_cost),
                                "machines": list(band.machines)}
        print(json.dumps(out, indent=2))
    elif args.format == "csv":
        print(plans_to_csv([p]), end="")
    else:
        print(p.report() + ("\n" + _band_text(band) if band is not None else ""))


def _run_journey(args: argparse.Namespace) -> None:
    a = _assumptions(args)
    points = entry_points(a, max_users=args.max_users)
    order = sorted(COMPONENTS, key=lambda c: (points[c.key] is None, points[c.key] or 0.0))
    rows = []
    for c in order:
        users = points[c.key]
        reason = plan(users, a).tiers[c.step].reason if users is not None else ""
        rows.append({"component": c.key, "label": c.label, "chapter": c.chapter_number, "daily_users": users,
                     "reason": reason})
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        print(pd.DataFrame(rows).to_csv(index=False), end="")
    else:
        print(f"Components in the order they enter (up to {args.max_users:,.0f} daily users):")
        for r in rows:
            when = "not needed" if r["daily_users"] is None else f"{r['daily_users']:>14,.0f}"
            print(f"  {when:>14}  {r['label']:<40} (chapter {r['chapter']})  {r['reason']}")


def _run_sensitivity(args: argparse.Namespace) -> None:
    table = sensitivity(args.daily_users, _assumptions(args), rel=args.rel)
    if args.format == "json":
        print(table.to_json(orient="records", indent=2))
    elif args.format == "csv":
        print(table.to_csv(index=False), end="")
    else:
        base = plan(args.daily_users, _assumptions(args)).monthly_cost
        print(f"Monthly cost ${base:,.0f} at {args.daily_users:,.0f} daily users; each assumption moved "
              f"±{args.rel:.0%} (fractions: their complement):")
        for r in table.head(args.top).itertuples():
            print(f"  {r.assumption:<28} ${r.cost_low:>12,.0f} .. ${r.cost_high:>12,.0f}  "
                  f"(machines {r.machines_low:,} .. {r.machines_high:,})")


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="output format [table]")


def _add_plan(sub) -> None:
    p = sub.add_parser("plan", help="architecture and monthly cost for a number of daily users",
                       description="Print the architecture and monthly cost for a number of daily users.")
    p.add_argument("--daily-users", type=_number, required=True, metavar="N",
                   help="daily active users, e.g. 10_000_000")
    _add_format(p)
    p.add_argument("--band", type=_integer, default=0, metavar="N",
                   help="also give the 5-95 %% band of the bill over N samples of the uncertain inputs [0: no]")
    p.add_argument("--seed", type=_integer, default=0, metavar="S", help="seed of the band's samples [0]")
    _add_assumptions(p)
    p.set_defaults(run=_run_plan, parser=p)


def _add_journey(sub) -> None:
    j = sub.add_parser("journey", help="daily users at which each component first becomes necessary",
                       description="Print the daily users at which each component first becomes necessary, "
                                   "in the order they enter and why.")
    j.add_argument("--max-users", type=_number, default=1e8, metavar="N", help="largest user count [1e8]")
    _add_format(j)
    _add_assumptions(j)
    j.set_defaults(run=_run_journey, parser=j)


def _add_sensitivity(sub) -> None:
    s = sub.add_parser("sensitivity", help="which assumptions move the bill most",
                       description="Print the bill with each assumption moved down and up (a tornado).")
    s.add_argument("--daily-users", type=_number, required=True, metavar="N", help="daily active users")
    s.add_argument("--rel", type=_number, default=0.2, metavar="R", help="relative move of each assumption [0.2]")
    s.add_argument("--top", type=_integer, default=12, metavar="K", help="rows shown in the table [12]")
    _add_format(s)
    _add_assumptions(s)
    s.set_defaults(run=_run_sensitivity, parser=s)


#: Functions that each add one subcommand to the subparsers (``set_defaults(run=..., parser=...)``).
SUBCOMMANDS = (_add_plan, _add_journey, _add_sensitivity)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m scaling_lab``."""
    parser = argparse.ArgumentParser(
        prog="python -m scaling_lab",
        description="Capacity planning from daily users to an architecture and its monthly cost.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (bad input exits 2 with the subcommand's usage)."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ValueError as err:
        args.parser.error(str(err))
    return 0
