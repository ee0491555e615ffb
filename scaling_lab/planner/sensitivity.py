"""Error bars on a plan: which assumptions move the bill most, and a band from the uncertain inputs.

:func:`sensitivity` is a tornado: every numeric assumption moved by
:math:`\\pm r` (a fraction's complement, e.g. the write or miss share, so that it
stays a fraction), the monthly cost and the machine count at both ends, largest
swing first.  :func:`cost_band` draws the uncertain inputs (the user forecast,
the web service time, the hit ratio) from lognormal distributions around
their planned values and gives quantiles of the bill and of the machines.  Both
run their plans through :func:`scaling_lab.core.parallel.parallel_map`.

References
----------
A. Saltelli et al., *Global Sensitivity Analysis: The Primer*, Wiley, 2008
(one-at-a-time screening and its limits).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import partial

import numpy as np
import pandas as pd

from ..core.parallel import parallel_map
from ..core.validation import check_in_range, check_integer, check_nonnegative, check_positive
from .assumptions import Assumptions, resolve_assumptions
from .planning import _plan

__all__ = ["sensitivity", "CostBand", "cost_band"]

_FRACTIONS = ("read_fraction", "cache_hit_ratio", "slo_quantile", "availability_target", "site_availability",
              "log_sample_rate", "cache_memory_fraction", "max_utilization")


def _moved(a: Assumptions, name: str, factor: float):
    value = getattr(a, name)
    if name in _FRACTIONS:
        return 1.0 - (1.0 - value) * factor
    return value * factor


def _cost_and_machines(change: tuple, users: float, a: Assumptions):
    name, value = change
    try:
        p = _plan(users, replace(a, **{name: value}))
    except ValueError:
        return None
    return p.monthly_cost, p.machines


def sensitivity(daily_users: float, assumptions: Assumptions | None = None, *, rel: float = 0.2,
                names=None, **overrides) -> pd.DataFrame:
    """Tornado table: the bill and the machines with each assumption at :math:`(1 \\mp r)` times its value.

    Fractions (read fraction, hit ratio, availability...) move their complement
    instead (``1 - (1 - x)(1 \\mp r)``).  A value the assumption's check rejects
    leaves that end at the planned value.  Rows are sorted by the cost swing
    :math:`|C_{high} - C_{low}|`.

    Returns
    -------
    pandas.DataFrame
        Columns ``assumption, low, high, cost_low, cost_high, machines_low, machines_high, swing``.
    """
    users = check_positive(daily_users, "daily_users")
    r = check_in_range(rel, "rel", 0.0, 1.0, high_open=True)
    a = resolve_assumptions(assumptions, overrides)
    numeric = [f.name for f in fields(Assumptions)
               if isinstance(getattr(a, f.name), float) and not isinstance(getattr(a, f.name), bool)]
    chosen = numeric if names is None else list(names)
    unknown = sorted(set(chosen) - set(numeric))
    if unknown:
        raise ValueError(f"names must be numeric assumptions ({', '.join(numeric)}), got {unknown}")
    base = _plan(users, a)
    changes = [(n, _moved(a, n, f)) for n in chosen for f in (1 - r, 1 + r)]
    results = parallel_map(partial(_cost_and_machines, users=users, a=a), changes)
    rows = []
    for i, n in enumerate(chosen):
        lo, hi = (results[2 * i] or (base.monthly_cost, base.machines),
                  results[2 * i + 1] or (base.monthly_cost, base.machines))
        rows.append({"assumption": n, "low": changes[2 * i][1], "high": changes[2 * i + 1][1],
                     "cost_low": lo[0], "cost_high": hi[0], "machines_low": lo[1], "machines_high": hi[1],
                     "swing": abs(hi[0] - lo[0])})
    return pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)


@dataclass(frozen=True)
class CostBand:
    """Quantiles of the monthly cost and of the machines over the uncertain inputs (see :func:`cost_band`)."""

    q: tuple
    monthly_cost: tuple
    machines: tuple
    samples: pd.DataFrame


def _sample(item, seed, users: float, a: Assumptions, sd: dict):
    rng = np.random.default_rng(seed)
    draw = {k: float(rng.lognormal(0.0, s)) if s > 0 else 1.0 for k, s in sd.items()}
    hit = 1.0 - (1.0 - a.cache_hit_ratio) * draw["miss_ratio"]
    try:
        b = replace(a, web_service_time_s=a.web_service_time_s * draw["service_time"],
                    cache_hit_ratio=min(max(hit, 0.01), 0.999))
        p = _plan(users * draw["users"], b)
    except ValueError:  # an SLO the drawn service time cannot reach
        return {"daily_users": users * draw["users"], "monthly_cost": np.inf, "machines": np.inf}
    return {"daily_users": p.daily_users, "web_service_time_s": b.web_service_time_s,
            "cache_hit_ratio": b.cache_hit_ratio, "monthly_cost": p.monthly_cost, "machines": p.machines}


def cost_band(daily_users: float, assumptions: Assumptions | None = None, *, n_samples: int = 200,
              seed: int | None = 0, users_sd: float = 0.25, service_time_sd: float = 0.1,
              miss_ratio_sd: float = 0.2, q=(0.05, 0.5, 0.95), **overrides) -> CostBand:
    """Quantiles of the bill when the forecast, the service time and the hit ratio are uncertain.

    Each sample multiplies the daily users, the web service time and the miss
    ratio :math:`1 - h` by independent lognormal factors :math:`e^{\\sigma Z}`
    (``users_sd``, ``service_time_sd``, ``miss_ratio_sd`` are the :math:`\\sigma`:
    0.25 is about ±25 % for one standard deviation), plans it and records the
    cost; ``q`` are the reported quantiles.  Seeded per sample, so the result is
    the same on any backend.
    """
    users = check_positive(daily_users, "daily_users")
    n = check_integer(n_samples, "n_samples", minimum=1)
    sd = {"users": check_nonnegative(users_sd, "users_sd"),
          "service_time": check_nonnegative(service_time_sd, "service_time_sd"),
          "miss_ratio": check_nonnegative(miss_ratio_sd, "miss_ratio_sd")}
    levels = tuple(float(x) for x in np.atleast_1d(check_in_range(q, "q", 0.0, 1.0)))
    a = resolve_assumptions(assumptions, overrides)
    samples = pd.DataFrame(parallel_map(partial(_sample, users=users, a=a, sd=sd), range(n), seed=seed))
    cost = tuple(float(v) for v in np.quantile(samples["monthly_cost"], levels))
    machines = tuple(float(v) for v in np.quantile(samples["machines"], levels))
    return CostBand(levels, cost, machines, samples)
