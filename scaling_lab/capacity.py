"""Capacity: how many servers a load needs, how much load servers carry, pooling, N+1 headroom.

Sizing inverts the exact M/M/c laws of :mod:`scaling_lab.queueing`: the
fewest servers, or the highest arrival rate, that meets a target on the
probability of waiting, the mean wait or a wait/response quantile.

References
----------
Those of :mod:`scaling_lab.queueing`, whose laws it inverts: Kleinrock (1975), §3.5;
Harchol-Balter (2013), ch. 14.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .core.validation import (MAX_COUNT, check_in_range, check_integer, check_invertible, check_nonnegative,
                              check_open_probability, check_positive)
from .queueing import MMc

__all__ = ["servers_needed", "max_arrival_rate", "pooling_comparison", "NPlusOneHeadroom", "n_plus_one_headroom"]


def servers_needed(arrival_rate: float, service_rate: float, *,
                   max_prob_wait: float | None = None,
                   max_mean_wait_s: float | None = None,
                   max_wait_quantile: tuple[float, float] | None = None,
                   max_response_quantile: tuple[float, float] | None = None) -> int:
    """The least number of servers :math:`c` for which an M/M/c queue meets every target.

    Without targets it returns the least stable :math:`c = \\lfloor a \\rfloor + 1`.
    Every metric is monotone in :math:`c`, so the answer is found by doubling
    and bisection: :math:`O(\\log c)` evaluations even for :math:`10^5` servers.

    Parameters
    ----------
    arrival_rate, service_rate : float
        :math:`\\lambda` and :math:`\\mu` in requests per second.
    max_prob_wait : float, optional
        Upper bound on the Erlang C probability of waiting, in (0, 1].
    max_mean_wait_s : float, optional
        Upper bound on the mean wait in seconds, > 0.
    max_wait_quantile, max_response_quantile : (q, seconds), optional
        "A fraction q of requests waits (or is answered) within that many
        seconds": ``max_wait_quantile=(0.95, 0.020)``.

    Returns
    -------
    int
        The least :math:`c` meeting every target.

    References
    ----------
    Square-root staffing: S. Halfin and W. Whitt, *Heavy-traffic limits for
    queues with many exponential servers*, Operations Research 29 (1981).
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    mu = check_invertible(service_rate, "service_rate", scalar=True)  # a finite service time
    checks = []
    if max_prob_wait is not None:
        p = check_in_range(max_prob_wait, "max_prob_wait", 0.0, 1.0, low_open=True, scalar=True)
        checks.append(lambda m: m.prob_wait <= p)
    if max_mean_wait_s is not None:
        w = check_positive(max_mean_wait_s, "max_mean_wait_s", scalar=True)
        checks.append(lambda m: m.mean_wait <= w)
    if max_wait_quantile is not None:
        qw, tw = _quantile_target(max_wait_quantile, "max_wait_quantile")
        checks.append(lambda m: m.prob_wait_exceeds(tw) <= 1.0 - qw)  # same as wait_quantile(qw) <= tw
    if max_response_quantile is not None:
        qr, tr = _quantile_target(max_response_quantile, "max_response_quantile")
        if np.exp(-mu * tr) > 1.0 - qr:
            raise ValueError(
                f"max_response_quantile={max_response_quantile!r} is unreachable at service_rate={mu:g}: even with "
                f"no waiting, the service time alone exceeds {tr} s with probability "
                f"{np.exp(-mu * tr):.3g} > {1 - qr:.3g}")
        checks.append(lambda m: m.prob_response_exceeds(tr) <= 1.0 - qr)  # same as response_quantile(qr) <= tr

    def ok(c: int) -> bool:
        m = MMc(lam, mu, c)
        return bool(m.stable) and all(bool(check(m)) for check in checks)

    if not lam / mu < MAX_COUNT:  # the least stable count is past the counts of a model
        raise ValueError(f"arrival_rate / service_rate must be below 10^9 (the most servers a model counts), "
                         f"got {lam:g} / {mu:g}")
    lo = int(np.floor(lam / mu)) + 1  # least stable c
    if ok(lo):
        return lo
    step = max(1, int(np.sqrt(lam / mu)))
    hi = min(lo + step, MAX_COUNT)
    while not ok(hi):
        if hi == MAX_COUNT:
            raise ValueError(f"no count of at most 10^9 servers meets the targets at arrival_rate={lam:g}, "
                             f"service_rate={mu:g}")
        lo, step = hi, step * 2
        hi = min(lo + step, MAX_COUNT)
    while hi - lo > 1:  # invariant: not ok(lo), ok(hi)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def max_arrival_rate(service_rate: float, servers: int, *,
                     max_response_quantile: tuple[float, float] | None = None,
                     max_wait_quantile: tuple[float, float] | None = None,
                     max_mean_wait_s: float | None = None,
                     max_prob_wait: float | None = None) -> float:
    """The largest arrival rate an M/M/c queue carries while meeting every target.

    The inverse of :func:`servers_needed`: for fixed :math:`c` and :math:`\\mu`
    every metric grows with :math:`\\lambda`, so each target's boundary is one
    root of a closed form on :math:`\\lambda \\in (0, c\\mu)` (Brent's method).  Returns 0.0 when no
    positive rate meets the targets (the service time alone breaks the SLO).

    Parameters
    ----------
    service_rate : float
        :math:`\\mu`, requests per second per server.
    servers : int
        :math:`c`.
    max_response_quantile, max_wait_quantile : (q, seconds), optional
        E.g. ``(0.99, 0.200)``: 99 % of requests answered within 200 ms.
    max_mean_wait_s : float, optional
        Upper bound on the mean wait, seconds.
    max_prob_wait : float, optional
        Upper bound on the Erlang C probability of waiting, in (0, 1].

    Returns
    -------
    float
        Requests per second (:math:`c\\mu` when no target is given).
    """
    mu = check_invertible(service_rate, "service_rate", scalar=True)  # its service time 1 / mu is finite
    c = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    # Each target is g(lambda) <= 0 for a continuous g increasing in lambda; a quantile target
    # "q-quantile <= t" is the tail condition P(X > t) <= 1 - q.
    excess = []
    if max_response_quantile is not None:
        qr, tr = _quantile_target(max_response_quantile, "max_response_quantile")
        excess.append(lambda lam: MMc(lam, mu, c).prob_response_exceeds(tr) - (1.0 - qr))
    if max_wait_quantile is not None:
        qw, tw = _quantile_target(max_wait_quantile, "max_wait_quantile")
        excess.append(lambda lam: MMc(lam, mu, c).prob_wait_exceeds(tw) - (1.0 - qw))
    if max_mean_wait_s is not None:
        w = check_positive(max_mean_wait_s, "max_mean_wait_s", scalar=True)
        excess.append(lambda lam: MMc(lam, mu, c).mean_wait - w)
    if max_prob_wait is not None:
        p = check_in_range(max_prob_wait, "max_prob_wait", 0.0, 1.0, low_open=True, scalar=True)
        excess.append(lambda lam: MMc(lam, mu, c).prob_wait - p)
    cap = c * mu
    if not np.isfinite(cap):
        raise ValueError(f"servers * service_rate (the capacity, requests per second) must be finite, "
                         f"got {c} * {mu:g}")
    lo, hi = cap * 1e-9, cap * (1.0 - 1e-12)
    best = float(cap)
    for g in excess:
        if g(lo) > 0:
            return 0.0
        if g(hi) > 0:
            best = min(best, optimize.brentq(g, lo, hi, xtol=1e-12 * cap, rtol=1e-12))
    return best


