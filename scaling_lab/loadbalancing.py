"""Load-balancing limits: the supermarket model of power-of-d choices.

:math:`N` identical FCFS servers with exponential service of rate 1 receive a
Poisson stream of rate :math:`\\lambda N` (load :math:`\\lambda < 1` per
server).  Each request samples :math:`d` servers uniformly at random and joins
the one with the fewest requests.  As :math:`N \\to \\infty` the fraction
:math:`s_i` of servers holding at least :math:`i` requests follows

.. math:: \\frac{ds_i}{dt} = \\lambda\\,(s_{i-1}^d - s_i^d) - (s_i - s_{i+1}),
          \\qquad s_0 = 1,

whose unique fixed point is

.. math:: s_i = \\lambda^{\\frac{d^i - 1}{d - 1}} \\quad (d \\ge 2), \\qquad
          s_i = \\lambda^i \\quad (d = 1).

The mean number of requests per server is :math:`\\sum_{i \\ge 1} s_i` and, by
Little's law, the mean time in system is
:math:`E[T] = \\frac{1}{\\lambda}\\sum_{i\\ge1} s_i`: :math:`1/(1-\\lambda)` for
random assignment (M/M/1) but only doubly-exponentially decaying tails for
:math:`d \\ge 2` — the "power of two choices".  Finite pools are simulated with
:func:`scaling_lab.simulation.drivers.simulate_pool` (policy ``"power_of_d"``).

References
----------
M. Mitzenmacher, *The power of two choices in randomized load balancing*,
IEEE Trans. Parallel and Distributed Systems 12(10), 2001.
N. D. Vvedenskaya, R. L. Dobrushin and F. I. Karpelevich, *Queueing system
with selection of the shortest of two queues: an asymptotic approach*,
Problems of Information Transmission 32(1), 1996.
"""

from __future__ import annotations

import numpy as np

from .core.validation import MAX_COUNT, check_integer, check_nonnegative
from .core.arrays import scalar_or_array

__all__ = ["mean_field_tail", "mean_field_queue_length", "mean_field_response_time"]

_MAX_TERMS = 200_000


def mean_field_tail(load, choices: int, i):
    """Fraction of servers with at least ``i`` requests in the mean-field limit.

    .. math:: s_i = \\lambda^{(d^i - 1)/(d - 1)} \\; (d \\ge 2), \\qquad s_i = \\lambda^i \\; (d = 1)

    Parameters
    ----------
    load : float or array
        :math:`\\lambda` per server, in [0, 1).
    choices : int
        :math:`d \\ge 1` servers sampled per request.
    i : int or array of int
        Queue length, >= 0.

    References
    ----------
    Mitzenmacher (2001), Theorem 3.
    """
    lam = np.asarray(check_nonnegative(load, "load"), dtype=float)
    d = check_integer(choices, "choices", minimum=1, maximum=MAX_COUNT, scalar=True)
    i = np.asarray(check_integer(i, "i", minimum=0, maximum=MAX_COUNT), dtype=float)
    if np.any(lam >= 1):
        raise ValueError(f"load must be in [0, 1) for a stationary tail, got {load!r}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        expo = i if d == 1 else np.expm1(i * np.log(d)) / (d - 1)
        out = np.where(expo == 0, 1.0, np.exp(expo * np.log(np.where(lam > 0, lam, 1.0))))
        out = np.where((lam == 0) & (expo > 0), 0.0, out)
    return scalar_or_array(out)


def _sum_tail(lam: float, d: int) -> float:
    """sum_{i>=1} lambda^{(d^i - d)/(d - 1)}, i.e. E[T] for d >= 2."""
    if lam == 0.0:
        return 1.0
    log_lam = np.log(lam)
    total, i = 0.0, 1
    while True:
        expo = (d**i - d) / (d - 1)
        term = np.exp(expo * log_lam)
        total += term
        if term < 1e-18 * total or i > 64:
            return total
        i += 1


def mean_field_response_time(load, choices: int):
    """Mean time in system of the supermarket model, service rate 1.

    .. math:: E[T] = \\frac{1}{1 - \\lambda} \\;(d = 1), \\qquad
              E[T] = \\sum_{i \\ge 1} \\lambda^{\\frac{d^i - d}{d - 1}} \\;(d \\ge 2)

    The series converges doubly exponentially (about
    :math:`\\log_d \\ln(1/(1-\\lambda))` + a few terms).  Multiply by the mean
    service time for seconds.  ``load >= 1`` is overload: ``inf``.

    Parameters
    ----------
    load : float or array
        :math:`\\lambda` per server, >= 0.
    choices : int
        :math:`d \\ge 1`.

    Returns
    -------
    float or numpy.ndarray
        Mean response time in units of the mean service time.

    References
    ----------
    Mitzenmacher (2001), §3; Vvedenskaya, Dobrushin and Karpelevich (1996).
    """
    lam = np.asarray(check_nonnegative(load, "load"), dtype=float)
    d = check_integer(choices, "choices", minimum=1, maximum=MAX_COUNT, scalar=True)
    flat = lam.ravel()
    out = np.full(flat.shape, np.inf)
    ok = flat < 1
    if d == 1:
        out[ok] = 1.0 / (1.0 - flat[ok])
    else:
        out[ok] = [_sum_tail(float(x), d) for x in flat[ok]]
    out = out.reshape(lam.shape)
    return scalar_or_array(out)


def mean_field_queue_length(load, choices: int):
    """Mean number of requests per server, :math:`\\sum_{i\\ge1} s_i = \\lambda E[T]` (Little)."""
    t = np.asarray(mean_field_response_time(load, choices))
    out = np.asarray(load, dtype=float) * t
    return scalar_or_array(out)
