"""Message queues: the backlog a burst leaves, how long it takes to drain, and what decoupling buys.

A message queue sits between producers (web servers that accept uploads) and
a pool of :math:`c` workers (photo processing) that each finish jobs at rate
:math:`\\mu`.  In steady state the pool is an M/M/c or M/G/c queue
(:mod:`scaling_lab.queueing`).  A *burst* is different: while jobs arrive
faster than the pool's capacity :math:`C = c\\mu`, the queue grows almost
linearly, and the *fluid* (deterministic) approximation is accurate once the
backlog is large compared with its random fluctuations:

.. math:: B(t) = (\\lambda_b - C)^+\\,t \\quad (0 \\le t \\le T), \\qquad
          B(T + s) = \\big(B(T) - (C - \\lambda_0)s\\big)^+ .

This module gives the burst's backlog and drain time (:func:`burst_backlog`),
the workers a drain-time target needs (:func:`workers_for_drain_time`), the
empirical queue length and time-average population of a simulated run
(:func:`waiting_count`, :func:`time_average_in_system`, for Little's law) and
the comparison of processing jobs inline in the web request against
enqueueing them (:func:`decoupling_comparison`).

References
----------
G. F. Newell, *Applications of Queueing Theory*, 2nd ed., Chapman and Hall,
1982, ch. 2-3 (fluid and diffusion approximations of rush hours).
J. D. C. Little, *A proof for the queuing formula L = λW*, Operations
Research 9(3), 1961.
A. Xu, *System Design Interview*, 2020, ch. 1 (message queues, photo processing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .core.validation import MAX_COUNT, check_integer, check_nonnegative, check_positive
from .approximations import MGc
from .queueing import MMc
from .core.arrays import scalar_or_array

__all__ = [
    "BurstBacklog",
    "burst_backlog",
    "workers_for_drain_time",
    "waiting_count",
    "time_average_in_system",
    "decoupling_comparison",
]


@dataclass(frozen=True)
class BurstBacklog:
    """Fluid model of a burst at a worker pool (rates per second, times in seconds).

    Attributes
    ----------
    capacity : float
        :math:`C = c\\mu`, jobs per second the pool completes when busy.
    peak_backlog : float
        :math:`B(T) = (\\lambda_b - C)^+ T` jobs waiting when the burst ends.
    drain_time_s : float
        :math:`B(T)/(C - \\lambda_0)` after the burst (``inf`` when
        :math:`C \\le \\lambda_0`, 0 when no backlog builds).
    max_wait_s : float
        :math:`B(T)/C`, the wait of the job that arrives as the burst ends
        (FCFS: every job ahead of it must start first).
    """

    base_rate: float
    burst_rate: float
    burst_s: float
    capacity: float
    peak_backlog: float
    drain_time_s: float
    max_wait_s: float

    @property
    def time_to_empty_s(self) -> float:
        """Seconds from the start of the burst until the backlog is gone, :math:`T + B(T)/(C - \\lambda_0)`."""
        return self.burst_s + self.drain_time_s if self.peak_backlog > 0 else 0.0

    def backlog_at(self, t_s):
        """Fluid backlog :math:`B(t)` at ``t_s`` seconds after the burst starts (jobs; broadcasts)."""
        t = np.asarray(check_nonnegative(t_s, "t_s"), dtype=float)
        grow = max(self.burst_rate - self.capacity, 0.0)
        during = grow * np.minimum(t, self.burst_s)
        after = np.maximum(t - self.burst_s, 0.0)
        drain = self.capacity - self.base_rate
        if drain > 0:
            b = np.maximum(during - drain * after, 0.0)
        else:  # the pool cannot even keep up with the base rate: the backlog keeps growing
            b = during - drain * after
        return scalar_or_array(b)


def burst_backlog(base_rate: float, burst_rate: float, burst_s: float, service_rate: float,
                  workers: int) -> BurstBacklog:
    """Backlog left by a burst of ``burst_rate`` jobs/s lasting ``burst_s`` seconds at ``workers`` workers.

    .. math:: B(T) = (\\lambda_b - c\\mu)^+\\,T, \\qquad
              t_{\\text{drain}} = \\frac{B(T)}{c\\mu - \\lambda_0}, \\qquad
              W_{\\max} \\approx \\frac{B(T)}{c\\mu}.

    The fluid approximation ignores the random queue the pool has anyway
    (:class:`~scaling_lab.queueing.MMc` gives that); it is accurate when the
    backlog is large (hundreds of jobs or more).  A pool that cannot keep up
    with ``base_rate`` is not an error: the drain time is ``inf``.

    Parameters
    ----------
    base_rate : float
        :math:`\\lambda_0 \\ge 0`, jobs per second before and after the burst.
    burst_rate : float
        :math:`\\lambda_b \\ge 0`, jobs per second during the burst.
    burst_s : float
        :math:`T \\ge 0`, burst duration in seconds.
    service_rate : float
        :math:`\\mu > 0`, jobs per second one worker completes (1 / mean job time).
    workers : int
        :math:`c \\ge 1`.

    References
    ----------
    Newell (1982), ch. 2.
    """
    l0 = check_nonnegative(base_rate, "base_rate", scalar=True)
    lb = check_nonnegative(burst_rate, "burst_rate", scalar=True)
    t = check_nonnegative(burst_s, "burst_s", scalar=True)
    mu = check_positive(service_rate, "service_rate", scalar=True)
    c = check_integer(workers, "workers", minimum=1, maximum=MAX_COUNT, scalar=True)
    cap = c * mu
    peak = max(lb - cap, 0.0) * t
    if peak == 0:
        drain = 0.0
    elif cap > l0:
        drain = peak / (cap - l0)
    else:
        drain = math.inf
    return BurstBacklog(l0, lb, t, cap, peak, drain, peak / cap)


def workers_for_drain_time(base_rate: float, burst_rate: float, burst_s: float, service_rate: float,
                           drain_target_s: float) -> int:
    """Least number of workers that clears a burst's backlog within ``drain_target_s`` after it ends.

    :math:`B(T)/(c\\mu - \\lambda_0) \\le D` rearranges to a capacity equal to
    the *average* arrival rate over the burst and the drain window:

    .. math:: c = \\left\\lceil \\frac{\\lambda_b T + \\lambda_0 D}{(T + D)\\,\\mu} \\right\\rceil,

    and at least :math:`\\lfloor\\lambda_0/\\mu\\rfloor + 1` so the pool is
    stable in between.  :math:`D = 0` means no backlog may build
    (:math:`c\\mu \\ge \\lambda_b`); :math:`D \\to \\infty` leaves only stability.

    Parameters
    ----------
    base_rate, burst_rate, burst_s, service_rate
        As in :func:`burst_backlog`.
    drain_target_s : float
        :math:`D \\ge 0`, seconds allowed to clear the backlog after the burst.
    """
    l0 = check_nonnegative(base_rate, "base_rate", scalar=True)
    lb = check_nonnegative(burst_rate, "burst_rate", scalar=True)
    t = check_nonnegative(burst_s, "burst_s", scalar=True)
    mu = check_positive(service_rate, "service_rate", scalar=True)
    d = check_nonnegative(drain_target_s, "drain_target_s", allow_inf=True, scalar=True)
    stable = math.floor(l0 / mu) + 1
    if t + d == 0 or math.isinf(d):
        need = stable if math.isinf(d) else math.ceil(lb / mu - 1e-12)
    else:
        need = math.ceil((lb * t + l0 * d) / ((t + d) * mu) - 1e-12)
    return int(max(need, stable, 1))


def waiting_count(arrivals, starts, t):
    """Jobs waiting in the queue at times ``t``: arrived by ``t`` and not yet started.

    ``arrivals`` and ``starts`` are per-job times (seconds) from a simulated
    run (e.g. the ``arrival`` and ``start`` columns of
    :func:`scaling_lab.simulation.drivers.simulate_queue` records); the order of jobs
    does not matter.
    """
    a = np.sort(np.asarray(check_nonnegative(arrivals, "arrivals"), dtype=float))
    s = np.sort(np.asarray(check_nonnegative(starts, "starts"), dtype=float))
    if a.shape != s.shape:
        raise ValueError(f"arrivals and starts must have the same length, got {a.shape} and {s.shape}")
    tt = np.asarray(check_nonnegative(t, "t"), dtype=float)
    out = np.searchsorted(a, tt, side="right") - np.searchsorted(s, tt, side="right")
    return scalar_or_array(out, int)


def time_average_in_system(arrivals, departures, t0: float, t1: float) -> float:
    """Time-average number of jobs present over ``[t0, t1]``, :math:`\\frac{1}{t_1 - t_0}\\int_{t_0}^{t_1} N(t)\\,dt`.

    Each job contributes the overlap of its stay :math:`[A_n, D_n]` with the
    window.  Little's law :math:`L = \\lambda W` says this equals the arrival
    rate times the mean time in system, for any queue and discipline.

    References
    ----------
    Little (1961).
    """
    a = np.asarray(check_nonnegative(arrivals, "arrivals"), dtype=float)
    d = np.asarray(check_nonnegative(departures, "departures"), dtype=float)
    if a.shape != d.shape or np.any(d < a):
        raise ValueError("departures must match arrivals in length and never precede them")
    lo = check_nonnegative(t0, "t0", scalar=True)
    hi = check_positive(t1, "t1", scalar=True)
    if hi <= lo:
        raise ValueError(f"t1 must be greater than t0={lo}, got {hi}")
    overlap = np.clip(np.minimum(d, hi) - np.maximum(a, lo), 0.0, None)
    return float(overlap.sum() / (hi - lo))


def decoupling_comparison(arrival_rate: float, web_service_s: float, job_service_s: float, *,
                          web_workers: int, job_workers: int, enqueue_s: float = 0.002,
                          job_scv: float = 1.0) -> pd.DataFrame:
    """The web tier's latency with jobs done inline in the request against enqueued for a worker pool.

    *Inline*: a web worker holds the request for its own work :math:`S_w`
    (exponential) and the job :math:`S_j` (squared coefficient of variation
    :math:`c_j^2`), an M/G/c queue with mean service :math:`S_w + S_j` and
    :math:`c^2 = (S_w^2 + c_j^2 S_j^2)/(S_w + S_j)^2` (Allen–Cunneen).
    *Queued*: the web worker only enqueues, an M/M/c queue with mean service
    :math:`S_w + e`; the job then waits in the worker pool, an M/G/c queue
    with ``job_workers`` workers.  The job's result is ready after the web
    response plus the pool's response time.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda`, requests (each making one job) per second, > 0.
    web_service_s, job_service_s : float
        Mean web work :math:`S_w` and job time :math:`S_j`, seconds, > 0.
    web_workers, job_workers : int
        Workers in the web tier and in the job pool, >= 1.
    enqueue_s : float
        :math:`e \\ge 0`, time to publish the message, seconds.
    job_scv : float
        :math:`c_j^2 \\ge 0` of the job time.

    Returns
    -------
    pandas.DataFrame
        Index ``design`` ("inline", "queued"); columns ``web_utilization``,
        ``web_mean_response_s``, ``job_pool_utilization``, ``job_done_mean_s``
        (request arrival to job finished).  ``inf`` where a queue is overloaded.

    References
    ----------
    Allen (1990), §6.3; Xu (2020), ch. 1.
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    sw = check_positive(web_service_s, "web_service_s", scalar=True)
    sj = check_positive(job_service_s, "job_service_s", scalar=True)
    cw = check_integer(web_workers, "web_workers", minimum=1, maximum=MAX_COUNT, scalar=True)
    cj = check_integer(job_workers, "job_workers", minimum=1, maximum=MAX_COUNT, scalar=True)
    e = check_nonnegative(enqueue_s, "enqueue_s", scalar=True)
    c2 = check_nonnegative(job_scv, "job_scv", scalar=True)
    inline_s = sw + sj
    inline = MGc(lam, 1.0 / inline_s, cw, scv=(sw**2 + c2 * sj**2) / inline_s**2)
    web = MMc(lam, 1.0 / (sw + e), cw)
    pool = MGc(lam, 1.0 / sj, cj, scv=c2)
    web_r = float(web.mean_response)
    rows = [
        {"design": "inline", "web_utilization": float(inline.utilization),
         "web_mean_response_s": float(inline.mean_response), "job_pool_utilization": 0.0,
         "job_done_mean_s": float(inline.mean_response)},
        {"design": "queued", "web_utilization": float(web.utilization), "web_mean_response_s": web_r,
         "job_pool_utilization": float(pool.utilization),
         "job_done_mean_s": web_r + float(pool.mean_response)},
    ]
    return pd.DataFrame(rows).set_index("design")