def _quantile_target(target, name: str) -> tuple[float, float]:
    try:
        q, t = target
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (q, seconds), got {target!r}") from None
    q = check_open_probability(q, f"{name}[0] (q)")
    t = check_nonnegative(t, f"{name}[1] (seconds)")
    return q, t


def pooling_comparison(arrival_rate: float, service_rate: float, servers: int):
    """One fast server vs a shared queue vs separate queues, at equal total capacity.

    Three ways to spend the capacity :math:`c\\mu`:

    * one server :math:`c` times faster: M/M/1 with rate :math:`c\\mu`,
      :math:`E[T] = 1/(c\\mu - \\lambda)`;
    * :math:`c` servers sharing one queue: M/M/c;
    * :math:`c` servers each with its own queue, traffic split at random:
      :math:`c` independent M/M/1 queues at :math:`\\lambda/c`,
      :math:`E[T] = c/(c\\mu - \\lambda)`.

    The fast server has the least mean *response* time (no request is ever
    served at the slow rate), the shared queue the least mean *wait* (Erlang C
    :math:`C(c, a) \\le \\rho`), and separate queues are exactly :math:`c`
    times slower than the fast server in mean response.

    Parameters
    ----------
    arrival_rate, service_rate : float
        :math:`\\lambda` (total) and :math:`\\mu` (per slow server), per second.
    servers : int
        :math:`c \\ge 1`.

    Returns
    -------
    pandas.DataFrame
        Index ``design`` ("one fast server", "shared queue", "separate queues");
        columns ``model``, ``utilization``, ``prob_wait``, ``mean_wait``,
        ``mean_response``, ``response_p99`` (seconds).  ``inf`` when overloaded.

    References
    ----------
    Harchol-Balter (2013), §14.5 (resource pooling); Kleinrock (1976),
    *Queueing Systems, Volume 2*, §5.1 (scale economies).
    """
    import pandas as pd

    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    mu = check_positive(service_rate, "service_rate", scalar=True)
    c = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    models = {
        "one fast server": (f"M/M/1 at {c} mu", MMc(lam, c * mu, 1)),
        "shared queue": (f"M/M/{c}", MMc(lam, mu, c)),
        "separate queues": (f"{c} x M/M/1 at lambda/{c}", MMc(lam / c, mu, 1)),
    }
    rows = []
    for design, (label, m) in models.items():
        rows.append({"design": design, "model": label, "utilization": float(m.utilization),
                     "prob_wait": float(m.prob_wait), "mean_wait": float(m.mean_wait),
                     "mean_response": float(m.mean_response),
                     "response_p99": float(m.response_quantile(0.99))})
    return pd.DataFrame(rows).set_index("design")


