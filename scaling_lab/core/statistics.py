"""Confidence intervals for a correlated series of observations (batch means).

References
----------
A. M. Law, *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill, 2015, §9.5.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .validation import MAX_COUNT, check_finite, check_integer, check_open_probability

__all__ = ["batch_means_ci"]


def batch_means_ci(samples: np.ndarray, n_batches: int = 30, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of ``samples`` and the half-width of its confidence interval by batch means.

    The series is cut into ``n_batches`` consecutive batches; their means are
    treated as independent normal observations (Student t interval).
    """
    samples = np.atleast_1d(np.asarray(check_finite(samples, "samples"), dtype=float)).ravel()
    n_batches = check_integer(n_batches, "n_batches", minimum=2, maximum=MAX_COUNT, scalar=True)
    confidence = float(check_open_probability(confidence, "confidence", scalar=True))
    size = len(samples) // n_batches
    if size < 1:
        raise ValueError(f"samples must hold at least n_batches={n_batches} values, got {len(samples)}")
    exp = int(np.frexp(np.max(np.abs(samples)))[1])  # scaled by a power of two: exact, and sums cannot overflow
    x = np.ldexp(samples, -exp)
    means = x[: size * n_batches].reshape(n_batches, size).mean(axis=1)
    half = stats.t.ppf(0.5 + confidence / 2, n_batches - 1) * means.std(ddof=1) / np.sqrt(n_batches)
    return float(np.ldexp(x.mean(), exp)), float(np.ldexp(half, exp))

