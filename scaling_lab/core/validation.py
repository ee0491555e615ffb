"""Argument checks shared by every public function of :mod:`scaling_lab`.

Each helper raises :class:`ValueError` naming the parameter and the allowed
range, and returns the value as a float, an int or a numpy array so that the
caller can use it directly.  The rules, the same for every parameter:

* a number is a real number: strings (even ``"1"``), booleans, ``None``,
  complex numbers and other objects are rejected, and so is NaN;
* ``scalar=True`` marks a parameter that takes one number: an array of any
  size, even of one element or none, is rejected;
* otherwise arrays are accepted, but not empty ones unless the caller passes
  ``allow_empty=True`` (and documents that empty in gives empty out);
* integers have an upper bound as well as a lower one, so that no count can
  overflow int64, exhaust memory or run for ever: :data:`MAX_INT` by default,
  :data:`MAX_COUNT` for the counts of a model and :data:`MAX_ELEMENTS` for
  counts that allocate one element each.

Messages show a scalar in full and, for an array, only the first offending
element and the array's shape.
"""

from __future__ import annotations

import numbers
import reprlib

import numpy as np
from .arrays import proportions, scalar_or_array

__all__ = [
    "MAX_INT",
    "MAX_COUNT",
    "MAX_ELEMENTS",
    "check_number",
    "check_finite",
    "check_positive",
    "check_invertible",
    "MIN_INVERTIBLE",
    "check_nonnegative",
    "check_probability",
    "check_open_probability",
    "check_integer",
    "check_in_range",
    "check_fields",
    "check_popularity",
]

MAX_INT = 2**53
"""Default upper bound of :func:`check_integer`: the largest integer a float holds exactly."""

MAX_COUNT = 10**9
"""Upper bound of the counts of a model (servers, users, shards, data centers, replicas).

A judgement: a billion is more machines or shards than one system has, so a
larger count is a unit mistake; below it the models' float arithmetic is exact.
"""

MAX_ELEMENTS = 10**8
"""Upper bound of counts that allocate one element each (requests, items, keys, trials, servers simulated).

A judgement: 10^8 float64 values are 0.8 GB per array, about the most one call
may ask of a laptop.
"""

_NOT_NUMBERS = (str, bytes, bool, np.bool_, type(None), complex, np.complexfloating)


def _fmt(x) -> str:
    """A bound as the reader would write it: 10^9 for powers of ten, 2^53, or the number."""
    if isinstance(x, (int, np.integer)) and x >= 10**6:
        for base in (10, 2):
            e = round(np.log(float(x)) / np.log(base))
            if base**e == x:
                return f"{base}^{e}"
    return f"{x:g}" if isinstance(x, float) else str(x)


def _where(arr: np.ndarray, idx: int) -> str:
    if arr.ndim == 0:
        return ""
    at = tuple(int(i) for i in np.unravel_index(idx, arr.shape))
    return f" (element {at[0] if len(at) == 1 else at} of an array of shape {arr.shape})"


def _show(value, bad: np.ndarray | None = None) -> str:
    """``value`` for a message: a scalar in full, an array as its first offending element and its shape."""
    if not isinstance(value, (np.ndarray, list, tuple)):
        return repr(value)
    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError:  # ragged
        return f"a ragged sequence of length {len(value)}"
    if arr.ndim == 0:
        return repr(arr.item())
    if arr.size == 0:
        return f"an empty array of shape {arr.shape}"
    idx = int(np.flatnonzero(bad)[0]) if bad is not None and np.any(bad) else 0
    item = arr.flat[idx]
    return repr(item.item() if isinstance(item, np.generic) else item) + _where(arr, idx)


def _holds_bool(value: list | tuple) -> bool:
    """True if a list or tuple, nested or not, holds a boolean."""
    return any(_holds_bool(x) if isinstance(x, (list, tuple)) else isinstance(x, (bool, np.bool_)) for x in value)


