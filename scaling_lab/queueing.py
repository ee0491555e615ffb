"""Exact queues: Erlang B and C, the M/M/c waiting and response-time laws, and M/G/1.

Notation used throughout the book:

* ``arrival_rate`` :math:`\\lambda` (requests per second),
* ``service_rate`` :math:`\\mu` (requests per second one server completes),
* ``servers`` :math:`c` (worker processes, threads, machines...),
* offered load :math:`a = \\lambda/\\mu` (erlangs), utilization :math:`\\rho = a/c`.

Everything here is exact (no approximation; Allen–Cunneen lives in
:mod:`scaling_lab.approximations`, sizing in :mod:`scaling_lab.capacity`) and numerically stable up to
:math:`10^6` servers and utilizations like 0.999999: Erlang B is computed from
the Poisson probability ratio :math:`B = p(c; a) / P(c; a)` with the regularized
incomplete gamma function, and, deep in overload where that ratio underflows,
from the Legendre continued fraction of the upper incomplete gamma function.
No factorials are formed.

References
----------
L. Kleinrock, *Queueing Systems, Volume 1: Theory*, Wiley, 1975, §3.5.
Mor Harchol-Balter, *Performance Modeling and Design of Computer Systems*,
Cambridge University Press, 2013, ch. 14.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .core.validation import (MAX_COUNT, check_fields, check_integer, check_nonnegative, check_open_probability,
                              check_positive)
from .core.arrays import scalar_or_array

__all__ = ["erlang_b", "erlang_c", "MMc", "MG1"]


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """ln(n!) - [(n + 1/2) ln n - n + ln(2π)/2], accurate for n >= 1 (Loader 2000)."""
    n = np.asarray(n, dtype=float)
    big = n > 15
    nb = np.where(big, n, 16.0)
    series = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * nb**2)) / nb**2) / nb**2) / nb**2) / nb
    ns = np.where(big, 1.0, n)
    direct = special.gammaln(ns + 1) - (ns + 0.5) * np.log(ns) + ns - 0.5 * np.log(2 * np.pi)
    return np.where(big, series, direct)


def _poisson_log_pmf(k: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """ln p(k; mean) for integer k >= 1 without the cancellation of k ln(mean) - ln k!.

    Loader's saddle-point form: ln p = -stirlerr(k) - bd0(k, mean) - ln(2πk)/2 with
    bd0 = mean·[(1+d) ln(1+d) - d], d = k/mean - 1.  Relative error ~1e-15 in p
    even for k ~ 10^6 (the naive form loses ~1e-9 there).

    C. Loader, *Fast and accurate computation of binomial probabilities*, 2000.
    """
    big = mean >= 1.0
    m = np.where(big, mean, 1.0)
    d = k / m - 1.0
    bd0 = m * (special.xlog1py(1.0 + d, d) - d)
    loader = -_stirlerr(k) - bd0 - 0.5 * np.log(2 * np.pi * k)
    # For mean < 1 the direct form has no cancellation (and Loader's d would overflow).
    direct = special.xlogy(k, mean) - mean - special.gammaln(k + 1.0)
    return np.where(big, loader, direct)


def _broadcast(x, x_name: str, y, y_name: str, *arrays):
    """``np.broadcast_arrays(*arrays)``, with a ValueError naming both parameters if their shapes clash."""
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        raise ValueError(f"{x_name} and {y_name} must have broadcastable shapes, got "
                         f"{np.shape(x)} and {np.shape(y)}") from None


def _erlang_b_cf(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Erlang B for a > c + 1 from the continued fraction of Γ(c+1, a).

    With s = c + 1, Γ(s, a) = e^{-a} a^s h where h is the Lentz-evaluated
    fraction 1/(a+1-s- 1(1-s)/(a+3-s- ...)); then B = a^c e^{-a}/Γ(s, a) = 1/(a h).
    """
    tiny = 1e-300
    s = c + 1.0
    b = a + 1.0 - s
    cc = np.full_like(a, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(a.shape, dtype=bool)
    for i in range(1, 100_000):
        an = -i * (i - s[active])
        b[active] += 2.0
        dd = an * d[active] + b[active]
        dd = np.where(np.abs(dd) < tiny, tiny, dd)
        cn = b[active] + an / cc[active]
        cn = np.where(np.abs(cn) < tiny, tiny, cn)
        dd = 1.0 / dd
        delta = dd * cn
        d[active] = dd
        cc[active] = cn
        h[active] *= delta
        done = np.abs(delta - 1.0) < 1e-16
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            break
    return 1.0 / (a * h)


def erlang_b(servers, offered_load):
    """Blocking probability of the Erlang loss system M/M/c/c.

    .. math:: B(c, a) = \\frac{a^c / c!}{\\sum_{k=0}^{c} a^k / k!}
              = \\frac{p(c; a)}{P(c; a)}

    where :math:`p` and :math:`P` are the Poisson pmf and cdf with mean
    :math:`a`.  Broadcasts over numpy arrays.

    Parameters
    ----------
    servers : int or array of int
        Number of servers :math:`c \\ge 1`.
    offered_load : float or array
        Offered load :math:`a = \\lambda/\\mu` in erlangs, :math:`a \\ge 0`;
        ``inf`` gives the limit :math:`B = 1`.

    References
    ----------
    A. K. Erlang (1917); the recursion :math:`B(k) = aB(k-1)/(k + aB(k-1))` is
    used in the tests as an independent check.
    """
    c = np.asarray(check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT), dtype=float)
    a = np.asarray(check_nonnegative(offered_load, "offered_load", allow_inf=True), dtype=float)
    c, a = _broadcast(servers, "servers", offered_load, "offered_load", c, a)
    out = np.zeros(c.shape, dtype=float)
    # Far beyond the servers, B = 1 - c/a + O((c/a)^2): exact to rounding, and B = 1 at a = inf.
    huge = a > 1e8 * (c + 1.0)
    with np.errstate(divide="ignore"):
        out[huge] = 1.0 - c[huge] / a[huge]
    # Deep overload: the Poisson cdf underflows, use the continued fraction.
    far = ~huge & (a > c + 2.0 + 8.0 * np.sqrt(c + 1.0))
    near = ~far & ~huge & (a > 0)
    if near.any():
        cn, an = c[near], a[near]
        log_pmf = _poisson_log_pmf(cn, an)
        cdf = special.pdtr(cn, an)
        out[near] = np.exp(log_pmf - np.log(cdf))
    if far.any():
        out[far] = _erlang_b_cf(c[far], a[far])
    return scalar_or_array(np.clip(out, 0.0, 1.0))