@dataclass(frozen=True)
class NPlusOneHeadroom:
    """Result of :func:`n_plus_one_headroom` (rates in requests per second)."""

    servers: int
    max_arrival_rate: float
    """Largest load that still meets the SLO on ``servers - 1`` servers."""
    capacity_without_spare: float
    """Largest load that meets the SLO on all ``servers`` servers."""
    utilization: float
    """Utilization of the ``servers`` servers at ``max_arrival_rate``."""
    utilization_after_failure: float
    """Utilization of the remaining ``servers - 1`` servers at ``max_arrival_rate``."""

    @property
    def headroom_fraction(self) -> float:
        """Share of the SLO capacity held back for the spare: ``1 - max_arrival_rate / capacity_without_spare``.

        0 when the SLO admits no load even on the whole pool (nothing to hold back).
        """
        if self.capacity_without_spare <= 0:
            return 0.0
        return 1.0 - self.max_arrival_rate / self.capacity_without_spare


def n_plus_one_headroom(service_rate: float, servers: int, *,
                        max_prob_wait: float | None = None,
                        max_mean_wait_s: float | None = None,
                        max_wait_quantile: tuple[float, float] | None = None,
                        max_response_quantile: tuple[float, float] | None = None) -> NPlusOneHeadroom:
    """The largest load a pool of ``servers`` M/M/c servers can take and still meet its SLO after losing one.

    N+1 redundancy: the pool is sized so that :math:`c - 1` servers meet the
    targets, i.e. the answer is the largest :math:`\\lambda` with
    ``servers_needed(lambda, service_rate, **targets) <= servers - 1``, which is
    :func:`max_arrival_rate` for ``servers - 1`` servers.  Small pools pay a lot for the spare (2 servers: at most half
    the capacity is usable), large pools little — pooling again.

    Parameters
    ----------
    service_rate : float
        :math:`\\mu` per server, requests per second.
    servers : int
        Pool size :math:`c \\ge 2`, spare included.
    max_prob_wait, max_mean_wait_s, max_wait_quantile, max_response_quantile
        The SLO, as in :func:`servers_needed`; at least one is required.

    Returns
    -------
    NPlusOneHeadroom

    References
    ----------
    Halfin and Whitt (1981) for why the spare's cost shrinks like
    :math:`1/\\sqrt{c}`; L. A. Barroso et al., *The Datacenter as a Computer*,
    3rd ed., Morgan & Claypool, 2018, ch. 7 (N+1 provisioning).
    """
    mu = check_invertible(service_rate, "service_rate", scalar=True)  # a finite service time
    c = check_integer(servers, "servers", minimum=2, maximum=MAX_COUNT, scalar=True)
    targets = {k: v for k, v in {"max_prob_wait": max_prob_wait, "max_mean_wait_s": max_mean_wait_s,
                                 "max_wait_quantile": max_wait_quantile,
                                 "max_response_quantile": max_response_quantile}.items() if v is not None}
    if not targets:
        raise ValueError("give at least one target (max_prob_wait, max_mean_wait_s, max_wait_quantile, "
                         "max_response_quantile), got none")
    servers_needed(mu * 1e-12, mu, **targets)  # validates the targets and reachability up front
    lam = max_arrival_rate(mu, c - 1, **targets)
    full = max_arrival_rate(mu, c, **targets)
    return NPlusOneHeadroom(c, lam, full, lam / (c * mu), lam / ((c - 1) * mu))
