"""A plan as text, a dictionary, JSON or CSV, each read off the steps.

:func:`text_report` writes one line per step (its ``describe``), then the
availability and the bill; :func:`plan_to_dict` gives every tier with every
number and every assumption used, which :func:`plan_to_json` serialises and
:func:`plans_to_csv` flattens to one row per plan.
"""

from __future__ import annotations

import io
import json
import math
from typing import Iterable

import pandas as pd


__all__ = ["text_report", "plan_to_dict", "plan_to_json", "plans_to_csv"]


def text_report(p) -> str:
    """A readable, multi-line description of the plan ``p``: one line per tier, availability, the bill."""
    a = p.assumptions
    target = "none (capacity only)" if a.availability_target is None else f"{a.availability_target:.4%}"
    width = max(len(s.label) for s in p.steps) + 1
    lines = [f"Capacity plan for {p.daily_users:,.0f} daily active users",
             f"  {'latency SLO':<{width}} p{100 * a.slo_quantile:g} <= {1e3 * a.latency_slo_s:g} ms; "
             f"availability target {target}", ""]
    lines += [f"  {s.label:<{width}} {s.describe(p.tiers[s.name], a)}" for s in p.steps]
    verdict = ("no target" if a.availability_target is None
               else "meets the target" if p.meets_availability else "MISSES the target")
    parts = ", ".join(f"{name} {u:.1e}" for name, u in p.unavailability.items())
    lines += [f"  {'availability':<{width}} {p.availability:.5%} ({verdict}; unavailability {parts})", "",
              f"  {'monthly cost':<{width}} ${p.monthly_cost:,.0f}"]
    lines += [f"    {name:<{width - 2}} ${dollars:>12,.0f}" for name, dollars in p.cost.items()]
    lines += [f"  warning: {w}" for t in p.tiers.values() for w in t.warnings]
    return "\n".join(lines)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def plan_to_dict(p) -> dict:
    """Every tier of ``p`` with all its numbers, the totals and every assumption used (JSON-ready)."""
    return {
        "daily_users": p.daily_users,
        "assumptions": {k: _plain(v) for k, v in p.assumptions.as_dict().items()},
        "tiers": {name: {"label": t.label, "chapter": t.chapter, "count": t.count,
                         "monthly_cost": t.monthly_cost, "utilization": t.utilization,
                         "unavailability": t.unavailability, "reason": t.reason,
                         "values": {k: _plain(v) for k, v in t.values.items()}}
                  for name, t in p.tiers.items()},
        "machines": p.machines, "availability": p.availability, "monthly_cost": p.monthly_cost,
        "cost": p.cost,
    }


def plan_to_json(p, *, indent: int | None = 2) -> str:
    """:func:`plan_to_dict` as JSON text."""
    return json.dumps(plan_to_dict(p), indent=indent)


def plans_to_csv(plans: Iterable) -> str:
    """CSV text with one row of :meth:`~.planning.Plan.counts` per plan."""
    buffer = io.StringIO()
    pd.DataFrame([q.counts() for q in plans]).to_csv(buffer, index=False)
    return buffer.getvalue()