def erlang_c(servers, offered_load):
    """Probability that an arrival must wait in an M/M/c queue (Erlang C).

    .. math:: C(c, a) = \\frac{c\\,B(c, a)}{c - a\\,(1 - B(c, a))}, \\qquad a < c

    and :math:`C = 1` when :math:`a \\ge c` (the queue is unstable: everyone
    waits).  Broadcasts over numpy arrays.

    Parameters
    ----------
    servers : int or array of int
        Number of servers :math:`c \\ge 1`.
    offered_load : float or array
        Offered load :math:`a = \\lambda/\\mu` in erlangs.

    References
    ----------
    Kleinrock (1975), eq. 3.40; Harchol-Balter (2013), §14.4.
    """
    b = np.asarray(erlang_b(servers, offered_load), dtype=float)
    c = np.asarray(servers, dtype=float)
    a = np.asarray(offered_load, dtype=float)
    c, a, b = np.broadcast_arrays(c, a, b)
    out = np.ones(c.shape, dtype=float)
    stable = a < c
    cs, as_, bs = c[stable], a[stable], b[stable]
    out[stable] = cs * bs / (cs - as_ * (1.0 - bs))
    return scalar_or_array(np.clip(out, 0.0, 1.0))


def _response_tail_of(mu, theta, c_wait):
    """t -> P(T > t) of M/M/c, unclipped, given μ, θ = cμ - λ and the Erlang C probability (1 where θ <= 0).

    (e^{-θt} - e^{-μt})/(μ - θ) = t e^{-min(θ,μ)t} h(|θ-μ|t) with h(x) = (1 - e^{-x})/x (h(0) = 1):
    no overflow, no cancellation.  What does not depend on t is computed once, for the
    bisection of :meth:`MMc.response_quantile`; call the result under
    ``np.errstate(over="ignore", invalid="ignore", divide="ignore")``.
    """
    slow = np.minimum(np.maximum(theta, 0.0), mu)
    log_mu, gap, stable = np.log(mu), np.abs(theta - mu), theta > 0

    def tail(t):
        # mu t e^{-slow t} in log space: mu t alone overflows for t near the top of the float range.
        decay = np.exp(log_mu + np.log(t) - slow * t)
        x = gap * t
        small = np.abs(x) < 1e-12
        safe = np.where(small, 1.0, x)
        h = np.where(small, 1.0 - x / 2.0, -np.expm1(-safe) / safe)
        return np.where(stable, np.exp(-mu * t) + c_wait * decay * h, 1.0)

    return tail


