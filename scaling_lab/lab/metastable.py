"""Retries and metastable overload on the real lab server: the same spike, four kinds of client.

:func:`open_loop_with_retries` is the open-loop generator of
:mod:`.loadgen` with clients that behave like real ones: each logical
request, launched at its scheduled time whatever the earlier ones do, waits
``timeout_s`` for an attempt, then closes the connection and tries again
under a retry policy (``"none"``, ``"naive"``: at once, ``"backoff"``:
exponential backoff with full jitter, ``"budget"``: at once while a token
bucket filled by a share of first attempts allows), until ``max_attempts``
attempts have failed.  A ``503`` (the server shedding load) is a failed
attempt too.  The lab server (aiohttp, no handler cancellation) keeps
serving an attempt whose client has gone, as a thread-pool or
process-per-request server does: the work is wasted.

The experiment ``retry-storm`` (:func:`run_retry_storm`) sends the same
spike (three times the base rate for a few seconds at ρ = 0.5) to a fresh
server per variant, records goodput (answers within the timeout) per second,
and puts next to it :func:`scaling_lab.simulation.simulate_retries` with the
same parameters.  The server's shedding is a bounded queue of ``K``
requests; the simulator's is the equivalent longest wait
:math:`K / (c\\mu)`.

References
----------
Bronson et al., *Metastable failures in distributed systems*, HotOS 2021;
M. Brooker, *Timeouts, retries, and backoff with jitter*, Amazon Builders'
Library, 2019.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..simulation import Exponential, PiecewisePoissonArrivals, simulate_retries
from ..simulation.retries import RETRY_POLICIES, time_to_recover
from ._checks import check_choice, check_in_range, check_integer, check_positive
from .loadgen import _Client, _launch_on_schedule, _parse_url, _run_in_thread
from .process import realtime_available
from .webserver import LabServer

__all__ = ["RetryLoadResult", "open_loop_with_retries", "run_retry_storm", "STORM_VARIANTS"]


@dataclass
class RetryLoadResult:
    """Every logical request and every attempt of one run (``CLOCK_MONOTONIC`` seconds).

    ``scheduled`` and ``answered`` (``nan`` if it never succeeded) are per logical
    request; ``attempt_request``, ``attempt_sent``, ``attempt_status`` (200, 503, …,
    0 for a timeout or connection error) per attempt.
    """

    scheduled: np.ndarray
    answered: np.ndarray
    attempt_request: np.ndarray
    attempt_sent: np.ndarray
    attempt_status: np.ndarray
    t0: float
    meta: dict = field(default_factory=dict)

    def per_second(self, bin_s: float = 1.0, duration_s: float | None = None) -> pd.DataFrame:
        """Offered requests, attempts, goodput and failed attempts per second in bins of ``bin_s`` seconds."""
        end = duration_s if duration_s is not None else float(np.nanmax(self.scheduled) - self.t0) + bin_s
        edges = np.arange(0.0, end + 1e-9, bin_s)

        def rate(times):
            t = np.asarray(times, float)
            t = t[np.isfinite(t)] - self.t0
            return np.histogram(t, edges)[0] / bin_s

        failed = self.attempt_status != 200
        return pd.DataFrame({"time_s": edges[:-1], "offered": rate(self.scheduled), "attempts": rate(self.attempt_sent),
                             "goodput": rate(self.answered), "failed_attempts": rate(self.attempt_sent[failed]),
                             "shed": rate(self.attempt_sent[self.attempt_status == 503])})


def open_loop_with_retries(url: str, arrivals, duration_s: float, *, timeout_s: float, retry_policy: str = "naive",
                           max_attempts: int = 3, backoff_s: float = 0.1, budget_ratio: float = 0.1, seed: int = 0,
                           max_requests: int = 100_000, max_connections: int = 800,
                           realtime: bool = True) -> RetryLoadResult:
    """Open-loop logical requests at the times of ``arrivals``, each retried on timeout or error.

    Parameters
    ----------
    url, arrivals, duration_s, max_requests, max_connections, realtime
        As in :func:`.loadgen.open_loop`, for the logical requests; here ``duration_s`` is at
        most 600 s and ``max_connections`` at most 900.
    timeout_s : float
        Seconds an attempt may take before the client gives up on it, in (0, 60].
    retry_policy : {"none", "naive", "backoff", "budget"}
        As in :func:`scaling_lab.simulation.simulate_retries`.
    max_attempts : int
        Attempts per logical request, 1-20.
    backoff_s : float
        Base of the backoff: the :math:`n`-th retry waits :math:`U(0, b\\,2^{n-1})`.
    budget_ratio : float
        Retry tokens per first attempt, in (0, 1]; the bucket holds ten seconds' worth.
    seed : int
        Seed of the schedule and of the jitter.

    Every loop is bounded: ``max_attempts`` per request, and the whole run is
    cancelled 5 s after the last request could have finished.
    """
    host, port, request = _parse_url(url)
    from ..simulation import ArrivalProcess

    if not isinstance(arrivals, ArrivalProcess):
        raise ValueError(f"arrivals must be an ArrivalProcess (PoissonArrivals, PiecewisePoissonArrivals, ...), got {arrivals!r}")
    duration_s = check_in_range(duration_s, "duration_s", 0.0, 600.0, low_open=True)
    timeout_s = check_in_range(timeout_s, "timeout_s", 0.0, 60.0, low_open=True)
    policy = check_choice(retry_policy, "retry_policy", RETRY_POLICIES)
    m = 1 if policy == "none" else check_integer(max_attempts, "max_attempts", minimum=1, maximum=20)
    backoff_s = check_positive(backoff_s, "backoff_s")
    budget_ratio = check_in_range(budget_ratio, "budget_ratio", 0.0, 1.0, low_open=True)
    seed = check_integer(seed, "seed", minimum=0)
    max_requests = check_integer(max_requests, "max_requests", minimum=1)
    max_connections = check_integer(max_connections, "max_connections", minimum=1, maximum=900)

    rate = float(arrivals.arrival_rate)
    n_draw = int(min(max_requests, math.ceil(rate * duration_s * 2 + 50)))
    times = arrivals.times(np.random.default_rng(seed), n_draw)
    times = times[times < duration_s][:max_requests]
    n = len(times)
    answered = np.full(n, np.nan)
    att_req: list[int] = []
    att_sent: list[float] = []
    att_status: list[int] = []
    jitter = random.Random(seed)
    bucket = {"tokens": 0.0, "cap": max(1.0, budget_ratio * rate * 10.0)}
    longest = m * (timeout_s + (backoff_s * 2 ** m if policy == "backoff" else 0.0))

    async def run():
        loop = asyncio.get_running_loop()
        client = _Client(host, port, max_connections)
        t0 = loop.time() + 0.05

        async def one(i: int):
            bucket["tokens"] = min(bucket["cap"], bucket["tokens"] + budget_ratio)
            for k in range(m):
                stamp: list = []
                status = 0
                try:
                    status, _ = await asyncio.wait_for(client.get(request, stamp), timeout_s)
                except (asyncio.TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                    pass
                att_req.append(i)
                att_sent.append(stamp[0] if stamp else time.monotonic())
                att_status.append(status)
                if status == 200:
                    answered[i] = time.monotonic()
                    return
                if k + 1 >= m:
                    return
                if policy == "budget":
                    if bucket["tokens"] < 1.0:
                        return
                    bucket["tokens"] -= 1.0
                elif policy == "backoff":
                    await asyncio.sleep(backoff_s * 2 ** k * jitter.random())

        await _launch_on_schedule(loop, t0, times, one, longest + 5.0)
        client.close()
        return t0

    t0 = _run_in_thread(run, realtime)
    return RetryLoadResult(scheduled=t0 + times, answered=answered, attempt_request=np.asarray(att_req, int),
                           attempt_sent=np.asarray(att_sent, float), attempt_status=np.asarray(att_status, int), t0=t0,
                           meta={"seed": seed, "policy": policy, "max_attempts": m, "timeout_s": timeout_s,
                                 "realtime": bool(realtime and realtime_available())})


# --------------------------------------------------------------------------- the experiment

SERVICE_MEAN_S = 0.020
WORKERS = 4
BASE_RATE = 100.0          # rho = 0.5 at 4 workers x 50/s
SPIKE_FACTOR = 3.0
TIMEOUT_S = 0.25
MAX_ATTEMPTS = 3           # m * rho = 1.5 > 1: naive retries can sustain the overload
SHED_QUEUE = 40            # about K / (c mu) = 0.2 s of waiting, under the timeout
#: name -> (retry policy, server queue bound)
STORM_VARIANTS = {"no retries": ("none", None), "naive retries": ("naive", None),
                  "backoff with jitter": ("backoff", None), "retry budget 10 %": ("budget", None),
                  "naive retries + shedding": ("naive", SHED_QUEUE)}


def run_retry_storm(*, quick: bool = False, seed: int = 0, variants=None) -> dict:
    """The spike against a fresh lab server per variant; goodput per second, measured and simulated.

    Full: 5 s at the base rate, a 4 s spike at three times it, 21 s after; quick: 2 s, 2 s, 8 s.
    Returns the tables ``timeline`` (per variant and second: offered, attempts,
    goodput, shed; measured and ``sim_goodput``) and ``summary`` (per variant:
    goodput share in the last third, time to recover, measured and simulated).
    """
    warm, spike, after = (2.0, 2.0, 8.0) if quick else (5.0, 4.0, 21.0)
    duration = warm + spike + after
    names = list(STORM_VARIANTS) if variants is None else list(variants)
    for v in names:
        check_choice(v, "variants", tuple(STORM_VARIANTS))
    arrivals = PiecewisePoissonArrivals((BASE_RATE, BASE_RATE * SPIKE_FACTOR, BASE_RATE), (warm, spike, after))
    timelines, rows = [], []
    for name in names:
        policy, queue = STORM_VARIANTS[name]
        with LabServer(Exponential(SERVICE_MEAN_S), servers=WORKERS, seed=seed, max_queue=queue) as server:
            r = open_loop_with_retries(server.url, arrivals, duration, timeout_s=TIMEOUT_S, retry_policy=policy,
                                       max_attempts=MAX_ATTEMPTS, seed=seed)
        tl = r.per_second(1.0, duration)
        shed_wait = math.inf if queue is None else queue * SERVICE_MEAN_S / WORKERS
        sim = simulate_retries(BASE_RATE, Exponential(SERVICE_MEAN_S), WORKERS, timeout_s=TIMEOUT_S,
                               burst_rate=BASE_RATE * SPIKE_FACTOR, burst_s=spike, burst_start_s=warm,
                               duration_s=duration, retry_policy=policy, max_attempts=MAX_ATTEMPTS,
                               shed_wait_s=shed_wait, seed=seed)
        tl["sim_goodput"] = sim.goodput[:len(tl)]
        tl.insert(0, "variant", name)
        timelines.append(tl)
        tail = tl["time_s"] >= warm + spike + after * 2 / 3
        ttr = time_to_recover(tl["goodput"], tl["time_s"], 1.0, warm + spike, BASE_RATE)
        rows.append({"variant": name, "retry_policy": policy, "max_queue": queue if queue is not None else -1,
                     "meas_final_goodput_share": float(tl.loc[tail, "goodput"].mean() / BASE_RATE),
                     "sim_final_goodput_share": float(tl.loc[tail, "sim_goodput"].mean() / BASE_RATE),
                     "meas_time_to_recover_s": ttr, "sim_time_to_recover_s": sim.time_to_recover_s,
                     "meas_recovered": bool(np.isfinite(ttr)), "sim_recovered": sim.recovered,
                     "attempts_per_request": float(len(r.attempt_sent) / max(len(r.scheduled), 1)),
                     "sim_wasted_work": sim.wasted_work, "requests": int(len(r.scheduled))})
    setup = pd.DataFrame([{"base_rate": BASE_RATE, "spike_factor": SPIKE_FACTOR, "spike_start_s": warm,
                           "spike_s": spike, "duration_s": duration, "timeout_s": TIMEOUT_S,
                           "max_attempts": MAX_ATTEMPTS, "servers": WORKERS, "service_mean_s": SERVICE_MEAN_S,
                           "shed_queue": SHED_QUEUE}])
    return {"timeline": pd.concat(timelines, ignore_index=True), "summary": pd.DataFrame(rows), "setup": setup}