def check_number(value, name: str, *, scalar: bool = False, allow_empty: bool = False) -> np.ndarray:
    """``value`` as a float array (0-d for a scalar) if it is made of real numbers; ±inf passes.

    Rejects strings, booleans (also inside a list: ``[True, 2.0]``), ``None``, complex numbers and other objects, NaN,
    any array when ``scalar``, and an empty array unless ``allow_empty``.
    """
    what = "a number" if scalar else "a number or an array of numbers"
    if isinstance(value, _NOT_NUMBERS):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, (list, tuple)) and _holds_bool(value):  # numpy would make [True, 2.0] [1.0, 2.0]
        raise ValueError(f"{name} must be {what}, got a sequence holding a boolean: {reprlib.repr(value)}")
    try:
        raw = np.asarray(value)
        if raw.dtype.kind == "O" and any(isinstance(x, _NOT_NUMBERS) for x in raw.flat):
            raise TypeError
        if raw.dtype.kind not in "iufO":
            raise TypeError
        arr = raw.astype(float) if raw.dtype.kind != "f" or raw.dtype != np.float64 else raw
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be {what}, got {_show(value)}") from None
    if scalar and arr.ndim != 0:
        raise ValueError(f"{name} must be a single number, got an array of shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must hold at least one value, got an empty array")
    nan = np.isnan(arr)
    if nan.any():
        raise ValueError(f"{name} must be a number, got NaN{_where(arr, int(np.flatnonzero(nan)[0]))}")
    return arr


_PLAIN = (float, int, np.float64, np.int64)


def _plain(value) -> float | None:
    """``value`` as a float when it is a plain Python or numpy real scalar, else None.

    The checks accept such a scalar without building an array (the planner makes
    thousands of checks per plan); anything else, and every scalar that fails a
    check, takes the array path, which words the error.
    """
    if type(value) in _PLAIN:
        try:
            return float(value)
        except OverflowError:  # an int past the float range: the array path refuses it
            return None
    return None


def _checked(value, name: str, bad: np.ndarray, allowed: str, arr: np.ndarray):
    if bad.any():
        raise ValueError(f"{name} must be {allowed}, got {_show(value, bad)}")
    return scalar_or_array(arr)


def check_finite(value, name: str, *, scalar: bool = False, allow_empty: bool = False):
    """Return ``value`` if every element is a finite real number (of either sign)."""
    if (x := _plain(value)) is not None and -np.inf < x < np.inf:
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    return _checked(value, name, ~np.isfinite(arr), "a finite number", arr)


def check_positive(value, name: str, *, allow_inf: bool = False, scalar: bool = False,
                   allow_empty: bool = False):
    """Return ``value`` if every element is > 0 (and finite unless ``allow_inf``)."""
    if (x := _plain(value)) is not None and 0 < x and (allow_inf or x < np.inf):
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    bad = (arr <= 0) | (False if allow_inf else np.isinf(arr))
    return _checked(value, name, bad, f"in (0, {'inf]' if allow_inf else 'inf)'}", arr)


MIN_INVERTIBLE = float(np.nextafter(1.0 / np.finfo(float).max, 1.0))
"""The least positive number whose reciprocal is finite (about 5.6e-309): a rate from a duration, or back."""


def check_invertible(value, name: str, *, scalar: bool = False, allow_empty: bool = False):
    """Return ``value`` if every element is > 0, finite and has a finite reciprocal (>= :data:`MIN_INVERTIBLE`).

    For a rate that becomes a mean duration (``1 / arrival_rate``) or a duration
    that becomes a rate (``1 / service_time_s``): below ``MIN_INVERTIBLE`` the
    other one would leave the float range.
    """
    if (x := _plain(value)) is not None and MIN_INVERTIBLE <= x < np.inf:
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    bad = (arr < MIN_INVERTIBLE) | np.isinf(arr)
    return _checked(value, name, bad, f"in [{MIN_INVERTIBLE:.4g}, inf) (a finite reciprocal)", arr)


