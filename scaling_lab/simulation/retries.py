"""Client timeouts, retries and abandonment: how a spike can leave a queue stuck in overload.

A queueing model with a fixed arrival rate recovers when a spike ends: the
backlog drains at :math:`c\\mu - \\lambda_0` (the fluid model of
:func:`scaling_lab.backlog.burst_backlog`).  Real clients give up after a
timeout :math:`\\tau` and try again, and a server that does not know the client
has gone still serves the abandoned attempt.  Once the queue holds more than
:math:`\\tau` of work, *every* attempt times out, each logical request turns
into up to :math:`m` attempts, and the server sees

.. math:: \\lambda_{\\text{eff}} = m\\,\\lambda_0 \\quad\\text{while}\\quad
          \\rho_{\\text{eff}} = \\frac{m\\lambda_0}{c\\mu} > 1,

so the backlog keeps growing after the spike has gone and goodput stays near
zero: a *metastable* failure (Bronson et al. 2021).  It sustains itself only
when :math:`m\\rho > 1`; the spike decides whether the system gets there.

:func:`simulate_retries` runs one FCFS station with :math:`c` servers under a
Poisson base load with a spike, clients with a timeout and a retry policy
(``"none"``: abandon after one attempt; ``"naive"``: retry at once;
``"backoff"``: exponential backoff with full jitter, the :math:`n`-th retry
after :math:`U(0, b\\,2^{n-1})`; ``"budget"``: retry at once but only while a
token bucket filled by a fixed share of first attempts allows, as in Finagle's
``RetryBudget`` and gRPC's retry throttling), optionally with load shedding at
the server (an attempt that would wait longer than ``shed_wait_s`` is rejected
at once instead of queued).  Attempts are served in arrival order; retries
always arrive later than the attempt they replace, so one pass over a heap of
pending attempts with a heap of server free times is an exact event-driven
FCFS simulation (the Kiefer–Wolfowitz recursion with arrivals created on the
fly).  :func:`metastability_map` repeats it over a grid of spike sizes and
lengths.

References
----------
N. Bronson, A. Aghayev, A. Charapko and T. Zhu, *Metastable failures in
distributed systems*, HotOS 2021.  L. Huang et al., *Metastable failures in
the wild*, OSDI 2022.  M. Brooker, *Exponential backoff and jitter*, AWS
Architecture Blog, 2015.  Twitter Finagle, ``RetryBudget``; gRPC, *A63:
client-side retry throttling* (token bucket).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.validation import check_in_range, check_integer, check_nonnegative, check_positive
from .distributions import Distribution, check_distribution

__all__ = ["RETRY_POLICIES", "RetrySimulationResult", "simulate_retries", "metastability_map"]

RETRY_POLICIES = ("none", "naive", "backoff", "budget")
MAX_LOGICAL_REQUESTS = 400_000
#: A bin counts as healthy when its goodput is at least half the base rate: a stuck station's goodput
#: is near zero, a recovered one's near the base rate, and a 1 s bin of a Poisson stream at 100/s
#: falls below 90 % of its rate in about one bin in seven, so a stricter share would call noise a failure.
HEALTHY_SHARE = 0.5


@dataclass(frozen=True)
class RetrySimulationResult:
    """Per-bin rates (per second) of one run, and whether goodput came back after the spike.

    ``goodput`` counts logical requests answered within the timeout, in the bin of
    their answer; ``attempts`` counts every attempt sent (first tries and retries);
    ``wasted_work`` is the share of the servers' busy time spent on attempts whose
    client had already timed out.  ``time_to_recover_s`` is measured from the end of
    the spike to the start of the first bin from which every later bin has
    goodput of at least half the base rate (``inf`` if that never happens).
    """

    time_s: np.ndarray
    offered: np.ndarray
    attempts: np.ndarray
    goodput: np.ndarray
    timeouts: np.ndarray
    rejected: np.ndarray
    spike_end_s: float
    base_rate: float
    wasted_work: float
    abandoned_fraction: float
    time_to_recover_s: float

    @property
    def recovered(self) -> bool:
        """True if goodput returned to half the base rate or more after the spike and stayed there."""
        return bool(np.isfinite(self.time_to_recover_s))

    def frame(self) -> pd.DataFrame:
        """The per-bin rates as a DataFrame."""
        return pd.DataFrame({"time_s": self.time_s, "offered": self.offered, "attempts": self.attempts,
                             "goodput": self.goodput, "timeouts": self.timeouts, "rejected": self.rejected})


def _check_policy(retry_policy: str) -> str:
    if retry_policy not in RETRY_POLICIES:
        raise ValueError(f"retry_policy must be one of {RETRY_POLICIES}, got {retry_policy!r}")
    return retry_policy


def _spiky_poisson(rng, base_rate, burst_rate, burst_start_s, burst_s, duration_s) -> np.ndarray:
    """Poisson arrivals at ``base_rate`` on [0, duration_s) and at ``burst_rate`` during the spike."""
    t0, t1 = min(burst_start_s, duration_s), min(burst_start_s + burst_s, duration_s)
    pieces = [(0.0, t0, base_rate), (t0, t1, burst_rate), (t1, duration_s, base_rate)]
    out = [a + (b - a) * rng.random(rng.poisson(rate * (b - a))) for a, b, rate in pieces if b > a and rate > 0]
    return np.sort(np.concatenate(out)) if out else np.empty(0)


def time_to_recover(goodput, time_s, bin_s: float, spike_end_s: float, base_rate: float) -> float:
    """Seconds from the spike's end to the first bin from which every later bin is healthy (inf if none)."""
    goodput, time_s = np.asarray(goodput, float), np.asarray(time_s, float)
    after = time_s + bin_s > spike_end_s
    healthy = goodput >= HEALTHY_SHARE * base_rate
    idx = np.flatnonzero(after)
    for j in idx:
        if healthy[j:].all():
            return float(max(time_s[j] - spike_end_s, 0.0))
    return math.inf


