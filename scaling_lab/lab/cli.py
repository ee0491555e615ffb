"""``python -m scaling_lab lab list|run NAME [--quick]``: the lab's experiments from the command line.

``list`` prints the registered experiments and whether a recording exists;
``run NAME`` runs one (``run all``: every one, as ``make experiments`` does).
A full run records its tables and metadata under ``data/lab/NAME/``; a
``--quick`` run prints its key table and records nothing unless ``--record``.
"""

from __future__ import annotations

import argparse
import sys

from .experiments import EXPERIMENTS, run_experiment
from .recording import recorded_names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scaling_lab lab",
                                     description="Run the book's experiments on real servers on this machine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,run}")
    sub.add_parser("list", help="the registered experiments")
    r = sub.add_parser("run", help="run one experiment (or 'all')")
    r.add_argument("name", help=f"one of {', '.join(EXPERIMENTS)}, or 'all'")
    r.add_argument("--quick", action="store_true", help="the short version (seconds, not minutes)")
    r.add_argument("--seed", type=int, default=0, help="seed of every random draw [0]")
    r.add_argument("--record", action="store_true", help="write data/lab/NAME/ even for a --quick run")
    r.add_argument("--no-record", action="store_true", help="do not write data/lab/NAME/ after a full run")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the lab's command line; returns the exit status."""
    import pandas as pd

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        have = set(recorded_names())
        for exp in EXPERIMENTS.values():
            mark = "recorded" if exp.name in have else "not recorded"
            print(f"{exp.name:<16} chapter {exp.chapter:<3} {mark:<13} {exp.title}")
        return 0
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    for name in names:
        if name not in EXPERIMENTS:
            parser.error(f"name must be one of {tuple(EXPERIMENTS)} or 'all', got {name!r}")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 4):
        for name in names:
            record = (args.record or not args.quick) and not args.no_record
            print(f"== {name} ({'quick' if args.quick else 'full'})", flush=True)
            tables, meta = run_experiment(name, quick=args.quick, seed=args.seed, record=record)
            exp = EXPERIMENTS[name]
            print(tables[exp.key_table][list(exp.index) + list(exp.values)].to_string(index=False))
            print(f"wall time {meta['wall_time_s']} s, load average {meta['machine']['loadavg_before']} -> "
                  f"{meta['machine']['loadavg_after']}" + (" (recorded)" if record else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
