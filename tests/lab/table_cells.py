"""Reading the lab report tables back: the numbers in their cells, and the intervals they should hold."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def cell_number(cell: str) -> float:
    """The leading number of a table cell ('1.24 ± 0.10' -> 1.24, '19.6 ± 3.5 %' -> 19.6, '15.3%' -> 0.153)."""
    head = cell.split(" ")[0].replace(",", "")
    return float(head[:-1]) / 100 if head.endswith("%") else float(head)


def cell_half_width(cell: str) -> float:
    """The half-width after '±' ('1.24 ± 0.10' -> 0.10)."""
    return float(cell.split("±")[1].split()[0])


def t_interval(x) -> tuple[float, float]:
    """Mean and 95 % Student t half-width of repeated runs, computed here independently of the report."""
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
