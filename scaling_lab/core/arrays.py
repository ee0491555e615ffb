"""Scalar in, scalar out; array in, array out.

Every vectorised function of :mod:`scaling_lab` returns a Python number when
called with scalars and a numpy array when called with arrays; this is the one
place that decides which.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scalar_or_array", "product_past_range", "proportions"]


def scalar_or_array(x, kind: type = float):
    """``kind(x)`` if ``x`` is zero-dimensional (a number or a 0-d array), else ``x`` as an array.

    With ``kind=float`` an array result is float too; ``int`` and ``bool``
    results keep the array's own dtype.
    """
    x = np.asarray(x, dtype=float) if kind is float else np.asarray(x)
    return kind(x) if x.ndim == 0 else x


def product_past_range(plain, factors, divisors=()) -> np.ndarray:
    """``plain`` where it is finite; elsewhere :math:`\\prod f_i / \\prod d_j` from logarithms.

    For products of nonnegative factors and positive divisors computed in the
    caller's order (``plain``, evaluated under ``np.errstate(over="ignore",
    invalid="ignore")``): where an intermediate step left the float range, the
    product is recomputed as :math:`\\exp(\\sum \\ln f_i - \\sum \\ln d_j)`, which
    is ``inf`` when the true value is past the float range, 0 when a factor is
    0, and the finite value otherwise.  Where ``plain`` is finite it is
    returned unchanged, bit for bit.
    """
    plain = np.asarray(plain, dtype=float)
    bad = ~np.isfinite(plain)
    if not bad.any():
        return plain
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log = sum(np.log(np.asarray(f, dtype=float)) for f in factors)
        log = log - sum(np.log(np.asarray(d, dtype=float)) for d in divisors)
        zero = np.zeros(np.shape(log), dtype=bool)
        for f in factors:
            zero = zero | (np.asarray(f) == 0)
        exact = np.where(zero, 0.0, np.exp(log))
    return np.where(bad, exact, plain)


def proportions(weights) -> np.ndarray:
    """``weights / weights.sum()`` for nonnegative weights with a positive sum, without an overflow warning.

    Where the sum passes the float range it is taken in units of the largest
    weight (the proportions are the same); otherwise the result is
    ``weights / weights.sum()`` bit for bit.
    """
    w = np.asarray(weights, dtype=float)
    with np.errstate(over="ignore"):
        total = w.sum()
    if np.isinf(total):
        w = w / w.max()
        total = w.sum()
    return w / total
