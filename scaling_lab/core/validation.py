"""Argument checks shared by every public function of :mod:`scaling_lab`.

Each helper raises :class:`ValueError` naming the parameter and the allowed
range, and returns the value as a float, an int or a numpy array so that the
caller can use it directly.  They accept scalars and array-likes alike.
"""

from __future__ import annotations

import numbers

import numpy as np
from .arrays import scalar_or_array

__all__ = [
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_open_probability",
    "check_integer",
    "check_in_range",
]


def _as_float_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if np.isnan(arr).any():
        raise ValueError(f"{name} must be a number, got NaN")
    return arr



def check_positive(value, name: str, *, allow_inf: bool = False):
    """Return ``value`` if every element is > 0 (and finite unless ``allow_inf``)."""
    arr = _as_float_array(value, name)
    if (arr <= 0).any() or (not allow_inf and np.isinf(arr).any()):
        upper = "inf]" if allow_inf else "inf)"
        raise ValueError(f"{name} must be in (0, {upper}, got {value!r}")
    return scalar_or_array(arr)


def check_nonnegative(value, name: str, *, allow_inf: bool = False):
    """Return ``value`` if every element is >= 0 (and finite unless ``allow_inf``)."""
    arr = _as_float_array(value, name)
    if (arr < 0).any() or (not allow_inf and np.isinf(arr).any()):
        upper = "inf]" if allow_inf else "inf)"
        raise ValueError(f"{name} must be in [0, {upper}, got {value!r}")
    return scalar_or_array(arr)


def check_probability(value, name: str):
    """Return ``value`` if every element lies in the closed interval [0, 1]."""
    arr = _as_float_array(value, name)
    if ((arr < 0) | (arr > 1)).any():
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return scalar_or_array(arr)


def check_open_probability(value, name: str):
    """Return ``value`` if every element lies in the open interval (0, 1) (quantile levels)."""
    arr = _as_float_array(value, name)
    if ((arr <= 0) | (arr >= 1)).any():
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return scalar_or_array(arr)


def check_in_range(value, name: str, low: float, high: float, *,
                   low_open: bool = False, high_open: bool = False):
    """Return ``value`` if every element lies between ``low`` and ``high``."""
    arr = _as_float_array(value, name)
    bad = (arr <= low) if low_open else (arr < low)
    bad |= (arr >= high) if high_open else (arr > high)
    if bad.any():
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{rb}, got {value!r}")
    return scalar_or_array(arr)


def check_integer(value, name: str, *, minimum: int = 1):
    """Return ``value`` as int (or int64 array) if every element is an integer >= ``minimum``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(value, numbers.Integral):
        if value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        return int(value)
    arr = _as_float_array(value, name)
    if (not np.isfinite(arr).all()) or (arr != np.round(arr)).any() or (arr < minimum).any():
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(arr) if arr.ndim == 0 else arr.astype(np.int64)
