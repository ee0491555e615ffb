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

from .core.validation import MAX_COUNT, check_integer, check_invertible, check_nonnegative, check_positive, check_probability
from .approximations import MGc
from .queueing import MMc, erlang_b
from .core.arrays import scalar_or_array

__all__ = [
    "BurstBacklog",
    "burst_backlog",
    "workers_for_drain_time",
    "waiting_count",
    "time_average_in_system",
    "decoupling_comparison",
    "prob_rejected_bounded",
    "BoundedBurst",
    "bounded_burst",
    "DeliveryOutcome",
    "delivery_outcome",
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
        with np.errstate(over="ignore"):  # drained or grown past the float range: 0 or inf, the limits
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
    if t + d == 0 or math.isinf(d):
        ratio = math.inf if math.isinf(d) else lb / mu
    else:
        with np.errstate(over="ignore"):
            ratio = float(np.float64(lb * t + l0 * d) / ((t + d) * mu))
        if not math.isfinite(ratio):  # a product past the float range: the same average, weights scaled to <= 1
            w = max(t, d)
            ratio = (lb * (t / w) + l0 * (d / w)) / ((t / w + d / w) * mu)
    rates = [l0 / mu] + ([] if math.isinf(ratio) else [ratio])
    if max(rates) >= MAX_COUNT:
        raise ValueError(f"no pool of up to {MAX_COUNT:.0e} workers serves base_rate={base_rate!r}, "
                         f"burst_rate={burst_rate!r} for burst_s={burst_s!r} and drains within "
                         f"drain_target_s={drain_target_s!r} at service_rate={service_rate!r}")
    stable = math.floor(l0 / mu) + 1
    need = stable if math.isinf(ratio) else math.ceil(ratio - 1e-12)
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
    if np.any(s < a):  # no job starts before it arrives, so the k-th start comes after the k-th arrival
        k = int(np.flatnonzero(s < a)[0])
        raise ValueError(f"starts must not precede arrivals: the {k + 1}-th earliest start {s[k]!r} comes before "
                         f"the {k + 1}-th earliest arrival {a[k]!r}")
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
    sw = check_invertible(web_service_s, "web_service_s", scalar=True)  # rates 1 / S: finite
    sj = check_invertible(job_service_s, "job_service_s", scalar=True)
    cw = check_integer(web_workers, "web_workers", minimum=1, maximum=MAX_COUNT, scalar=True)
    cj = check_integer(job_workers, "job_workers", minimum=1, maximum=MAX_COUNT, scalar=True)
    e = check_nonnegative(enqueue_s, "enqueue_s", scalar=True)
    c2 = check_nonnegative(job_scv, "job_scv", scalar=True)
    inline_s = sw + sj
    if inline_s < 1e150:
        inline_scv = (sw**2 + c2 * sj**2) / inline_s**2
    else:  # the same ratio with every term scaled by the sum, so that no square leaves the float range
        inline_scv = (sw / inline_s) ** 2 + c2 * (sj / inline_s) ** 2
    inline = MGc(lam, 1.0 / inline_s, cw, scv=inline_scv)
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


def prob_rejected_bounded(arrival_rate: float, service_rate: float, servers: int, buffer_size: int = 100) -> float:
    """Share of jobs a bounded queue turns away: the blocking probability of M/M/c/(c+K).

    With :math:`c` workers and room for :math:`K` waiting jobs, an arriving job
    that finds all :math:`c + K` places taken is rejected (the producer gets
    "queue full" and must retry later or drop it: back-pressure).  With
    :math:`a = \\lambda/\\mu`, :math:`\\rho = a/c` and the Erlang B blocking
    :math:`B = B(c, a)`, the stationary distribution gives

    .. math:: P_{\\text{reject}} = \\frac{\\rho^K}{1/B + \\sum_{j=1}^{K} \\rho^j},

    which is Erlang B at :math:`K = 0`, :math:`\\rho^K(1-\\rho)/(1-\\rho^{K+1})`
    for one worker, and tends to 0 (:math:`\\rho < 1`) or :math:`1 - 1/\\rho`
    (:math:`\\rho > 1`) as :math:`K \\to \\infty`: a bound is what keeps an
    overloaded queue finite.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda \\ge 0`, jobs per second (may exceed the capacity).
    service_rate : float
        :math:`\\mu > 0`, jobs per second per worker.
    servers : int
        Workers :math:`c \\ge 1`.
    buffer_size : int
        Waiting places :math:`K` in [0, 10^9].

    References
    ----------
    L. Kleinrock, *Queueing Systems, Volume 1: Theory*, Wiley, 1975, sec. 3.6 (M/M/m/K).
    """
    lam = check_nonnegative(arrival_rate, "arrival_rate", scalar=True)
    mu = check_positive(service_rate, "service_rate", scalar=True)
    c = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    k = check_integer(buffer_size, "buffer_size", minimum=0, maximum=MAX_COUNT, scalar=True)
    a = float(lam) / float(mu)
    if a == 0:
        return 0.0
    b = float(erlang_b(c, a))
    rho = a / c
    if b == 0:
        return 0.0
    if rho < 1:
        tail = rho * (1.0 - rho ** k) / (1.0 - rho)          # sum_{j=1}^K rho^j
        out = rho ** k / (1.0 / b + tail)
    elif rho == 1:
        out = 1.0 / (1.0 / b + k)
    else:                                                     # divide through by rho^K
        inv = 1.0 / rho
        out = 1.0 / (inv ** k / b + (1.0 - inv ** k) / (1.0 - inv))
    return float(min(max(out, 0.0), 1.0))


@dataclass(frozen=True)
class BoundedBurst:
    """A burst at a worker pool whose queue holds at most ``buffer_size`` jobs (fluid model).

    Attributes
    ----------
    peak_backlog : float
        :math:`\\min(B(T), K)` jobs waiting when the burst ends.
    rejected : float
        :math:`(B(T) - K)^+` jobs turned away during the burst.
    time_to_full_s : float
        :math:`K/(\\lambda_b - C)` seconds into the burst when the queue fills (``inf`` if it never does).
    max_wait_s : float
        :math:`\\min(B(T), K)/C`, the longest wait of an accepted job.
    drain_time_s : float
        Seconds after the burst to empty the queue, :math:`\\min(B(T), K)/(C - \\lambda_0)`.
    """

    buffer_size: int
    peak_backlog: float
    rejected: float
    time_to_full_s: float
    max_wait_s: float
    drain_time_s: float


def bounded_burst(base_rate: float, burst_rate: float, burst_s: float, service_rate: float, workers: int,
                  buffer_size: int = 5000) -> BoundedBurst:
    """What a bounded queue does with a burst: it caps the wait and rejects the excess.

    In the fluid model of :func:`burst_backlog` the queue grows at
    :math:`\\lambda_b - C` until it holds :math:`K` jobs; from then on it
    accepts only what the pool completes and rejects the rest:

    .. math:: B_K = \\min(B(T), K), \\qquad R = (B(T) - K)^+, \\qquad
              W_{\\max} = B_K / C, \\qquad t_{\\text{full}} = \\frac{K}{\\lambda_b - C}.

    Parameters
    ----------
    base_rate, burst_rate, burst_s, service_rate, workers
        As :func:`burst_backlog`.
    buffer_size : int
        Queue bound :math:`K` in [0, 10^9] jobs.

    References
    ----------
    Newell (1982), ch. 2; Kleinrock (1975), sec. 3.6.
    """
    free = burst_backlog(base_rate, burst_rate, burst_s, service_rate, workers)
    k = check_integer(buffer_size, "buffer_size", minimum=0, maximum=MAX_COUNT, scalar=True)
    peak = min(free.peak_backlog, float(k))
    grow = free.burst_rate - free.capacity
    to_full = float(k) / grow if grow > 0 and free.peak_backlog >= k else math.inf
    spare = free.capacity - free.base_rate
    drain = 0.0 if peak == 0 else (peak / spare if spare > 0 else math.inf)
    return BoundedBurst(k, peak, max(free.peak_backlog - k, 0.0), to_full, peak / free.capacity, drain)


@dataclass(frozen=True)
class DeliveryOutcome:
    """At-least-once delivery with retries and a dead-letter queue, per message.

    Attributes
    ----------
    mean_attempts : float
        Expected deliveries of one message, :math:`E[A]`.
    prob_dead_letter : float
        :math:`P_{\\text{DLQ}}`, share of messages moved to the dead-letter queue.
    mean_executions : float
        Expected times the consumer's side effect runs per message (above 1:
        duplicates, so the consumer must be idempotent).
    """

    mean_attempts: float
    prob_dead_letter: float
    mean_executions: float


def delivery_outcome(prob_fail: float = 0.01, max_attempts: int = 5, *, prob_poison: float = 0.0,
                     prob_after_effect: float = 0.5) -> DeliveryOutcome:
    """Retries, duplicates and dead letters of an at-least-once queue.

    A consumer takes a message, does the work and acknowledges it.  An attempt
    fails (crash, timeout, error: the message becomes visible again) with
    probability :math:`p`, independently; a *poison* message (a fraction
    :math:`\\pi`) fails every time.  After :math:`n` failed attempts the
    message goes to the dead-letter queue.  A failure that strikes after the
    work took effect but before the acknowledgement (probability :math:`e`
    among failures) makes the next attempt a duplicate.  For a normal message
    the attempts are a geometric variable truncated at :math:`n`:

    .. math:: E[A] = \\frac{1 - p^n}{1 - p}, \\qquad
              P_{\\text{DLQ}} = \\pi + (1 - \\pi)\\,p^n, \\qquad
              E[X] = (1 - p^n) + e\\,(E[A] - (1 - p^n)),

    and a poison message costs :math:`n` attempts (:math:`E[X] = e\\,n`).
    The queue's consumers must be sized for :math:`E[A]` times the message
    rate, and retries of a failing dependency multiply its load by up to
    :math:`n`.

    Parameters
    ----------
    prob_fail : float
        :math:`p` in [0, 1].
    max_attempts : int
        :math:`n` in [1, 10^6].
    prob_poison : float
        :math:`\\pi` in [0, 1].
    prob_after_effect : float
        :math:`e` in [0, 1].

    References
    ----------
    M. Kleppmann, *Designing Data-Intensive Applications*, O'Reilly, 2017, ch. 11
    (acknowledgements, redelivery and idempotence).
    """
    p = check_probability(prob_fail, "prob_fail", scalar=True)
    n = check_integer(max_attempts, "max_attempts", minimum=1, maximum=10**6, scalar=True)
    poison = check_probability(prob_poison, "prob_poison", scalar=True)
    e = check_probability(prob_after_effect, "prob_after_effect", scalar=True)
    pn = float(p) ** n
    attempts = float(n) if p == 1 else (1.0 - pn) / (1.0 - float(p))
    executions = (1.0 - pn) + e * (attempts - (1.0 - pn))
    return DeliveryOutcome(
        mean_attempts=(1.0 - poison) * attempts + poison * n,
        prob_dead_letter=min(poison + (1.0 - poison) * pn, 1.0),
        mean_executions=(1.0 - poison) * executions + poison * e * n,
    )
