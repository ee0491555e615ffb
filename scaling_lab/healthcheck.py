"""Health checks: how long a load balancer keeps sending traffic to a dead server.

A load balancer probes each server every ``interval_s`` seconds and marks it
unhealthy after ``unhealthy_threshold`` consecutive failed probes; a probe to a
hung server fails only when its ``timeout_s`` expires.  If a server dies at a
moment uniformly placed between two probes, the time until the balancer stops
routing to it is

.. math:: T_d = U I + (k - 1) I + \\tau, \\qquad U \\sim \\mathrm{Uniform}(0, 1),

so :math:`E[T_d] = (k - \\tfrac12) I + \\tau`, between :math:`(k-1)I + \\tau` and
:math:`kI + \\tau`.  Meanwhile the server keeps its share of the traffic: with
:math:`n` servers and an even split of a total rate :math:`\\lambda`, about
:math:`\\lambda E[T_d]/n` requests fail.  (A least-connections balancer can do
much worse: a server that fails fast holds no connections and attracts up to
all of the traffic.)

Units: seconds and requests per second.

References
----------
Amazon Web Services, *Health checks for your target groups*, Elastic Load
Balancing user guide for Application Load Balancers (defaults: interval 30 s,
timeout 5 s, unhealthy threshold 2).  L. A. Barroso, U. Hölzle and
P. Ranganathan, *The Datacenter as a Computer*, 3rd ed., 2018, ch. 7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core.validation import (MAX_COUNT, MAX_ELEMENTS, MAX_INT, check_in_range, check_integer, check_nonnegative,
                              check_positive)
from .core.arrays import scalar_or_array

__all__ = ["DetectionTime", "detection_time", "requests_to_failed_server", "simulate_failed_requests",
           "vrrp_failover_time"]


@dataclass(frozen=True)
class DetectionTime:
    """Seconds from a server's failure until the load balancer marks it unhealthy."""

    mean: float
    minimum: float
    maximum: float


def _check(interval_s, unhealthy_threshold, timeout_s):
    interval = check_positive(interval_s, "interval_s", scalar=True)
    k = check_integer(unhealthy_threshold, "unhealthy_threshold", minimum=1, maximum=MAX_COUNT, scalar=True)
    timeout = check_nonnegative(timeout_s, "timeout_s", scalar=True)
    if timeout > interval:
        raise ValueError(f"timeout_s must be in [0, interval_s={interval}], got {timeout}")
    return interval, k, timeout


def detection_time(interval_s: float, unhealthy_threshold: int, timeout_s: float = 0.0) -> DetectionTime:
    """Time to detect a dead server by periodic health checks.

    .. math:: E[T_d] = \\left(k - \\tfrac12\\right) I + \\tau, \\qquad
              (k-1) I + \\tau \\le T_d \\le k I + \\tau

    Parameters
    ----------
    interval_s : float
        Seconds :math:`I` between two probes of the same server (> 0).
    unhealthy_threshold : int
        Consecutive failed probes :math:`k \\ge 1` before the server is removed.
    timeout_s : float
        Seconds :math:`\\tau` a probe waits before counting as failed, in
        [0, interval_s] (0 when the dead server refuses connections at once).

    Returns
    -------
    DetectionTime
        Mean, minimum and maximum, seconds; the failure is assumed uniformly
        placed between two probes.

    References
    ----------
    Amazon Web Services, Elastic Load Balancing user guide, "Health checks for
    your target groups".
    """
    interval, k, timeout = _check(interval_s, unhealthy_threshold, timeout_s)
    return DetectionTime((k - 0.5) * interval + timeout, (k - 1) * interval + timeout, k * interval + timeout)


def requests_to_failed_server(arrival_rate, servers: int, interval_s: float, unhealthy_threshold: int,
                              timeout_s: float = 0.0):
    """Mean number of requests routed to a dead server before it is detected.

    .. math:: E[F] = \\frac{\\lambda}{n}\\left[\\left(k - \\tfrac12\\right) I + \\tau\\right]

    Parameters
    ----------
    arrival_rate : float or array
        Total rate :math:`\\lambda` into the pool, requests per second (>= 0).
    servers : int
        Servers :math:`n \\ge 1` sharing it evenly (random or round-robin routing).
    interval_s, unhealthy_threshold, timeout_s
        As in :func:`detection_time`.

    Returns
    -------
    float or numpy.ndarray
        Expected failed requests per server failure.
    """
    lam = np.asarray(check_nonnegative(arrival_rate, "arrival_rate"), dtype=float)
    n = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    mean_s = detection_time(interval_s, unhealthy_threshold, timeout_s).mean
    with np.errstate(over="ignore"):  # lambda/n never overflows: past the float range the product is inf
        out = lam / n * mean_s
    return scalar_or_array(out)


