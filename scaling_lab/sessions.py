"""Session state in the web tier: sticky sessions against a shared session store.

A *stateful* web tier keeps each user's session in the memory of one server and
pins the user to it (session affinity, "sticky sessions").  A *stateless* tier
keeps sessions in a shared store (Redis, Memcached, a database) that every web
server reads, so any server can answer any request.  This module puts numbers on
the trade:

* affinity pins *users*, not requests, so a server's load is the sum of its
  users' activity, and the hottest server runs hotter than the mean
  (:func:`sticky_peak_load_factor`, checked by :func:`simulate_sticky_loads`);
* a server that stops takes its users' sessions with it
  (:func:`users_losing_sessions`, :func:`prob_session_interrupted`);
* a server added by an autoscaler receives only *new* sessions, so it fills up
  at the rate old sessions end (:func:`new_server_load_share`,
  :func:`time_to_rebalance`);
* the price of statelessness is a store lookup on every request, sized as an
  M/M/c queue (:class:`SessionStore`).

References
----------
A. Xu, *System Design Interview*, 2020, ch. 1 (stateless web tier).
H. A. David and H. N. Nagaraja, *Order Statistics*, 3rd ed., Wiley, 2003,
§4.2 (expected maximum of normal samples).
L. Kleinrock, *Queueing Systems, Volume 1*, Wiley, 1975 (M/M/c).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import special

from .core.validation import (MAX_COUNT, MAX_ELEMENTS, check_fields, check_integer, check_invertible, check_nonnegative,
                              check_positive, check_probability)
from .queueing import MMc, _DelayedMMc
from .core.arrays import scalar_or_array

__all__ = [
    "expected_max_standard_normal",
    "sticky_peak_load_factor",
    "simulate_sticky_loads",
    "users_losing_sessions",
    "prob_session_interrupted",
    "new_server_load_share",
    "time_to_rebalance",
    "SessionStore",
]

_GRID = np.linspace(-12.0, 12.0, 24_001)



def expected_max_standard_normal(n):
    """Expected maximum :math:`e_n` of ``n`` independent standard normal variables.

    .. math:: e_n = \\int_{-\\infty}^{\\infty} x\\, n\\,\\varphi(x)\\,\\Phi(x)^{n-1}\\,dx

    by quadrature on a fine grid (the density formed in logs, so ``n`` up to
    :math:`10^{9}` is accurate).
    :math:`e_1 = 0`, :math:`e_2 = 1/\\sqrt{\\pi}`, :math:`e_{10} \\approx 1.5388`.

    Parameters
    ----------
    n : int or array of int
        Sample size, >= 1.

    References
    ----------
    David and Nagaraja (2003), §4.2 and table of normal order statistics.
    """
    n = np.asarray(check_integer(n, "n", minimum=1, maximum=MAX_ELEMENTS), dtype=float)
    # density of the maximum, n phi(x) Phi(x)^(n-1), formed in logs
    log_density = (np.log(n)[..., None] - 0.5 * _GRID**2 - 0.5 * np.log(2 * np.pi)
                   + (n[..., None] - 1.0) * special.log_ndtr(_GRID))
    e = np.trapezoid(_GRID * np.exp(log_density), _GRID, axis=-1)
    return scalar_or_array(np.where(n == 1, 0.0, e))


def sticky_peak_load_factor(users_per_server, servers, activity_scv=1.0):
    """Expected load of the busiest server over the mean load when users are pinned at random.

    Each of :math:`U = uN` users is assigned to one of :math:`N` servers at
    random (hashing a cookie or an IP) and sends requests at a rate :math:`X`
    that varies between users with mean :math:`m` and squared coefficient of
    variation :math:`c^2`.  A server's load is a compound sum; treating the
    per-server user counts as Poisson (Poissonization) gives a mean
    :math:`um` and a variance :math:`u\\,E[X^2] = u m^2 (1 + c^2)`, and with
    the normal approximation

    .. math:: \\frac{E[\\max_j L_j]}{E[L]} \\approx 1 + e_N \\sqrt{\\frac{1 + c^2}{u}},

    where :math:`e_N` is the expected maximum of :math:`N` standard normals
    (:func:`expected_max_standard_normal`).  Accurate to a few per cent once
    :math:`u \\gtrsim 50`; :func:`simulate_sticky_loads` gives the exact value
    for any assumption.  A stateless tier routes each *request* and has factor 1
    (apart from the request-level randomness every queue already has).

    Parameters
    ----------
    users_per_server : float or array
        :math:`u = U/N` active users per server, > 0.
    servers : int or array of int
        :math:`N \\ge 1`.
    activity_scv : float or array
        :math:`c^2 \\ge 0` of the per-user request rate (0 = identical users).

    References
    ----------
    David and Nagaraja (2003), §4.2.
    """
    u = np.asarray(check_positive(users_per_server, "users_per_server"), dtype=float)
    n = check_integer(servers, "servers", minimum=1, maximum=MAX_ELEMENTS)
    c2 = np.asarray(check_nonnegative(activity_scv, "activity_scv"), dtype=float)
    with np.errstate(over="ignore"):  # users per server below the float range: an infinite peak, its limit
        return scalar_or_array(1.0 + np.asarray(expected_max_standard_normal(n)) * np.sqrt((1.0 + c2) / u))


def simulate_sticky_loads(users: int, servers: int, activity_scv: float = 1.0, *,
                          n_trials: int = 200, seed: int | None = 0) -> np.ndarray:
    """Busiest-server load over mean load in ``n_trials`` random pinnings of ``users`` users.

    User activities are drawn lognormal with mean 1 and squared coefficient of
    variation ``activity_scv`` (all equal when it is 0), each user is pinned
    to a server chosen uniformly at random, and the ratio
    :math:`\\max_j L_j / \\bar L` of realised loads is recorded per trial.

    Returns
    -------
    numpy.ndarray
        One ratio per trial (>= 1).
    """
    u = check_integer(users, "users", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    n = check_integer(servers, "servers", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    c2 = check_nonnegative(activity_scv, "activity_scv", scalar=True)
    trials = check_integer(n_trials, "n_trials", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    rng = np.random.default_rng(seed)
    sigma2 = np.log1p(c2)
    out = np.empty(trials)
    for t in range(trials):
        x = rng.lognormal(-sigma2 / 2, np.sqrt(sigma2), u) if c2 > 0 else np.ones(u)
        load = np.bincount(rng.integers(0, n, u), weights=x, minlength=n)
        out[t] = load.max() / load.mean()
    return out


def users_losing_sessions(active_users, servers, failed: int = 1):
    """Expected number of users whose in-memory session is lost when ``failed`` of ``servers`` stop.

    With users pinned uniformly at random each server holds a fraction
    :math:`1/N` of the sessions on average, so

    .. math:: E[\\text{users losing their session}] = U\\,\\frac{f}{N}.

    A stateless tier loses none (the sessions live in the store).  Note the
    *rate* of losses, :math:`U \\times` (stops per server per unit time), does
    not depend on :math:`N`: more servers lose fewer sessions each time, but
    stop more often.

    Parameters
    ----------
    active_users : float or array
        :math:`U \\ge 0` users with a live session.
    servers : int
        :math:`N \\ge 1`.
    failed : int
        :math:`0 \\le f \\le N` servers that stop.
    """
    u = np.asarray(check_nonnegative(active_users, "active_users"), dtype=float)
    n = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    f = check_integer(failed, "failed", minimum=0, maximum=MAX_COUNT, scalar=True)
    if f > n:
        raise ValueError(f"failed must be in [0, servers={n}], got {f}")
    return scalar_or_array(u * f / n)


def prob_session_interrupted(session_s, restarts_per_day):
    """Probability that a session of ``session_s`` seconds is cut by a restart of its server.

    Restarts of one server (deployments, crashes, scale-in) form a Poisson
    process of rate :math:`r` per day; a session pinned to the server is lost
    if one occurs during its lifetime :math:`D`:

    .. math:: P(\\text{lost}) = 1 - e^{-rD/86\\,400\\ \\mathrm{s}}.

    Parameters
    ----------
    session_s : float or array
        Session lifetime :math:`D`, seconds, >= 0.
    restarts_per_day : float or array
        :math:`r \\ge 0` restarts of one server per day.
    """
    d = np.asarray(check_nonnegative(session_s, "session_s"), dtype=float)
    r = np.asarray(check_nonnegative(restarts_per_day, "restarts_per_day"), dtype=float)
    with np.errstate(over="ignore"):  # r d past the float range: the probability's limit 1
        return scalar_or_array(-np.expm1(-r * d / 86_400.0))


def new_server_load_share(t_s, servers_before, mean_session_s, *, sticky: bool = True):
    """Share of the total load on a server added ``t_s`` seconds ago to a pool of ``servers_before``.

    Stateless: the router sends the new server its fair share at once,
    :math:`1/(N+1)`.  Sticky: existing sessions stay where they are and only
    sessions started after the scale-out are spread evenly over the
    :math:`N+1` servers.  With exponential session lifetimes of mean
    :math:`\\bar D` and a steady session population, the fraction of sessions
    started in the last :math:`t` seconds is :math:`1 - e^{-t/\\bar D}`, so

    .. math:: s_{\\text{new}}(t) = \\frac{1 - e^{-t/\\bar D}}{N + 1}.

    Parameters
    ----------
    t_s : float or array
        Time since the new server joined, seconds, >= 0.
    servers_before : int
        :math:`N \\ge 1` servers before the scale-out.
    mean_session_s : float
        :math:`\\bar D > 0`, mean session lifetime in seconds.
    sticky : bool
        Whether sessions are pinned (True) or the tier is stateless (False).
    """
    t = np.asarray(check_nonnegative(t_s, "t_s"), dtype=float)
    n = check_integer(servers_before, "servers_before", minimum=1, maximum=MAX_COUNT)
    d = check_positive(mean_session_s, "mean_session_s")
    fair = 1.0 / (n + 1)
    with np.errstate(over="ignore"):  # t / d past the float range: the newcomer has its fair share
        return scalar_or_array(fair * -np.expm1(-t / d) if sticky else np.full_like(t, fair))


def time_to_rebalance(mean_session_s, fraction: float = 0.9):
    """Seconds until a new sticky server carries ``fraction`` of its fair share: :math:`\\bar D \\ln\\frac{1}{1 - p}`.

    The inverse of :func:`new_server_load_share`; the same time is needed to
    drain a server before removing it (until only :math:`1 - p` of its
    sessions remain).  Zero for a stateless tier.
    """
    d = np.asarray(check_positive(mean_session_s, "mean_session_s"), dtype=float)
    p = np.asarray(check_probability(fraction, "fraction", scalar=True), dtype=float)
    if np.any(p >= 1):
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    with np.errstate(over="ignore"):  # a mean session past the float range: inf
        return scalar_or_array(-d * np.log1p(-p))


@dataclass(frozen=True)
class SessionStore(_DelayedMMc):
    """A shared session store in front of a stateless web tier, modelled as an M/M/c queue.

    Every web request makes ``ops_per_request`` store operations (one read,
    plus a write when the session changes), one after another, each costing a
    network round trip :math:`r` plus a response time :math:`T` at the store.
    The store has ``nodes`` servers (threads, shards or nodes sharing the
    load) with mean operation time :math:`S`:

    .. math:: \\lambda_{\\text{store}} = k\\,\\lambda, \\qquad
              \\rho = \\frac{k \\lambda S}{c}, \\qquad
              \\Delta = k\\,\\big(r + E[T_{M/M/c}]\\big).

    An overloaded store (:math:`\\rho \\ge 1`) is not an error: ``stable`` is
    False and the added latency is ``inf``.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda`, web requests per second, > 0.
    service_time_s : float
        :math:`S`, mean store time per operation, seconds, > 0.
    nodes : int
        :math:`c \\ge 1`.
    ops_per_request : float
        :math:`k > 0`, store operations per web request (e.g. 1.2).
    rtt_s : float
        :math:`r \\ge 0`, network round trip to the store, seconds.

    References
    ----------
    Kleinrock (1975); Xu (2020), ch. 1.
    """

    arrival_rate: float
    service_time_s: float
    nodes: int
    ops_per_request: float = 1.0
    rtt_s: float = 0.0

    def __post_init__(self):
        check_fields(self, scalar=True, arrival_rate=check_positive,
                     service_time_s=check_invertible,  # its rate 1 / S is finite
                     nodes=partial(check_integer, minimum=1, maximum=MAX_COUNT), ops_per_request=check_positive,
                     rtt_s=check_nonnegative)
        if not np.isfinite(self.ops_per_request * self.arrival_rate):
            raise ValueError("ops_per_request * arrival_rate (store operations per second) must be finite, got "
                             f"{self.ops_per_request:g} * {self.arrival_rate:g}")

    @property
    def op_rate(self) -> float:
        """Store operations per second, :math:`k\\lambda`."""
        return float(self.ops_per_request * self.arrival_rate)

    @property
    def queue(self) -> MMc:
        """The store as an :class:`~scaling_lab.queueing.MMc` queue."""
        return MMc(self.op_rate, 1.0 / self.service_time_s, self.nodes)

    @property
    def utilization(self) -> float:
        """:math:`\\rho`, busy fraction of each store server."""
        return float(self.queue.utilization)

    @property
    def op_mean_latency(self) -> float:
        """Mean latency of one operation as the web server sees it, :math:`r + E[T]` seconds."""
        return float(self.rtt_s + self.queue.mean_response)

    def op_latency_quantile(self, q):
        """The q-quantile of one operation's latency, :math:`r + t_q` seconds."""
        return self._quantile_after(self.rtt_s, q)

    @property
    def mean_added_latency(self) -> float:
        """Mean latency the store adds to a web request, :math:`k(r + E[T])` seconds."""
        return float(self.ops_per_request * self.op_mean_latency)
