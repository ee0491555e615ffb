"""Command line: ``python -m scaling_lab plan --daily-users 10_000_000 [--read-fraction 0.95 ...]``.

Subcommands
-----------
plan
    The architecture and monthly cost for a number of daily users
    (:func:`scaling_lab.planner.planning.plan`).
journey
    The number of daily users at which each component of the journey first
    becomes necessary (:func:`scaling_lab.planner.planning.entry_points`).

Every field of :class:`scaling_lab.planner.assumptions.Assumptions` is an
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

from .assumptions import Assumptions, assumption_help, default_of
from .planning import entry_points, plan
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


def _run_plan(args: argparse.Namespace) -> None:
    print(plan(args.daily_users, _assumptions(args)).report())


def _run_journey(args: argparse.Namespace) -> None:
    points = entry_points(_assumptions(args), max_users=args.max_users)
    print(f"Daily users at which each component first becomes necessary (up to {args.max_users:,.0f}):")
    for c in COMPONENTS:
        value = points[c.key]
        when = "not needed" if value is None else f"{value:>14,.0f}"
        print(f"  {c.label:<40} {when:>14}   (chapter {c.chapter_number})")


def _add_plan(sub) -> None:
    p = sub.add_parser("plan", help="architecture and monthly cost for a number of daily users",
                       description="Print the architecture and monthly cost for a number of daily users.")
    p.add_argument("--daily-users", type=_number, required=True, metavar="N",
                   help="daily active users, e.g. 10_000_000")
    _add_assumptions(p)
    p.set_defaults(run=_run_plan, parser=p)


def _add_journey(sub) -> None:
    j = sub.add_parser("journey", help="daily users at which each component first becomes necessary",
                       description="Print the daily users at which each component first becomes necessary.")
    j.add_argument("--max-users", type=_number, default=1e8, metavar="N", help="largest user count [1e8]")
    _add_assumptions(j)
    j.set_defaults(run=_run_journey, parser=j)


#: Functions that each add one subcommand to the subparsers (``set_defaults(run=..., parser=...)``).
SUBCOMMANDS = (_add_plan, _add_journey)


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