def simulate_failed_requests(arrival_rate: float, servers: int, interval_s: float, unhealthy_threshold: int,
                             timeout_s: float = 0.0, *, policy: str = "round_robin", n_trials: int = 10_000,
                             seed: int | None = 0) -> np.ndarray:
    """Simulate server failures and count the requests sent to the dead server before detection.

    Each trial places the failure uniformly between two probes of the probe
    schedule, steps through the probes after it (each fails ``timeout_s``
    after it starts) until ``unhealthy_threshold`` have failed, and routes the
    Poisson arrivals of that window: ``"round_robin"`` gives the dead server
    every :math:`n`-th request (random position in the cycle), ``"random"``
    each request with probability :math:`1/n`.

    Parameters
    ----------
    arrival_rate : float
        Total rate into the pool, requests per second (> 0).
    servers : int
        Servers in the pool, :math:`n \\ge 1`.
    interval_s, unhealthy_threshold, timeout_s
        As in :func:`detection_time`.
    policy : {"round_robin", "random"}
        How the balancer splits traffic.
    n_trials : int
        Failures simulated (>= 2).
    seed : int or None
        Seed of the :class:`numpy.random.Generator`.

    Returns
    -------
    numpy.ndarray of int
        Failed requests in each trial.
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    n = check_integer(servers, "servers", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    interval, k, timeout = _check(interval_s, unhealthy_threshold, timeout_s)
    trials = check_integer(n_trials, "n_trials", minimum=2, maximum=MAX_ELEMENTS, scalar=True)
    if policy not in ("round_robin", "random"):
        raise ValueError(f"policy must be 'round_robin' or 'random', got {policy!r}")
    longest = k * interval + timeout  # the longest detection window, seconds
    if not lam * longest <= MAX_INT:  # Poisson counts are drawn exactly only up to 2^53 (inf fails too)
        raise ValueError(f"arrival_rate * (unhealthy_threshold * interval_s + timeout_s) must be at most "
                         f"2^53 requests in a detection window, got {lam:g} * {longest:g} s")
    rng = np.random.default_rng(seed)
    fail_at = rng.uniform(0.0, interval, trials)          # failure time within the probe period [0, I)
    first_probe = np.full(trials, interval)               # probes start at I, 2I, ...; the first after the failure
    last_failed_probe = first_probe + (k - 1) * interval  # k consecutive probes fail
    window = last_failed_probe + timeout - fail_at        # the k-th probe times out: detection
    arrivals = rng.poisson(lam * window)
    if policy == "random":
        return rng.binomial(arrivals, 1.0 / n)
    offset = rng.integers(0, n, trials)  # the dead server's position in the round-robin cycle
    return (arrivals + offset) // n


def vrrp_failover_time(advertisement_interval_s: float = 1.0, priority: int = 100) -> float:
    """Seconds before the backup of an active/passive balancer pair takes over from a dead master.

    The master of a VRRP pair (keepalived, and most hardware balancers)
    multicasts an advertisement every :math:`A` seconds; the backup declares
    it dead after the *master down interval*

    .. math:: T_{down} = 3A + \\frac{(256 - p)\\,A}{256}

    without one, with :math:`p` the backup's priority (the skew term lets the
    backup with the highest priority win), and then claims the virtual IP
    address.  The moment of death is uniform within the last interval, so the
    outage lasts between :math:`T_{down} - A` and :math:`T_{down}`; the
    function returns the upper bound, the usual figure.  Connections open
    on the dead master are lost; the new master's gratuitous ARP takes
    milliseconds.

    Parameters
    ----------
    advertisement_interval_s : float
        :math:`A`, seconds, in (0, 40.95] (VRRPv3 counts centiseconds in 12 bits); keepalived's default is 1 s.
    priority : int
        :math:`p` of the backup, 1-254 (255 is reserved for the address owner); the default is 100.

    References
    ----------
    S. Nadas, *Virtual Router Redundancy Protocol (VRRP) Version 3 for IPv4 and
    IPv6*, RFC 5798, IETF, 2010, §6.1.
    """
    a = check_in_range(advertisement_interval_s, "advertisement_interval_s", 0.0, 40.95, low_open=True, scalar=True)
    p = check_integer(priority, "priority", minimum=1, maximum=254, scalar=True)
    return float(3 * a + (256 - p) * a / 256)
