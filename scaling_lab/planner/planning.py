"""The capacity plan: :func:`plan` runs the sizing steps, :func:`sweep` and :func:`entry_points` run it many times.

:func:`plan` turns a workload (daily active users plus the
``Assumptions``: requests per user, read/write mix, object
sizes, a latency SLO, an availability target, prices) into the architecture
the book arrives at and what it costs per month.  Each tier is sized by the
step of ``scaling_lab.planner.steps`` that carries the rule of the chapter introducing it; the
:class:`Plan` is nothing but those tiers.  :func:`sweep` evaluates plans over
many user counts (through :func:`scaling_lab.core.parallel.parallel_map`, so
inside ``joblib.parallel_config`` it runs on processes or a Dask cluster), and
:func:`entry_points` finds the user count at which each component of the
journey first becomes necessary.

Every entry validates ``assumptions`` and ``**overrides`` the same way
(``resolve_assumptions()``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Mapping

import numpy as np
import pandas as pd

from ..core.parallel import parallel_map
from ..core.validation import check_in_range, check_integer
from .assumptions import Assumptions, resolve_assumptions
from . import steps as _steps
from .steps import COMPONENTS, Tier, item_as_attribute

__all__ = ["Plan", "plan", "sweep", "entry_points"]


@dataclass(frozen=True)
class Plan:
    """The architecture for one workload: the ``Tier`` of every step, by name.

    A tier is also an attribute (``plan.web.count``, ``plan.database.shards``);
    everything else is read off the tiers.
    """

    daily_users: float
    assumptions: Assumptions
    tiers: Mapping[str, Tier]
    steps: tuple = ()
    """The steps that sized the tiers, in order (``STEPS`` when the plan was made)."""

    def __getattr__(self, name):
        return item_as_attribute(self, "tiers", name)

    @property
    def peak_arrival_rate(self) -> float:
        """Requests per second at the daily peak."""
        return self.tiers["traffic"].peak_arrival_rate

    @property
    def machines(self) -> int:
        """Every machine of every tier that runs on machines."""
        return sum(self.tiers[s.name].count for s in self.steps if s.machines)

    @property
    def cost(self) -> dict:
        """Dollars per month by line of the bill."""
        return {s.label: self.tiers[s.name].monthly_cost for s in self.steps if s.priced}

    @property
    def monthly_cost(self) -> float:
        """Total dollars per month."""
        return float(sum(self.cost.values()))

    @property
    def unavailability(self) -> dict:
        """Unavailability of each tier a request crosses in series."""
        return {s.name: self.tiers[s.name].unavailability for s in self.steps if s.in_series}

    @property
    def availability(self) -> float:
        """Availability of the tiers in series, first order: :math:`1 - \\sum_i U_i`."""
        return 1.0 - sum(self.unavailability.values())

    @property
    def meets_availability(self) -> bool:
        """Whether the planned availability reaches the target (True without a target)."""
        target = self.assumptions.availability_target
        return target is None or self.availability >= target - 1e-12

    @property
    def needed(self) -> dict:
        """Which of the journey's components (``COMPONENTS``) this plan uses.

        Every flag but ``read_replicas`` stays on once on as users grow.  Replicas
        per shard follow the shard's load, which halves at every split, so a
        write- or storage-driven split can leave shards without read replicas
        for a while (the total number of database nodes never decreases).
        """
        return {c.key: bool(c.needed(self.tiers[c.step])) for c in COMPONENTS}

    def counts(self) -> dict:
        """The plan as flat numbers (one row of :func:`sweep`)."""
        row = {"daily_users": self.daily_users}
        for s in self.steps:
            t = self.tiers[s.name]
            if s.count_column:
                row[s.count_column] = t.count
            row.update({c: t.values[c] for c in s.columns})
        row.update(machines=self.machines, availability=self.availability, monthly_cost=self.monthly_cost)
        return row

    def report(self) -> str:
        """A readable, multi-line description of the plan (``text_report()``)."""
        from .report import text_report
        return text_report(self)

    def __str__(self) -> str:
        return self.report()


MAX_DAILY_USERS = 1e10
"""Most daily users a plan is drawn for: more people than live on Earth (a judgement; the sizing rules hold
to it, and past it counts such as shards leave the models' ranges)."""

MIN_DAILY_USERS = 1e-6
"""Fewest daily users a plan is drawn for (a judgement: far below one user, and far above the numbers
whose request rates fall below the float range)."""


def _check_users(daily_users, name: str, *, scalar: bool):
    return check_in_range(daily_users, name, MIN_DAILY_USERS, MAX_DAILY_USERS, scalar=scalar)


def _plan(users: float, a: Assumptions) -> Plan:
    tiers: dict[str, Tier] = {}
    for step in _steps.STEPS:
        tiers[step.name] = step(users, a, tiers)
    return Plan(float(users), a, tiers, _steps.STEPS)


def plan(daily_users: float, assumptions: Assumptions | None = None, **overrides) -> Plan:
    """The architecture and monthly cost for ``daily_users`` daily active users.

    Parameters
    ----------
    daily_users : float
        Daily active users, in [10^-6, 10^10] (:data:`MIN_DAILY_USERS`, :data:`MAX_DAILY_USERS`).
    assumptions : Assumptions, optional
        Everything else (defaults: ``Assumptions``).
    **overrides
        Fields of ``Assumptions`` to change, e.g. ``read_fraction=0.99``.

    Returns
    -------
    Plan
        One ``Tier`` per step of ``STEPS``, in order.

    Notes
    -----
    Each step's docstring states its rule; the web tier's, for instance, is

    .. math:: \\lambda = k\\,\\frac{\\mathrm{DAU}\\cdot r}{86\\,400}, \\qquad
              c_{web} = \\min\\{c : T_{q}(\\lambda_{site}, 1/S, c) \\le \\mathrm{SLO}\\},
              \\qquad n_{web} = \\lceil c_{web}/w \\rceil + \\text{spares}.

    References
    ----------
    See ``scaling_lab.planner.steps``.
    """
    users = _check_users(daily_users, "daily_users", scalar=True)
    return _plan(users, resolve_assumptions(assumptions, overrides))


def _row(users: float, a: Assumptions) -> dict:
    p = _plan(users, a)
    return {**p.counts(), **{f"needs_{k}": v for k, v in p.needed.items()}}


def sweep(daily_users, assumptions: Assumptions | None = None, **overrides) -> pd.DataFrame:
    """:meth:`Plan.counts` and :attr:`Plan.needed` for every user count in ``daily_users`` (one row each).

    ``daily_users`` is one number or a 1-D sequence, each in [10^-6, 10^10].  The plans run through
    :func:`scaling_lab.core.parallel.parallel_map`.
    """
    users = np.atleast_1d(np.asarray(_check_users(daily_users, "daily_users", scalar=False), dtype=float))
    if users.ndim != 1:
        raise ValueError(f"daily_users must be one number or a 1-D sequence, got an array of shape {users.shape}")
    a = resolve_assumptions(assumptions, overrides)
    return pd.DataFrame(parallel_map(partial(_row, a=a), [float(u) for u in users]))


def _needed(users: float, a: Assumptions) -> dict:
    return _plan(users, a).needed


MAX_POINTS_PER_DECADE = 100
"""Densest grid :func:`entry_points` evaluates (a judgement: every grid point is a whole plan, and the
bisection refines the entry points to ``rtol`` anyway)."""


def entry_points(assumptions: Assumptions | None = None, *, max_users: float = 1e8,
                 points_per_decade: int = 8, rtol: float = 1e-3, **overrides) -> dict:
    """The smallest daily-user count at which each component of ``COMPONENTS`` is first needed.

    The plan is evaluated on a logarithmic grid from 1 to ``max_users`` (through
    :func:`scaling_lab.core.parallel.parallel_map`); at the first grid point
    where a component appears, bisection on :math:`\\log(\\mathrm{DAU})` narrows
    the entry point to a relative ``rtol``.  A component needed already at one
    user has entry point 1; one never needed up to ``max_users`` (at most
    10^10, :data:`MAX_DAILY_USERS`) has ``None``.  ``points_per_decade`` is at
    most :data:`MAX_POINTS_PER_DECADE`.

    Returns
    -------
    dict
        Component key -> daily users (float) or None.
    """
    top = check_in_range(max_users, "max_users", 1.0, MAX_DAILY_USERS, low_open=True, scalar=True)
    ppd = check_integer(points_per_decade, "points_per_decade", minimum=1, maximum=MAX_POINTS_PER_DECADE,
                        scalar=True)
    # at least 1e-9: the bisection on the ratio hi / lo cannot resolve less than the float spacing
    tol = check_in_range(rtol, "rtol", 1e-9, 1.0, high_open=True, scalar=True)
    a = resolve_assumptions(assumptions, overrides)
    grid = np.logspace(0.0, math.log10(top), max(2, int(math.ceil(math.log10(top) * ppd)) + 1))
    flags = parallel_map(partial(_needed, a=a), [float(u) for u in grid])
    out: dict = {}
    for c in COMPONENTS:
        first = next((i for i, f in enumerate(flags) if f[c.key]), None)
        if first is None or first == 0:
            out[c.key] = None if first is None else 1.0
            continue
        lo, hi = grid[first - 1], grid[first]
        while hi / lo - 1.0 > tol:
            mid = math.sqrt(lo * hi)
            if _plan(mid, a).needed[c.key]:
                hi = mid
            else:
                lo = mid
        out[c.key] = float(hi)
    return out