def check_nonnegative(value, name: str, *, allow_inf: bool = False, scalar: bool = False,
                      allow_empty: bool = False):
    """Return ``value`` if every element is >= 0 (and finite unless ``allow_inf``)."""
    if (x := _plain(value)) is not None and 0 <= x and (allow_inf or x < np.inf):
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    bad = (arr < 0) | (False if allow_inf else np.isinf(arr))
    return _checked(value, name, bad, f"in [0, {'inf]' if allow_inf else 'inf)'}", arr)


def check_probability(value, name: str, *, scalar: bool = False, allow_empty: bool = False):
    """Return ``value`` if every element lies in the closed interval [0, 1]."""
    if (x := _plain(value)) is not None and 0 <= x <= 1:
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    return _checked(value, name, (arr < 0) | (arr > 1), "in [0, 1]", arr)


def check_open_probability(value, name: str, *, scalar: bool = False, allow_empty: bool = False):
    """Return ``value`` if every element lies in the open interval (0, 1) (quantile levels)."""
    if (x := _plain(value)) is not None and 0 < x < 1:
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    return _checked(value, name, (arr <= 0) | (arr >= 1), "in (0, 1)", arr)


def check_in_range(value, name: str, low: float, high: float, *,
                   low_open: bool = False, high_open: bool = False, scalar: bool = False,
                   allow_empty: bool = False):
    """Return ``value`` if every element lies between ``low`` and ``high``."""
    if ((x := _plain(value)) is not None and (low < x if low_open else low <= x)
            and (x < high if high_open else x <= high)):
        return x
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    bad = (arr <= low) if low_open else (arr < low)
    bad |= (arr >= high) if high_open else (arr > high)
    if bad.any():
        lb, rb = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lb}{_fmt(low)}, {_fmt(high)}{rb}, got {_show(value, bad)}")
    return scalar_or_array(arr)


def check_integer(value, name: str, *, minimum: int = 1, maximum: int = MAX_INT, scalar: bool = False,
                  allow_empty: bool = False):
    """Return ``value`` as int (or int64 array) if every element is an integer in [``minimum``, ``maximum``].

    Floats with an integer value (``4.0``, ``1e6``) are accepted; booleans are not.
    """
    def refuse(got: str):
        raise ValueError(f"{name} must be an integer in [{_fmt(minimum)}, {_fmt(maximum)}], got {got}")

    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if not minimum <= value <= maximum:
            refuse(repr(value))
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        refuse(repr(value))
    arr = check_number(value, name, scalar=scalar, allow_empty=allow_empty)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < minimum) | (arr > maximum)
    if bad.any():
        refuse(_show(value, bad))
    return int(arr) if arr.ndim == 0 else arr.astype(np.int64)


def check_fields(instance, *, scalar: bool = False, prefix: str = "", **checks) -> None:
    """Replace each named field of the frozen dataclass ``instance`` by its checked value, in order.

    ``check_fields(self, scalar=True, rate=check_positive, delay_s=check_nonnegative)``
    is ``object.__setattr__(self, "rate", check_positive(self.rate, "rate", scalar=True))``
    and the same for ``delay_s``.  Each check is called as
    ``check(value, prefix + field, scalar=scalar)``; bind its other options with
    ``functools.partial`` (``partial(check_integer, minimum=0)``).  The first
    field that fails raises its check's :class:`ValueError`.
    """
    for field, check in checks.items():
        object.__setattr__(instance, field, check(getattr(instance, field), prefix + field, scalar=scalar))


def check_popularity(value, name: str = "popularity") -> np.ndarray:
    """``value`` as probabilities: nonnegative weights with at least one positive, flattened and normalized.

    The weights need not sum to one (counts, or a truncated Zipf law); they are divided by their sum
    (:func:`~scaling_lab.core.arrays.proportions`, which also takes a sum past the float range).
    """
    p = np.asarray(check_nonnegative(value, name), dtype=float).ravel()
    if not p.max() > 0:
        raise ValueError(f"{name} must contain at least one positive value")
    return proportions(p)
