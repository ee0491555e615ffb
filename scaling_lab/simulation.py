"""Discrete-event simulation of queues, used to validate the analytic models.

The core is one first-come-first-served station with ``servers`` identical
servers fed by a Poisson stream.  A request's start time is
``max(arrival, earliest free server)`` (the Kiefer–Wolfowitz recursion), which
for one server reduces to Lindley's recursion and is vectorized with a running
minimum.  Every estimate comes with a 95 % confidence half-width from batch
means after a warm-up period is discarded.

References
----------
J. Kiefer and J. Wolfowitz, *On the theory of queues with many servers*,
Trans. AMS 78 (1955).  A. M. Law, *Simulation Modeling and Analysis*, 5th ed.,
McGraw-Hill, 2015, §9.5 (batch means).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._validation import check_in_range, check_integer, check_positive

__all__ = ["SimulationResult", "simulate_queue", "batch_means_ci", "fcfs_start_times"]


def batch_means_ci(samples: np.ndarray, n_batches: int = 30, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of ``samples`` and the half-width of its confidence interval by batch means.

    The series is cut into ``n_batches`` consecutive batches; their means are
    treated as independent normal observations (Student t interval).
    """
    samples = np.asarray(samples, dtype=float)
    n_batches = check_integer(n_batches, "n_batches", minimum=2)
    size = len(samples) // n_batches
    if size < 1:
        raise ValueError(f"samples must hold at least n_batches={n_batches} values, got {len(samples)}")
    means = samples[: size * n_batches].reshape(n_batches, size).mean(axis=1)
    half = stats.t.ppf(0.5 + confidence / 2, n_batches - 1) * means.std(ddof=1) / np.sqrt(n_batches)
    return float(samples.mean()), float(half)


def fcfs_start_times(arrivals: np.ndarray, services: np.ndarray, servers: int) -> tuple[np.ndarray, np.ndarray]:
    """Start times and server indices of FCFS requests at a ``servers``-server station.

    ``arrivals`` must be sorted.  For one server this is Lindley's recursion,
    vectorized: with :math:`U_n = \\sum_{i<n} (S_i - A_{i+1} + A_i)` the wait is
    :math:`W_n = U_n - \\min_{k \\le n} U_k`.  For several servers the earliest
    free server is kept in a heap (Kiefer–Wolfowitz).
    """
    n = len(arrivals)
    if servers == 1:
        gaps = np.diff(arrivals)
        u = np.concatenate(([0.0], np.cumsum(services[:-1] - gaps)))
        wait = u - np.minimum.accumulate(np.minimum(u, 0.0))
        return arrivals + wait, np.zeros(n, dtype=np.int64)
    free = [(0.0, k) for k in range(servers)]
    start = np.empty(n)
    server = np.empty(n, dtype=np.int64)
    arr = arrivals.tolist()
    svc = services.tolist()
    heapreplace = heapq.heapreplace
    for i in range(n):
        t_free, k = free[0]
        a = arr[i]
        s = a if a > t_free else t_free
        start[i] = s
        server[i] = k
        heapreplace(free, (s + svc[i], k))
    return start, server


@dataclass(frozen=True)
class SimulationResult:
    """Estimates from one simulation run, each with a 95 % confidence half-width.

    ``records`` holds one row per measured request (after warm-up) with columns
    ``arrival``, ``start``, ``finish``, ``server``, ``wait`` and ``response``
    (seconds) when the run was asked for it, else ``None``.
    """

    mean_wait: float
    mean_wait_ci: float
    mean_response: float
    mean_response_ci: float
    prob_wait: float
    prob_wait_ci: float
    n_measured: int
    waits: np.ndarray = field(repr=False)
    responses: np.ndarray = field(repr=False)
    records: pd.DataFrame | None = field(default=None, repr=False)

    def wait_quantile(self, q):
        """Empirical q-quantile of the waiting time (seconds)."""
        return np.quantile(self.waits, check_in_range(q, "q", 0.0, 1.0))

    def response_quantile(self, q):
        """Empirical q-quantile of the response time (seconds)."""
        return np.quantile(self.responses, check_in_range(q, "q", 0.0, 1.0))


def simulate_queue(arrival_rate: float, service_rate: float, servers: int, *,
                   n_requests: int = 100_000, seed: int | None = 0,
                   warmup_fraction: float = 0.1, n_batches: int = 30,
                   return_records: bool = False) -> SimulationResult:
    """Simulate an M/M/c FCFS queue and estimate its waiting and response times.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate :math:`\\lambda`, requests per second.
    service_rate : float
        Exponential service rate :math:`\\mu` per server, requests per second.
    servers : int
        Number of servers :math:`c \\ge 1`.
    n_requests : int
        Requests simulated, including the warm-up.
    seed : int or None
        Seed of the :class:`numpy.random.Generator`; the same seed gives the
        same result.
    warmup_fraction : float
        Leading fraction of requests discarded before measuring, in [0, 0.9].
    n_batches : int
        Number of batches for the batch-means confidence intervals.
    return_records : bool
        Attach the per-request :class:`pandas.DataFrame` to the result.
    """
    lam = check_positive(arrival_rate, "arrival_rate")
    mu = check_positive(service_rate, "service_rate")
    c = check_integer(servers, "servers", minimum=1)
    n = check_integer(n_requests, "n_requests", minimum=100)
    warm = check_in_range(warmup_fraction, "warmup_fraction", 0.0, 0.9)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n))
    services = rng.exponential(1.0 / mu, n)
    start, server = fcfs_start_times(arrivals, services, c)
    skip = int(n * warm)
    waits = (start - arrivals)[skip:]
    responses = waits + services[skip:]
    mw, mw_ci = batch_means_ci(waits, n_batches)
    mr, mr_ci = batch_means_ci(responses, n_batches)
    pw, pw_ci = batch_means_ci((waits > 0).astype(float), n_batches)
    records = None
    if return_records:
        records = pd.DataFrame({
            "arrival": arrivals[skip:], "start": start[skip:],
            "finish": start[skip:] + services[skip:], "server": server[skip:],
            "wait": waits, "response": responses,
        })
    return SimulationResult(mw, mw_ci, mr, mr_ci, pw, pw_ci, len(waits), waits, responses, records)
