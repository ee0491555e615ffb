"""Tail latency at scale: fan-out, maxima, hedged requests, and merging percentiles.

A request that waits for :math:`k` backends is as slow as the slowest one.  If
each is slow (beyond its p99, say) with probability :math:`p`, the request is
slow with probability :math:`1 - (1-p)^k`: 63 % for :math:`p = 0.01`,
:math:`k = 100`.  Its latency quantiles are those of the maximum of :math:`k`
draws, :math:`F_{\\max}^{-1}(q) = F^{-1}(q^{1/k})`.  Hedged requests (send a
second copy after a delay) cut the tail at the price of extra load.
Percentiles of different servers or periods cannot be averaged; they must be
recomputed from merged histograms.

References
----------
J. Dean and L. A. Barroso, *The tail at scale*, Communications of the ACM
56(2), 2013.
G. Tene, *HdrHistogram* (log-bucketed latency histograms), 2012.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import integrate, optimize, special

from .core.validation import (MAX_COUNT, MAX_ELEMENTS, check_fields, check_in_range, check_integer, check_nonnegative,
                              check_open_probability, check_positive, check_probability)
from .core.arrays import product_past_range, scalar_or_array

__all__ = [
    "fanout_slow_probability",
    "per_backend_quantile_needed",
    "max_of_k_quantile",
    "max_of_k_exponential_quantile",
    "max_of_k_lognormal_quantile",
    "max_of_k_exponential_mean",
    "HedgedRequest",
    "log_bucket_edges",
    "histogram",
    "merge_histograms",
    "quantile_from_histogram",
    "daily_volume_bytes",
    "pooled_response_quantile",
    "slow_request_shares",
]



def fanout_slow_probability(p_slow, k):
    """Probability that at least one of ``k`` independent backends is slow.

    .. math:: P = 1 - (1 - p)^k, \\text{ computed as } -\\mathrm{expm1}(k\\,\\mathrm{log1p}(-p))

    Parameters
    ----------
    p_slow : float or array
        :math:`p`, probability one backend call is slow, in [0, 1].
    k : int or array
        Fan-out :math:`k \\ge 1`.

    References
    ----------
    Dean and Barroso (2013).
    """
    p = np.asarray(check_probability(p_slow, "p_slow"), dtype=float)
    k = np.asarray(check_integer(k, "k", minimum=1, maximum=MAX_COUNT), dtype=float)
    safe = np.where(p >= 1, 0.0, p)
    return scalar_or_array(np.where(p >= 1, 1.0, -np.expm1(k * np.log1p(-safe))))


def per_backend_quantile_needed(q, k):
    """Backend quantile level that makes the max of ``k`` backends meet level ``q``: :math:`q^{1/k}`.

    E.g. a p99 target over 100 backends needs each backend's p99.99.
    """
    q = np.asarray(check_open_probability(q, "q"), dtype=float)
    k = np.asarray(check_integer(k, "k", minimum=1, maximum=MAX_COUNT), dtype=float)
    return scalar_or_array(np.exp(np.log(q) / k))


def _max_level_tail(q, k):
    """1 - q^{1/k} without cancellation."""
    q = np.asarray(check_open_probability(q, "q"), dtype=float)
    k = np.asarray(check_integer(k, "k", minimum=1, maximum=MAX_COUNT), dtype=float)
    return -np.expm1(np.log(q) / k)


def max_of_k_quantile(q, k, quantile_function: Callable, *, survival_quantile: Callable | None = None):
    """The q-quantile of the maximum of ``k`` i.i.d. draws.

    .. math:: F_{\\max}^{-1}(q) = F^{-1}\\left(q^{1/k}\\right)

    Parameters
    ----------
    q : float or array
        Level in (0, 1).
    k : int
        Number of draws, >= 1.
    quantile_function : callable
        :math:`F^{-1}`, e.g. a frozen scipy distribution's ``ppf``.
    survival_quantile : callable, optional
        :math:`x \\mapsto F^{-1}(1 - x)` (scipy's ``isf``); used when given,
        keeping precision when :math:`q^{1/k}` is within 1e-12 of 1.

    References
    ----------
    H. A. David and H. N. Nagaraja, *Order Statistics*, 3rd ed., Wiley, 2003, §2.1.
    """
    tail = _max_level_tail(q, k)
    if survival_quantile is not None:
        return scalar_or_array(survival_quantile(tail))
    return scalar_or_array(quantile_function(1.0 - tail))


def max_of_k_exponential_quantile(q, k, service_rate):
    """q-quantile of the max of ``k`` exponentials of rate ``service_rate``: :math:`-\\ln(1 - q^{1/k})/\\lambda`."""
    r = check_positive(service_rate, "service_rate")
    with np.errstate(over="ignore"):  # a rate below the float range: an infinite quantile, its limit
        return scalar_or_array(-np.log(_max_level_tail(q, k)) / r)


def max_of_k_exponential_mean(k, service_rate):
    """Mean of the max of ``k`` exponentials: :math:`H_k/\\lambda` (harmonic number; grows like :math:`\\ln k`)."""
    k = np.asarray(check_integer(k, "k", minimum=1, maximum=MAX_COUNT), dtype=float)
    r = check_positive(service_rate, "service_rate")
    with np.errstate(over="ignore"):  # a rate below the float range: an infinite mean, its limit
        return scalar_or_array((special.digamma(k + 1) + np.euler_gamma) / r)


def max_of_k_lognormal_quantile(q, k, median_s, sigma):
    """q-quantile of the max of ``k`` lognormals with the given median and log-sd.

    .. math:: m\\,\\exp\\left(\\sigma\\,\\Phi^{-1}(q^{1/k})\\right)
    """
    m = check_positive(median_s, "median_s")
    s = check_positive(sigma, "sigma")
    z = -special.ndtri(_max_level_tail(q, k))  # the standard normal quantile of the upper tail 1 - q^(1/k)
    with np.errstate(over="ignore"):  # exp past the float range: the quantile is inf (z > 0) or 0 (z < 0)
        return scalar_or_array(m * np.exp(s * z))


@dataclass(frozen=True)
class HedgedRequest:
    """A request sent to one backend and, if unanswered after ``delay_s``, to a second.

    The response time is :math:`R = \\min(X_1, d + X_2)` with :math:`X_1, X_2`
    i.i.d. (independent backends, cancellation ignored), so

    .. math:: P(R > t) = \\bar F(t) \\; (t < d), \\qquad
              P(R > t) = \\bar F(t)\\,\\bar F(t - d) \\; (t \\ge d),

    and the extra load is the fraction of requests that send a hedge,
    :math:`\\bar F(d)`.  Dean and Barroso hedge at the p95: 5 % more requests.

    Parameters
    ----------
    distribution : scipy frozen distribution
        Latency of one backend call, seconds (must have ``sf`` and ``isf``).
    delay_s : float
        Hedge delay :math:`d` >= 0.

    References
    ----------
    Dean and Barroso (2013).
    """

    distribution: object
    delay_s: float

    def __post_init__(self):
        check_fields(self, scalar=True, delay_s=check_nonnegative)
        for attr in ("sf", "isf"):
            if not callable(getattr(self.distribution, attr, None)):
                raise ValueError(f"distribution must provide {attr}() (a frozen scipy distribution)")

    def _sf(self, t):
        """The distribution's survival function; a time whose standardized value passes the float range has
        :math:`\\bar F = 0` (its limit), without scipy's overflow warning."""
        with np.errstate(over="ignore"):
            return self.distribution.sf(t)

    @property
    def extra_load(self) -> float:
        """Fraction of requests that send a second copy, :math:`\\bar F(d)`."""
        return float(self._sf(self.delay_s))

    def survival(self, t):
        """:math:`P(R > t)` for ``t`` >= 0 seconds."""
        t = np.asarray(check_nonnegative(t, "t"), dtype=float)
        d = self.delay_s
        sf = self._sf
        return scalar_or_array(np.where(t < d, sf(t), sf(t) * sf(np.maximum(t - d, 0.0))))

    def quantile(self, q):
        """The q-quantile of :math:`R` in seconds (root of :math:`P(R > t) = 1 - q`)."""
        q = np.asarray(check_open_probability(q, "q"), dtype=float)
        out = []
        for level in q.ravel():
            target = 1.0 - level
            hi = float(self.distribution.isf(target)) + 1e-12  # R <= X1
            if self.survival(0.0) <= target:
                out.append(0.0)
                continue
            out.append(optimize.brentq(lambda t: self.survival(t) - target, 0.0, hi, xtol=1e-14, rtol=1e-12))
        return scalar_or_array(np.array(out).reshape(q.shape))

    @property
    def mean(self) -> float:
        """:math:`E[R] = \\int_0^\\infty P(R > t)\\,dt` seconds (numerical quadrature)."""
        d = self.delay_s
        first = integrate.quad(lambda t: float(self._sf(t)), 0.0, d)[0] if d > 0 else 0.0
        second = integrate.quad(lambda t: float(self.survival(t)), d, np.inf, limit=200)[0]
        return first + second


# ---------------------------------------------------------------------------
# Histograms: the right way to combine percentiles
# ---------------------------------------------------------------------------
def log_bucket_edges(min_s: float, max_s: float, buckets_per_decade: int = 100) -> np.ndarray:
    """Logarithmically spaced bucket edges from ``min_s`` to ``max_s`` (HdrHistogram-like).

    With :math:`b` buckets per decade the relative width of a bucket is
    :math:`10^{1/b} - 1` (2.3 % for 100), which bounds the relative error of
    any quantile read from the histogram.
    """
    lo = check_positive(min_s, "min_s", scalar=True)
    hi = check_positive(max_s, "max_s", scalar=True)
    if hi <= lo:
        raise ValueError(f"max_s must be > min_s = {lo}, got {max_s!r}")
    b = check_integer(buckets_per_decade, "buckets_per_decade", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    decades = np.log10(hi / lo) if hi / lo < np.inf else np.log10(hi) - np.log10(lo)
    if decades * b > MAX_ELEMENTS:
        raise ValueError(f"max_s / min_s spans {decades:.3g} decades: at buckets_per_decade={b} that is more than "
                         f"{MAX_ELEMENTS:.0e} edges; raise min_s, lower max_s or buckets_per_decade")
    n = int(np.ceil(decades * b))
    k = np.arange(n + 1) / b
    with np.errstate(over="ignore"):  # near the top of the float range: 10^(log10 min_s + k), the last edge inf
        edges = lo * np.power(10.0, k)
        return np.where(np.isfinite(edges), edges, np.power(10.0, np.log10(lo) + k))


def histogram(samples_s, edges) -> np.ndarray:
    """Counts of ``samples_s`` in the buckets given by ``edges``; values outside go to the end buckets."""
    x = np.asarray(check_nonnegative(samples_s, "samples_s"), dtype=float).ravel()
    e = _check_edges(edges)
    idx = np.clip(np.searchsorted(e, x, side="right") - 1, 0, len(e) - 2)
    return np.bincount(idx, minlength=len(e) - 1)


def merge_histograms(*counts) -> np.ndarray:
    """Merge histograms with the same bucket edges by adding their counts.

    This is exact: the merged histogram is the histogram of the pooled samples,
    from which any quantile can be read.  Averaging per-server percentiles is
    not: the p99 of the pool is not the mean (or any fixed function) of the
    servers' p99s.
    """
    if not counts:
        raise ValueError("give at least one histogram")
    arrs = [np.asarray(check_nonnegative(c, f"counts[{i}]"), dtype=float) for i, c in enumerate(counts)]
    if len({a.shape for a in arrs}) != 1:
        raise ValueError("histograms must have the same bucket edges (same number of buckets)")
    return np.sum(arrs, axis=0)


def quantile_from_histogram(edges, counts, q):
    """The q-quantile of a histogram, interpolating linearly inside the bucket.

    The error is at most one bucket width (a relative error of
    :math:`10^{1/b} - 1` with :func:`log_bucket_edges`).
    """
    e = _check_edges(edges)
    c = np.asarray(check_nonnegative(counts, "counts"), dtype=float)
    if c.shape != (len(e) - 1,):
        raise ValueError(f"counts must have len(edges) - 1 = {len(e) - 1} entries, got {c.shape}")
    with np.errstate(over="ignore"):
        total = c.sum()
    if np.isinf(total):  # the quantile depends on the counts' proportions only: count in units of the largest
        c = c / c.max()
        total = c.sum()
    if total <= 0:
        raise ValueError("counts must not be all zero")
    q = np.asarray(check_probability(q, "q"), dtype=float)
    cum = np.concatenate(([0.0], np.cumsum(c)))
    target = q * total
    i = np.clip(np.searchsorted(cum, target, side="left") - 1, 0, len(c) - 1)
    frac = np.where(c[i] > 0, (target - cum[i]) / np.where(c[i] > 0, c[i], 1.0), 0.0)
    return scalar_or_array(e[i] + np.clip(frac, 0.0, 1.0) * (e[i + 1] - e[i]))


def _check_edges(edges) -> np.ndarray:
    e = np.asarray(check_nonnegative(edges, "edges"), dtype=float).ravel()
    if e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be at least two strictly increasing values")
    return e


def daily_volume_bytes(events_per_s, bytes_per_event):
    """Bytes per day written by ``events_per_s`` log lines / metric samples of ``bytes_per_event`` bytes.

    .. math:: V = r \\times s \\times 86\\,400

    E.g. 10 000 requests/s with one 500-byte access-log line each is 432 GB/day.
    """
    r = np.asarray(check_nonnegative(events_per_s, "events_per_s"), dtype=float)
    s = np.asarray(check_nonnegative(bytes_per_event, "bytes_per_event"), dtype=float)
    with np.errstate(over="ignore"):  # past the float range the volume is inf
        return scalar_or_array(product_past_range(r * s * 86_400.0, (r, s, 86_400.0)))


def _pool(arrival_rates, service_rate, servers, weights):
    from .queueing import MMc

    rates = np.asarray(check_nonnegative(arrival_rates, "arrival_rates"), dtype=float).ravel()
    mu = check_in_range(service_rate, "service_rate", 0.0, 1e12, low_open=True, scalar=True)
    c = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    if rates.max() >= 1e300:
        raise ValueError("arrival_rates must be below 1e300 requests per second")
    w = rates if weights is None else np.asarray(check_nonnegative(weights, "weights"), dtype=float).ravel()
    with np.errstate(over="ignore"):  # a sum past the float range is refused by name, without a warning
        w_total = w.sum()
    if w.shape != rates.shape or not w_total > 0 or not np.isfinite(w_total):
        what = "weights" if weights is not None else "arrival_rates (the weights by default)"
        raise ValueError(f"{what} must hold one non-negative value per server ({rates.size}), "
                         "with a positive finite sum")
    queues = MMc(rates, float(mu), c)
    stable = np.asarray(queues.stable, dtype=bool)

    def tails(t):
        out = np.ones(rates.shape)
        if stable.any():
            sub = MMc(rates[stable], float(mu), c)
            out[stable] = np.asarray(sub.prob_response_exceeds(np.full(int(stable.sum()), t)))
        return out

    return queues, stable, w / w.sum(), tails


def pooled_response_quantile(q: float, arrival_rates, service_rate: float, servers: int, *, weights=None) -> float:
    """The q-quantile of all requests of several M/M/c servers taken together (seconds).

    The pool's response time is a mixture: a request comes from server
    :math:`i` with probability :math:`w_i` (by default its share of the
    requests, :math:`\\lambda_i/\\sum_j \\lambda_j`), so the pooled quantile
    :math:`t_q` solves

    .. math:: \\sum_i w_i\\,P(T_i > t_q) = 1 - q,

    which is neither the mean nor the median of the servers' own quantiles.
    Solved by bracketing between 0 and the largest server's quantile.  A
    server at or above capacity has an infinite response time; the pooled
    quantile is infinite when such servers carry at least :math:`1 - q` of
    the weight.

    Parameters
    ----------
    q : float
        Quantile level in (0, 1).
    arrival_rates : array
        :math:`\\lambda_i \\ge 0` of each server, requests per second.
    service_rate : float
        :math:`\\mu > 0` per worker, the same for every server.
    servers : int
        Workers :math:`c \\ge 1` per server.
    weights : array, optional
        Share of the pooled requests from each server (default the arrival rates).

    References
    ----------
    M. Harchol-Balter, *Performance Modeling and Design of Computer Systems*,
    Cambridge, 2013 (mixtures); G. Tene, *HdrHistogram* (merging, not averaging, quantiles).
    """
    level = check_open_probability(q, "q", scalar=True)
    queues, stable, w, tails = _pool(arrival_rates, service_rate, servers, weights)
    if w[~stable].sum() >= 1.0 - level:
        return math.inf
    target = 1.0 - level
    each = np.asarray(queues.response_quantile(np.full(stable.shape, level)), dtype=float)
    high = float(np.max(each[stable])) if stable.any() else 1.0
    f = lambda t: float(np.dot(w, tails(t))) - target
    while f(high) > 0:
        high *= 2.0
    if f(0.0) <= 0:
        return 0.0
    return float(optimize.brentq(f, 0.0, high, xtol=1e-12, rtol=1e-12))


def slow_request_shares(t: float, arrival_rates, service_rate: float, servers: int, *, weights=None) -> np.ndarray:
    """Which servers the pool's slow requests come from: each server's share of the requests slower than ``t``.

    .. math:: \\frac{w_i\\,P(T_i > t)}{\\sum_j w_j\\,P(T_j > t)}

    with the weights of :func:`pooled_response_quantile`.  At :math:`t` = the
    pool's p99 it shows how few servers make the tail.

    Parameters
    ----------
    t : float
        Response time in seconds, >= 0.
    arrival_rates, service_rate, servers, weights
        As :func:`pooled_response_quantile`.
    """
    t0 = check_nonnegative(t, "t", scalar=True)
    _, _, w, tails = _pool(arrival_rates, service_rate, servers, weights)
    slow = w * tails(float(t0))
    total = slow.sum()
    return slow / total if total > 0 else np.zeros_like(slow)
