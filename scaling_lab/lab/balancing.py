"""Chapter 4 in the lab: HAProxy's routing policies on real servers, and a server dying under load.

``balancer-policies`` (:func:`run_balancer_policies`)
    Four lab servers with one worker each (service exponential or lognormal
    with SCV 4, mean 20 ms) behind HAProxy (``weight 256``, see
    :mod:`.haproxy`), under the same open-loop Poisson load at ρ = 0.8 and 0.9
    with each of ``roundrobin``, ``leastconn``, ``random(2)`` and ``random(1)``
    (HAProxy's bare ``random`` is ``random(2)``: its draws default to 2).
    HAProxy draws its two servers with replacement, the simulator without, so
    with four servers a quarter of HAProxy's two-choice picks are one random
    pick: the model is a little optimistic for ``random(2)``.
    Measured mean and p99 next to :func:`~scaling_lab.simulation.simulate_pool`
    with the same policy (``round_robin``, ``jsq``, ``power_of_d`` with
    d = 2, ``random``), the mean-field limit
    (:func:`~scaling_lab.loadbalancing.mean_field_response_time`, exponential
    service, d = 1 and 2; four servers are far from the limit) and the
    same-path replay: this run's own arrivals and service times routed by the
    *ideal* policy (:func:`replay_pool`).  Measured over replayed is how much a
    real balancer's view lags the model's (a connection count, seen through
    the balancer's own event loop, against the exact queue lengths).
``backend-failure`` (:func:`run_backend_failure`)
    Four single-worker servers behind HAProxy ``roundrobin`` with health checks
    (``inter`` 0.5 s, ``fall`` 3, ``rise`` 2) at ρ = 0.5; one server is killed
    (SIGKILL) mid-run.  HAProxy's default (no ``option redispatch``) retries a
    refused connection on the same server and then answers 503, so every
    request routed to the dead server before the checks remove it fails.
    Failed requests per failure against
    :func:`~scaling_lab.healthcheck.requests_to_failed_server` with HAProxy's
    actual ``inter``/``fall`` (and the spread of
    :func:`~scaling_lab.healthcheck.simulate_failed_requests`); then the
    survivors' mean and p99 against the pool of three (the N+1 model's
    utilization after a failure, simulated behind round robin).

References
----------
HAProxy 2.6 Configuration Manual, §4.2 ``balance``, ``option redispatch``, ``retries``, §5.2
``check``/``inter``/``fall``/``rise``.  M. Mitzenmacher, IEEE TPDS 12 (2001).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from ..healthcheck import requests_to_failed_server, simulate_failed_requests
from ..loadbalancing import mean_field_response_time
from ..simulation import ROUTING_POLICIES, Exponential, LogNormal, PoissonArrivals, simulate_pool
from ..simulation.kernels import _router_kernel
from ._checks import check_choice, check_integer
from .experiments import QUANTILES, _t_half
from .haproxy import HAProxy
from .loadgen import LoadResult, latency_summary, open_loop
from .webserver import LabServer

__all__ = ["HAPROXY_TO_POOL", "replay_pool", "run_balancer_policies", "run_backend_failure", "summarize_policy_runs"]

#: HAProxy's ``balance`` → (``simulate_pool`` policy, d)
HAPROXY_TO_POOL = {"roundrobin": ("round_robin", 1), "leastconn": ("jsq", 1), "random(2)": ("power_of_d", 2),
                   "random(1)": ("random", 1), "random": ("power_of_d", 2)}
#: The policies compared (a bare ``random`` is ``random(2)`` in HAProxy)
POLICIES = ("roundrobin", "leastconn", "random(2)", "random(1)")
SERVICE_MEAN_S = 0.020
BACKENDS = 4


def replay_pool(result: LoadResult, servers: int, policy: str, *, d: int = 2, seed: int = 0) -> np.ndarray:
    """Latency of ``result``'s answered requests had an ideal router with ``policy`` spread them over ``servers``.

    The run's server-side arrival times and measured service times (every
    backend stamps both, on the machine's one ``CLOCK_MONOTONIC``) go through
    the simulator's router (:func:`~scaling_lab.simulation.simulate_pool`'s
    kernel, one worker per station); the measured transport (client to
    balancer to backend and back) is kept, as in :func:`.replay`.  Random
    choices (ties, the random policies) are drawn from ``seed``.  Returns
    seconds, in the order of the answered requests.
    """
    servers = check_integer(servers, "servers", minimum=1)
    check_choice(policy, "policy", ROUTING_POLICIES)
    if not isinstance(result, LoadResult):
        raise ValueError(f"result must be a LoadResult from open_loop, got {type(result).__name__}")
    keep = result.ok & np.isfinite(result.server_arrival) & np.isfinite(result.service_end)
    a, s = result.server_arrival[keep], result.service[keep]
    order = np.argsort(a, kind="stable")
    rng = np.random.default_rng(seed)
    n, code = len(a), ROUTING_POLICIES.index(policy)
    tie_u = rng.random(n)
    pick_u = rng.random((n, min(d, servers))) if policy == "power_of_d" else np.zeros((1, 1))
    start, finish, _, _ = _router_kernel(np.ascontiguousarray(a[order]), np.ascontiguousarray(s[order]), servers, 1,
                                         code, d, tie_u, pick_u, np.zeros(servers + 1, dtype=np.int64),
                                         np.zeros(0), np.zeros(0), False)
    sojourn = np.empty(n)
    sojourn[order] = finish - a[order]
    transport = result.latency[keep] - result.sojourn[keep]
    return transport + sojourn


def _services():
    return {"exponential": Exponential(SERVICE_MEAN_S), "lognormal SCV 4": LogNormal(SERVICE_MEAN_S, 4.0)}


def run_balancer_policies(*, quick: bool = False, seed: int = 0) -> dict:
    """Every HAProxy policy at ρ = 0.8 and 0.9, exponential and SCV 4 service: measured, replayed, simulated.

    Quick: ρ = 0.9, exponential only, 8 s per policy, one repeat; full: 20 s, two repeats.
    Returns ``runs`` (one row per run), ``summary`` (means over repeats with 95 % t
    half-widths, and the models) and ``shares`` (each backend's share of requests per run).
    """
    rhos = (0.9,) if quick else (0.8, 0.9)
    services = {"exponential": _services()["exponential"]} if quick else _services()
    repeats, duration, warmup = (1, 8.0, 1.0) if quick else (2, 20.0, 2.0)
    rows, share_rows, model_rows = [], [], []
    for sname, service in services.items():
        for rho in rhos:
            lam = rho * BACKENDS / SERVICE_MEAN_S
            todo = [(rep, policy) for rep in range(repeats) for policy in POLICIES]
            for attempt in range(3 * len(todo)):  # bounded: a disturbed run is repeated, at most twice per run
                if not todo:
                    break
                rep, policy = todo.pop(0)
                tries = sum(1 for x in rows if (x["service"], x["rho"], x["policy"], x["repeat"]) == (sname, rho, policy, rep))
                run_seed = seed + 100 * rep + int(rho * 10) + 1000 * tries
                servers = [LabServer(service, servers=1, seed=seed + 17 * i + rep) for i in range(BACKENDS)]
                try:
                    for srv in servers:
                        srv.start()
                    with HAProxy([srv.port for srv in servers], balance=policy) as h:
                        r = open_loop(h.url, PoissonArrivals(lam), duration, seed=run_seed)
                        counts = [int(x["stot"]) for x in h.stats()]
                finally:
                    for srv in servers:
                        srv.stop()
                pool_policy, d = HAPROXY_TO_POOL[policy]
                keep = r.ok & np.isfinite(r.server_arrival) & np.isfinite(r.service_end)
                counted = r.scheduled[keep] >= r.scheduled[0] + warmup
                replayed = replay_pool(r, BACKENDS, pool_policy, d=2, seed=run_seed)
                m = latency_summary(r.latency[keep][counted], QUANTILES)
                p = latency_summary(replayed[counted], QUANTILES)
                rows.append({"service": sname, "rho": rho, "policy": policy, "repeat": rep, "n": m["n"],
                             "failures": r.failures, "lag_p99": r.lag_quantile(0.99),
                             "meas_mean": m["mean"], "meas_p99": m["p99"],
                             "replay_mean": p["mean"], "replay_p99": p["p99"],
                             "max_share": max(counts) / max(sum(counts), 1),
                             "disturbed": _disturbed(r)})
                if rows[-1]["disturbed"] and tries < 2:
                    todo.append((rep, policy))
                share_rows += [{"service": sname, "rho": rho, "policy": policy, "repeat": rep, "backend": i,
                                "share": c / max(sum(counts), 1)} for i, c in enumerate(counts)]
            for policy in POLICIES:
                pool_policy, d = HAPROXY_TO_POOL[policy]
                sim = simulate_pool(lam, service, BACKENDS, pool_policy, d=2, n_requests=400_000, seed=seed)
                mf = (float(mean_field_response_time(rho, 1 if policy == "random(1)" else 2)) * SERVICE_MEAN_S
                      if sname == "exponential" and policy in ("random(1)", "random(2)") else np.nan)
                model_rows.append({"service": sname, "rho": rho, "policy": policy,
                                   "sim_mean": float(sim.mean_response), "sim_mean_ci": float(sim.mean_response_ci),
                                   "sim_p99": float(sim.response_quantile(0.99)), "mean_field_mean": mf})
    runs = pd.DataFrame(rows)
    summary = summarize_policy_runs(runs).merge(pd.DataFrame(model_rows), on=["service", "rho", "policy"])
    return {"runs": runs, "summary": summary, "shares": pd.DataFrame(share_rows)}


#: A run whose generator sent 1 % of its requests more than 20 ms late, or lost a request, was
#: disturbed by other jobs on the machine (a stall of the whole machine, not the balancer).
MAX_LAG_P99_S = 0.020


def _disturbed(r: LoadResult) -> bool:
    return bool(r.lag_quantile(0.99) > MAX_LAG_P99_S or r.failures > 0)


def summarize_policy_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Means over the undisturbed repeats (all of them where none is clean) with 95 % t half-widths."""
    keys = ["service", "rho", "policy"]
    if "disturbed" not in runs:
        runs = runs.assign(disturbed=(runs["lag_p99"] > MAX_LAG_P99_S) | (runs["failures"] > 0))
    agg = []
    for key, g in runs.groupby(keys, sort=False):
        clean = g[~g["disturbed"].astype(bool)]
        g = clean if len(clean) else g
        row = dict(zip(keys, key), repeats=len(g))
        for c in ("meas_mean", "meas_p99", "replay_mean", "replay_p99", "max_share", "lag_p99"):
            row[c], row[c + "_ci"] = float(g[c].mean()), _t_half(g[c])
        row["failures"] = int(g["failures"].sum())
        row["set_aside"] = int(runs.loc[(runs[keys] == pd.Series(dict(zip(keys, key)))).all(axis=1), "disturbed"].sum()) \
            if len(clean) else 0
        agg.append(row)
    summary = pd.DataFrame(agg)
    summary["meas_over_replay"] = summary["meas_mean"] / summary["replay_mean"]
    return summary


# --------------------------------------------------------------------------- a backend dies

INTER_S, FALL, RISE = 0.5, 3, 2


def run_backend_failure(*, quick: bool = False, seed: int = 0, trials: int | None = None) -> dict:
    """Kill one of four backends under load; failed requests and the survivors' latency against the models.

    Each trial: four single-worker servers (exponential 20 ms) behind HAProxy
    ``roundrobin`` with ``inter`` 0.5 s, ``fall`` 3, ``rise`` 2, Poisson load at
    ρ = 0.5 of the four; server 0 is killed at a uniformly drawn moment in
    [4, 4.5) s (so the failure falls at a random point between two checks), and
    the run goes on for 8 s after it (quick: 5 s).  Quick: 3 trials; full: 8.
    """
    trials = check_integer(trials, "trials", minimum=1, maximum=100) if trials is not None else (3 if quick else 8)
    after_s = 5.0 if quick else 8.0
    lam = 0.5 * BACKENDS / SERVICE_MEAN_S
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(trials):
        kill_at = 4.0 + INTER_S * rng.random()
        servers = [LabServer(Exponential(SERVICE_MEAN_S), servers=1, seed=seed + 31 * i + t) for i in range(BACKENDS)]
        try:
            for srv in servers:
                srv.start()
            with HAProxy([srv.port for srv in servers], balance="roundrobin", health_check=True, inter_s=INTER_S,
                         fall=FALL, rise=RISE) as h:
                killed: list = []
                timer = threading.Timer(kill_at, lambda: (killed.append(time.monotonic()), servers[0].kill()))
                timer.start()
                try:
                    r = open_loop(h.url, PoissonArrivals(lam), kill_at + after_s, seed=seed + t)
                finally:
                    timer.cancel()
                    timer.join()
                status = {x["svname"]: x["status"] for x in h.stats()}
        finally:
            for srv in servers:
                srv.stop()
        kill_mono = killed[0] if killed else r.scheduled[0] + kill_at
        rel = r.scheduled - kill_mono + kill_at  # seconds since the start, on the kill's clock
        failed = ~r.ok
        last_fail = float(rel[failed].max() - kill_at) if failed.any() else 0.0
        after = r.ok & (rel >= kill_at + FALL * INTER_S + 1.0)  # the survivors alone, once the checks have acted
        before = r.ok & (rel >= 1.0) & (rel < kill_at)
        s_after, s_before = latency_summary(r.latency[after], QUANTILES), latency_summary(r.latency[before], QUANTILES)
        rows.append({"trial": t, "kill_at_s": kill_at, "failed": int(failed.sum()),
                     "failed_before_kill": int((failed & (rel < kill_at)).sum()), "last_failure_after_s": last_fail,
                     "status_s0": status.get("s0", ""), "before_mean": s_before["mean"], "before_p99": s_before["p99"],
                     "after_mean": s_after["mean"], "after_p99": s_after["p99"], "lag_p99": r.lag_quantile(0.99)})
    runs = pd.DataFrame(rows)
    sim = simulate_failed_requests(lam, BACKENDS, INTER_S, FALL, policy="round_robin", n_trials=20_000, seed=seed)
    pool3 = simulate_pool(lam, Exponential(SERVICE_MEAN_S), BACKENDS - 1, "round_robin", n_requests=400_000, seed=seed)
    pool4 = simulate_pool(lam, Exponential(SERVICE_MEAN_S), BACKENDS, "round_robin", n_requests=400_000, seed=seed)
    summary = pd.DataFrame([
        {"quantity": "failed requests per failure", "measured": runs["failed"].mean(), "measured_ci": _t_half(runs["failed"]),
         "model": float(requests_to_failed_server(lam, BACKENDS, INTER_S, FALL)),
         "model_low": float(np.quantile(sim, 0.05)), "model_high": float(np.quantile(sim, 0.95))},
        {"quantity": "last failure after the kill (s)", "measured": runs["last_failure_after_s"].mean(),
         "measured_ci": _t_half(runs["last_failure_after_s"]), "model": (FALL - 0.5) * INTER_S,
         "model_low": (FALL - 1) * INTER_S, "model_high": FALL * INTER_S},
        {"quantity": "mean before (s)", "measured": runs["before_mean"].mean(), "measured_ci": _t_half(runs["before_mean"]),
         "model": float(pool4.mean_response), "model_low": np.nan, "model_high": np.nan},
        {"quantity": "mean after, 3 survivors (s)", "measured": runs["after_mean"].mean(),
         "measured_ci": _t_half(runs["after_mean"]), "model": float(pool3.mean_response), "model_low": np.nan,
         "model_high": np.nan},
        {"quantity": "p99 before (s)", "measured": runs["before_p99"].mean(), "measured_ci": _t_half(runs["before_p99"]),
         "model": float(pool4.response_quantile(0.99)), "model_low": np.nan, "model_high": np.nan},
        {"quantity": "p99 after, 3 survivors (s)", "measured": runs["after_p99"].mean(),
         "measured_ci": _t_half(runs["after_p99"]), "model": float(pool3.response_quantile(0.99)), "model_low": np.nan,
         "model_high": np.nan},
    ])
    setup = pd.DataFrame([{"arrival_rate": lam, "backends": BACKENDS, "service_mean_s": SERVICE_MEAN_S,
                           "inter_s": INTER_S, "fall": FALL, "rise": RISE, "utilization_after": lam * SERVICE_MEAN_S / 3}])
    return {"runs": runs, "summary": summary, "setup": setup}
