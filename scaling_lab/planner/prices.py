"""Cloud list prices the planner reads: instance sizes and tiered data transfer (``scaling_lab/data/``).

:func:`load_instance_prices` gives every size of three instance families with
its vCPUs, memory and hourly price; :func:`tiered_transfer_cost` prices a
month's gigabytes against a tiered table (each tier's price applies only to the
gigabytes inside it, as cloud bills do).  Sources and dates are in
``scaling_lab/data/README.md``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..core.validation import check_nonnegative

__all__ = ["HOURS_PER_MONTH", "load_instance_prices", "load_transfer_prices", "instance", "family_sizes",
           "tiered_transfer_cost"]

HOURS_PER_MONTH = 365.25 * 24 / 12  # 730.5 hours


def _read(name: str) -> pd.DataFrame:
    with resources.files("scaling_lab.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


@lru_cache(maxsize=None)
def load_instance_prices() -> pd.DataFrame:
    """Instance sizes of the c6i, m6i and r6i families: vCPUs, memory (GiB), dollars per hour and per month."""
    table = _read("instance_prices.csv")
    table["usd_per_month"] = table["usd_per_hour"] * HOURS_PER_MONTH
    return table


@lru_cache(maxsize=None)
def load_transfer_prices() -> pd.DataFrame:
    """Tiered dollars per GB by service (``egress``, ``cdn``, ``inter_region``), tiers in TB per month."""
    return _read("transfer_prices.csv")


@lru_cache(maxsize=None)
def instance(name: str):
    """One instance type (e.g. ``"c6i.xlarge"``): a row with ``vcpu``, ``memory_gib``, ``usd_per_month``..."""
    rows = {row.instance: row for row in load_instance_prices().itertuples(index=False)}
    if name not in rows:
        raise ValueError(f"instance must be one of {sorted(rows)}, got {name!r}")
    return rows[name]


@lru_cache(maxsize=None)
def family_sizes(family: str) -> tuple:
    """Every size of ``family`` (``"c6i"``, ``"m6i"``, ``"r6i"``), smallest first, as rows like :func:`instance`."""
    table = load_instance_prices()
    if family not in set(table["family"]):
        raise ValueError(f"family must be one of {sorted(set(table['family']))}, got {family!r}")
    return tuple(table[table["family"] == family].sort_values("vcpu").itertuples(index=False))


def tiered_transfer_cost(gb_per_month: float, service: str) -> float:
    """Dollars for ``gb_per_month`` GB under the tiered prices of ``service``.

    .. math:: C(V) = \\sum_i p_i\\,\\big(\\min(V, b_{i+1}) - b_i\\big)^+

    with tier boundaries :math:`b_i` (1 TB = 1000 GB) and prices :math:`p_i`.
    """
    v = check_nonnegative(gb_per_month, "gb_per_month")
    low, high, usd_per_gb = _transfer_tiers(service)
    inside = np.clip(np.minimum(v, high) - low, 0.0, None)
    return float(inside @ usd_per_gb)


@lru_cache(maxsize=None)
def _transfer_tiers(service: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tier boundaries in GB (from, to) and dollars per GB of ``service``, read once."""
    table = load_transfer_prices()
    tiers = table[table["service"] == service]
    if tiers.empty:
        raise ValueError(f"service must be one of {sorted(set(table['service']))}, got {service!r}")
    return (tiers["from_tb"].to_numpy(float) * 1e3, tiers["to_tb"].to_numpy(float) * 1e3,
            tiers["usd_per_gb"].to_numpy(float))