def _response_tail(t, mu, theta, c_wait):
    """P(T > t) of M/M/c given μ, θ = cμ - λ and the Erlang C probability (see :func:`_response_tail_of`)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.clip(_response_tail_of(mu, theta, c_wait)(t), 0.0, 1.0)


_QUEUE_CHECKS = {"arrival_rate": check_positive, "service_rate": check_positive,
                 "servers": partial(check_integer, minimum=1, maximum=MAX_COUNT),
                 "scv": check_nonnegative, "arrival_scv": check_nonnegative}


class _LittlesLaw:
    """Means that follow from ``mean_wait`` for any queue with ``arrival_rate`` and ``service_rate``.

    Its dataclasses check their fields by name, in the order they are declared.
    """

    def __post_init__(self):
        check_fields(self, **{name: _QUEUE_CHECKS[name] for name in self.__dataclass_fields__})

    @property
    def stable(self):
        """True where the utilization :math:`\\rho < 1`."""
        return scalar_or_array(np.asarray(self.utilization) < 1.0, bool)

    def _load(self):
        """:math:`\\lambda/\\mu` in erlangs; past the float range inf, an unstable queue."""
        with np.errstate(over="ignore"):
            return scalar_or_array(np.asarray(self.arrival_rate) / np.asarray(self.service_rate))

    @property
    def mean_response(self):
        """:math:`E[T] = E[W_q] + 1/\\mu` seconds (inf past the float range)."""
        with np.errstate(over="ignore"):
            return scalar_or_array(np.asarray(self.mean_wait) + 1.0 / np.asarray(self.service_rate))

    @property
    def mean_queue_length(self):
        """:math:`L_q = \\lambda E[W_q]` (Little's law), requests waiting."""
        return scalar_or_array(np.asarray(self.arrival_rate) * np.asarray(self.mean_wait))

    @property
    def mean_in_system(self):
        """:math:`L = \\lambda E[T]` (Little's law), requests waiting or in service."""
        return scalar_or_array(np.asarray(self.arrival_rate) * np.asarray(self.mean_response))


@dataclass(frozen=True)
class MMc(_LittlesLaw):
    """An M/M/c queue with FCFS discipline: Poisson arrivals, exponential service, c servers.

    All attributes broadcast over numpy arrays, so a sweep over arrival rates is
    one object.  Times are in the reciprocal unit of the rates (seconds when the
    rates are per second).  An overloaded queue (``arrival_rate >=
    servers * service_rate``) is not an error: ``stable`` is False and every
    waiting time, quantile and queue length is ``inf``.

    Parameters
    ----------
    arrival_rate : float or array
        :math:`\\lambda`, requests per second, > 0.
    service_rate : float or array
        :math:`\\mu`, requests per second per server, > 0.
    servers : int or array of int
        :math:`c \\ge 1`.

    Notes
    -----
    The waiting time :math:`W_q` is 0 with probability :math:`1 - C` and
    exponential with rate :math:`\\theta = c\\mu - \\lambda` otherwise, so

    .. math:: P(W_q > t) = C e^{-\\theta t}, \\qquad E[W_q] = C/\\theta.

    The response time :math:`T = W_q + S` with :math:`S \\sim \\mathrm{Exp}(\\mu)`
    independent of :math:`W_q` has the exact tail

    .. math:: P(T > t) = e^{-\\mu t} + C\\,\\mu\\,
              \\frac{e^{-\\theta t} - e^{-\\mu t}}{\\mu - \\theta}
              \\quad (\\theta \\ne \\mu), \\qquad e^{-\\mu t}(1 + C\\mu t) \\quad (\\theta = \\mu).

    References
    ----------
    Kleinrock (1975), §3.5; Harchol-Balter (2013), ch. 14; D. Gross et al.,
    *Fundamentals of Queueing Theory*, 4th ed., Wiley, 2008, §2.3.
    """

    arrival_rate: ArrayLike
    service_rate: ArrayLike
    servers: ArrayLike

    # -- basic quantities -------------------------------------------------
    @property
    def offered_load(self):
        """:math:`a = \\lambda/\\mu` in erlangs (mean number of busy servers when stable)."""
        return self._load()

    @property
    def utilization(self):
        """:math:`\\rho = \\lambda/(c\\mu)`; a value >= 1 means the queue is unstable."""
        return scalar_or_array(np.asarray(self.offered_load) / np.asarray(self.servers))

    @property
    def _theta(self) -> np.ndarray:
        """Decay rate of the waiting-time tail, :math:`c\\mu - \\lambda` (<= 0 when unstable)."""
        with np.errstate(over="ignore"):  # c mu beyond the float range is an infinitely fast queue
            return (np.asarray(self.servers) * np.asarray(self.service_rate)
                    - np.asarray(self.arrival_rate))

    @property
    def prob_wait(self):
        """Erlang C: probability an arriving request finds every server busy."""
        return erlang_c(self.servers, self.offered_load)

    # -- means ------------------------------------------------------------
    @property
    def mean_wait(self):
        """:math:`E[W_q] = C/(c\\mu - \\lambda)` seconds; ``inf`` when unstable."""
        theta = self._theta
        # a stable queue whose c mu - lambda is below the float range waits longer than it holds: inf
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w = np.where(theta > 0, np.asarray(self.prob_wait) / np.where(theta > 0, theta, 1.0), np.inf)
        return scalar_or_array(w)

    # -- distributions ----------------------------------------------------
    def prob_wait_exceeds(self, t):
        """:math:`P(W_q > t) = C e^{-(c\\mu-\\lambda)t}` for ``t`` >= 0 seconds."""
        t = np.asarray(check_nonnegative(t, "t"), dtype=float)
        theta = self._theta
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.where(theta > 0, np.asarray(self.prob_wait) * np.exp(-np.maximum(theta, 0) * t), 1.0)
        return scalar_or_array(p)

    def prob_response_exceeds(self, t):
        """:math:`P(T > t)` for ``t`` >= 0 seconds (exact, see the class notes)."""
        t = np.asarray(check_nonnegative(t, "t"), dtype=float)
        mu = np.asarray(self.service_rate, dtype=float)
        return scalar_or_array(_response_tail(t, mu, self._theta, np.asarray(self.prob_wait)))

    def wait_quantile(self, q):
        """The q-quantile of the waiting time in seconds (0 when q <= 1 - C).

        .. math:: w_q = \\max\\left(0, \\frac{\\ln(C/(1-q))}{c\\mu-\\lambda}\\right)
        """
        q = np.asarray(check_open_probability(q, "q"), dtype=float)
        theta = self._theta
        c_wait = np.asarray(self.prob_wait)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.maximum(np.log(c_wait / (1.0 - q)), 0.0) / np.where(theta > 0, theta, 1.0)
            w = np.where(c_wait > 1.0 - q, w, 0.0)
        return scalar_or_array(np.where(theta > 0, w, np.inf))

    def response_quantile(self, q):
        """The q-quantile of the response time in seconds (solves P(T > t) = 1 - q).

        Solved by bisection on the exact tail, vectorized; accurate to about
        1e-12 relative.
        """
        q = np.asarray(check_open_probability(q, "q"), dtype=float)
        mu = np.asarray(self.service_rate, dtype=float)
        theta = self._theta
        c_wait = np.asarray(self.prob_wait)
        q, mu, theta, c_wait = np.broadcast_arrays(q, mu, theta, c_wait)
        stable = theta > 0
        rate = np.where(stable, np.minimum(mu, np.where(stable, theta, 1.0)), 1.0)
        lo = np.zeros(q.shape)
        hi = 2.0 * np.log(2.0 / (1.0 - q)) / rate
        tail, level = _response_tail_of(mu, theta, c_wait), 1.0 - q
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                above = tail(mid) > level
                lo = np.where(above, mid, lo)
                hi = np.where(above, hi, mid)
                if np.all(hi - lo <= 1e-13 * hi):
                    break
        return scalar_or_array(np.where(stable, 0.5 * (lo + hi), np.inf))

    def __repr__(self) -> str:
        return (f"MMc(arrival_rate={self.arrival_rate!r}, service_rate={self.service_rate!r}, "
                f"servers={self.servers!r})")


class _DelayedMMc:
    """A model whose latency is a fixed delay :math:`D` plus the response time :math:`T` of its M/M/c ``queue``."""

    @property
    def stable(self) -> bool:
        """True while the queue keeps up (:math:`\\rho < 1`)."""
        return bool(self.queue.stable)

    def _quantile_after(self, delay_s: float, q):
        """The q-quantile of :math:`D + T` in seconds, :math:`D + t_q`, for ``q`` in (0, 1)."""
        q = check_open_probability(q, "q")
        return scalar_or_array(delay_s + np.asarray(self.queue.response_quantile(q)))


@dataclass(frozen=True)
class MG1(_LittlesLaw):
    """An M/G/1 queue: Poisson arrivals, one FCFS server, any service-time distribution.

    The mean wait is the Pollaczek–Khinchine formula

    .. math:: E[W_q] = \\frac{\\lambda E[S^2]}{2(1-\\rho)}
              = \\frac{\\rho}{1-\\rho}\\,\\frac{1 + c_s^2}{2}\\,E[S],

    exact for any service distribution with squared coefficient of variation
    :math:`c_s^2 = \\mathrm{Var}[S]/E[S]^2` (0 deterministic, 1 exponential,
    > 1 heavy tailed).  Broadcasts over numpy arrays; unstable -> ``inf``.

    Parameters
    ----------
    arrival_rate : float or array
        :math:`\\lambda`, requests per second, > 0.
    service_rate : float or array
        :math:`\\mu = 1/E[S]`, requests per second, > 0.
    scv : float or array
        :math:`c_s^2 \\ge 0`.

    References
    ----------
    Kleinrock (1975), §5.6, eq. 5.72; Harchol-Balter (2013), ch. 23.
    """

    arrival_rate: ArrayLike
    service_rate: ArrayLike
    scv: ArrayLike = 1.0

    @property
    def utilization(self):
        """:math:`\\rho = \\lambda/\\mu`."""
        return self._load()

    @property
    def prob_wait(self):
        """:math:`P(W_q > 0) = \\rho` (exact for M/G/1: PASTA); 1 when unstable."""
        return scalar_or_array(np.minimum(np.asarray(self.utilization), 1.0))

    @property
    def mean_wait(self):
        """Pollaczek–Khinchine mean wait, seconds; ``inf`` when unstable."""
        rho = np.asarray(self.utilization, dtype=float)
        with np.errstate(over="ignore"):  # a rate below the float range: an infinite service time (unstable)
            es = 1.0 / np.asarray(self.service_rate, dtype=float)
        ok = rho < 1.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w = np.where(ok, rho / np.where(ok, 1.0 - rho, 1.0) * ((1.0 + np.asarray(self.scv)) / 2.0 * es), np.inf)
        return scalar_or_array(w)