def simulate_retries(arrival_rate: float, service: Distribution, servers: int, *, timeout_s: float,
                     burst_rate: float, burst_s: float, burst_start_s: float = 10.0, duration_s: float = 60.0,
                     retry_policy: str = "naive", max_attempts: int = 3, backoff_s: float = 0.1,
                     budget_ratio: float = 0.1, shed_wait_s: float = math.inf, bin_s: float = 1.0,
                     seed: int | None = 0) -> RetrySimulationResult:
    """Simulate a FCFS station whose clients time out and retry, through a spike of load.

    Logical requests arrive as a Poisson stream at ``arrival_rate`` (at
    ``burst_rate`` during ``[burst_start_s, burst_start_s + burst_s)``).  Each
    attempt either finishes within ``timeout_s`` of being sent (a success,
    counted in goodput at its finish) or the client gives up on it at
    ``timeout_s`` while the server still serves it (wasted work), and retries
    under ``retry_policy`` until ``max_attempts`` attempts have failed (then
    the request is abandoned).  With ``shed_wait_s`` finite, the server rejects
    at once an attempt that would wait longer than that (a bounded queue
    measured in time), and the rejection is a failed attempt.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda_0`, logical requests per second outside the spike (> 0).
    service : Distribution
        Service time of one attempt, seconds.
    servers : int
        :math:`c \\ge 1`.
    timeout_s : float
        :math:`\\tau`, the client's timeout per attempt, seconds (> 0).
    burst_rate : float
        Logical requests per second during the spike (>= 0).
    burst_s, burst_start_s : float
        Length and start of the spike, seconds (>= 0).
    duration_s : float
        Length of the run, seconds (> 0); arrivals stop then, the requests in
        flight are still followed to their end.
    retry_policy : {"none", "naive", "backoff", "budget"}
        See the module notes.
    max_attempts : int
        Attempts per logical request, 1-100 (``"none"`` always makes one).
    backoff_s : float
        Base :math:`b` of the exponential backoff, seconds (``"backoff"``).
    budget_ratio : float
        Retry tokens earned per first attempt, in (0, 1] (``"budget"``); the
        bucket holds at most ten seconds' worth at the base rate.
    shed_wait_s : float
        Longest wait the server accepts, seconds (``inf``: no shedding).
    bin_s : float
        Width of the time bins of the result, seconds.
    seed : int or None
        Seed of the :class:`numpy.random.Generator`.

    Returns
    -------
    RetrySimulationResult
        Per-bin offered load, attempts, goodput, timeouts and rejections
        (per second), wasted work and the time to recover.

    References
    ----------
    Bronson et al., HotOS 2021; Brooker, "Exponential backoff and jitter", 2015.
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    dist = check_distribution(service, "service")
    c = check_integer(servers, "servers", minimum=1, maximum=10_000, scalar=True)
    tau = check_positive(timeout_s, "timeout_s", scalar=True)
    lam_b = check_nonnegative(burst_rate, "burst_rate", scalar=True)
    t_b = check_nonnegative(burst_s, "burst_s", scalar=True)
    t_0 = check_nonnegative(burst_start_s, "burst_start_s", scalar=True)
    horizon = check_positive(duration_s, "duration_s", scalar=True)
    policy = _check_policy(retry_policy)
    m = 1 if policy == "none" else check_integer(max_attempts, "max_attempts", minimum=1, maximum=100, scalar=True)
    base = check_positive(backoff_s, "backoff_s", scalar=True)
    ratio = check_in_range(budget_ratio, "budget_ratio", 0.0, 1.0, low_open=True, scalar=True)
    shed = check_positive(shed_wait_s, "shed_wait_s", allow_inf=True, scalar=True)
    width = check_positive(bin_s, "bin_s", scalar=True)
    expected = lam * horizon + lam_b * min(t_b, max(horizon - t_0, 0.0))
    if expected > MAX_LOGICAL_REQUESTS or horizon / width > 100_000:
        raise ValueError(f"arrival_rate, burst_rate, burst_s and duration_s give {expected:.3g} requests; at most "
                         f"{MAX_LOGICAL_REQUESTS} (and duration_s / bin_s at most 100,000)")
    rng = np.random.default_rng(seed)
    first = _spiky_poisson(rng, lam, lam_b, t_0, t_b, horizon)
    n = len(first)
    n_bins = int(math.ceil(horizon / width))
    counts = {k: np.zeros(n_bins + 1) for k in ("offered", "attempts", "goodput", "timeouts", "rejected")}

    def count(kind: str, t: float) -> None:
        counts[kind][min(int(t / width), n_bins)] += 1

    svc = dist.sample(rng, max(4 * n, 16))
    jitter = rng.random(max(4 * n, 16))
    draws = {"svc": 0, "jitter": 0}
    free = [0.0] * c  # heap of the servers' next free times
    pending = [(float(t), i, 0) for i, t in enumerate(first)]  # (arrival of the attempt, request, attempt index)
    heapq.heapify(pending)
    seq = n
    tokens, cap = 0.0, max(1.0, ratio * lam * 10.0)
    busy = wasted = 0.0
    abandoned = 0

    def draw(kind: str, sampler) -> float:
        nonlocal svc, jitter
        arr = svc if kind == "svc" else jitter
        if draws[kind] >= len(arr):
            arr = sampler(len(arr))
            if kind == "svc":
                svc = arr
            else:
                jitter = arr
            draws[kind] = 0
        draws[kind] += 1
        return float(arr[draws[kind] - 1])

    while pending:
        a, req, k = heapq.heappop(pending)
        count("attempts", a)
        if k == 0:
            count("offered", a)
            tokens = min(cap, tokens + ratio)
        wait = max(free[0] - a, 0.0)
        if wait > shed:
            count("rejected", a)
            gave_up_at = a  # a rejection comes back at once
        else:
            s = draw("svc", lambda size: dist.sample(rng, size))
            finish = a + wait + s
            heapq.heapreplace(free, finish)
            busy += s
            if finish - a <= tau:
                count("goodput", finish)
                continue
            wasted += s
            count("timeouts", a + tau)
            gave_up_at = a + tau
        if k + 1 >= m:
            abandoned += 1
            continue
        if policy == "budget":
            if tokens < 1.0:
                abandoned += 1
                continue
            tokens -= 1.0
        delay = base * 2.0 ** k * draw("jitter", rng.random) if policy == "backoff" else 0.0
        heapq.heappush(pending, (gave_up_at + delay, seq, k + 1))
        seq += 1
    time_s = np.arange(n_bins) * width
    span = np.minimum(width, horizon - time_s)
    rates = {k: v[:n_bins] / span for k, v in counts.items()}
    spike_end = min(t_0 + t_b, horizon)
    return RetrySimulationResult(
        time_s=time_s, **rates, spike_end_s=float(spike_end), base_rate=float(lam),
        wasted_work=float(wasted / busy) if busy > 0 else 0.0,
        abandoned_fraction=float(abandoned / n) if n else 0.0,
        time_to_recover_s=time_to_recover(rates["goodput"], time_s, width, spike_end, lam))


def metastability_map(arrival_rate: float, service: Distribution, servers: int, *, timeout_s: float,
                      burst_rates, burst_lengths_s, retry_policy: str = "naive", max_attempts: int = 3,
                      observe_s: float = 30.0, seed: int | None = 0, **kwargs) -> pd.DataFrame:
    """Which spikes tip the station into the stuck state: :func:`simulate_retries` over a grid.

    For every spike rate in ``burst_rates`` (per second) and length in
    ``burst_lengths_s`` (seconds), one run with a 10 s warm-up, the spike, and
    ``observe_s`` seconds after it; the table gives whether goodput recovered,
    the time it took, the goodput over the last third of the observation as a
    share of the base rate, and the fluid model's drain time without retries
    (:func:`scaling_lab.backlog.burst_backlog`) for comparison.  Extra keyword
    arguments go to :func:`simulate_retries`.  ``observe_s`` is at least three
    of its ``bin_s`` (3 s by default), so that the last third holds a bin.

    Returns
    -------
    pandas.DataFrame
        One row per (burst_rate, burst_s).
    """
    from ..backlog import burst_backlog

    rates = np.atleast_1d(check_nonnegative(burst_rates, "burst_rates")).astype(float)
    lengths = np.atleast_1d(check_nonnegative(burst_lengths_s, "burst_lengths_s")).astype(float)
    if rates.ndim != 1 or lengths.ndim != 1 or rates.size * lengths.size > 400:
        raise ValueError(f"burst_rates and burst_lengths_s must be 1-D with at most 400 pairs, got "
                         f"{rates.size} x {lengths.size}")
    observe = check_positive(observe_s, "observe_s", scalar=True)
    bin_s = check_positive(kwargs.get("bin_s", 1.0), "bin_s", scalar=True)
    if observe < 3 * bin_s:  # the last third of the observation must hold a goodput bin
        raise ValueError(f"observe_s must be at least 3 bin_s = {3 * bin_s:g} s, got {observe:g}")
    dist = check_distribution(service, "service")
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    with np.errstate(over="ignore"):
        worst = lam * (10.0 + lengths.max() + observe) + rates.max() * lengths.max()
    if not worst <= MAX_LOGICAL_REQUESTS:
        raise ValueError(f"arrival_rate, burst_rates, burst_lengths_s and observe_s give up to {worst:.3g} requests per run; "
                         f"at most {MAX_LOGICAL_REQUESTS}")
    rows = []
    for lb in rates:
        for tb in lengths:
            r = simulate_retries(arrival_rate, dist, servers, timeout_s=timeout_s, burst_rate=lb, burst_s=tb,
                                 burst_start_s=10.0, duration_s=10.0 + tb + observe, retry_policy=retry_policy,
                                 max_attempts=max_attempts, seed=seed, **kwargs)
            tail = r.time_s >= r.spike_end_s + observe * 2 / 3
            fluid = burst_backlog(arrival_rate, lb, tb, 1.0 / dist.mean, servers)
            rows.append({"burst_rate": lb, "burst_s": tb, "recovered": r.recovered,
                         "time_to_recover_s": r.time_to_recover_s,
                         "final_goodput_share": float(r.goodput[tail].mean() / arrival_rate) if tail.any() else math.nan,
                         "wasted_work": r.wasted_work, "fluid_drain_s": float(fluid.drain_time_s)})
    return pd.DataFrame(rows)
