"""The book's lab experiments: a registry, their runs, and a one-call rerun next to the recording.

Each :class:`Experiment` has a full version (``make experiments`` records it
under ``data/lab/<name>/``) and a quick one (seconds, for a reader's first try
and for the smoke tests).  Registered:

``single-server`` (chapter 1)
    The lab server with ``c = 4`` workers and exponential 20 ms service under
    open-loop Poisson load at ρ = 0.5, 0.7, 0.8, 0.9, repeated: measured mean,
    p50, p95, p99 against M/M/c plus the measured zero-load overhead, and
    against the same-path replay.
``model-breaks`` (chapter 1)
    The same server with lognormal service of SCV 4, and with bursty renewal
    arrivals (hyperexponential gaps, SCV 4): measured against M/M/c, M/G/c
    (Allen–Cunneen), the simulator with the same distributions, and the replay.
``scaling-curve`` (chapter 3)
    A CPU-bound endpoint (4 ms of CPU per request) with 1…16 worker processes,
    saturated by a closed loop: throughput against workers, fitted with the
    Universal Scalability Law; σ and κ with bootstrap intervals over the repeats.
    The server and the clients run at nice −20 (never real-time: they spin); a
    run in which other processes took more than 10 % of the cores its workers could
    have used (measured from ``/proc/stat``) is repeated and left out of the fit.

``balancer-policies``, ``backend-failure`` (chapter 4, :mod:`.balancing`)
    HAProxy's routing policies on four real servers against ``simulate_pool``,
    the mean-field limit and the same-path replay; a backend killed under
    health checks against the health-check and N+1 models.
``retry-storm`` (chapter 10, :mod:`.metastable`)
    A spike with clients that time out and retry (naive, backoff with jitter,
    a retry budget) and with load shedding at the server: goodput over time
    against ``simulate_retries``.
``queue-burst``, ``queue-delivery`` (chapter 10, :mod:`.queue_lab`)
    A Redis-list queue with real worker processes: a burst's backlog and drain
    time against the fluid model; workers killed mid-job and a poison job.
``database-tier`` (chapter 2, :mod:`.database_tier`)
    A web tier in front of a real PostgreSQL through a pool of 2 connections: the database
    time's distribution, latency against load (model, replay, measured), blocking against
    freed web workers, and users who think against the closed network and its knee.
``sticky-sessions``, ``session-store`` (chapter 8, :mod:`.sessions_lab`)
    Users with cookies behind HAProxy: sticky placement's imbalance, p99 and the
    sessions a restart loses, against the sticky-session model; a Redis session
    store's cost per request against ``SessionStore``.
``fanout`` (chapter 11, :mod:`.fanout`)
    A front waiting for k parallel calls: p99 against max-of-k, and hedging.
``replication-lag``, ``commit-latency``, ``failover`` (chapter 5, :mod:`scaling_lab.lab.replication`)
    A real PostgreSQL primary and streaming replica: lag against write rate
    on loopback and with the replica's replay throttled (the M/M/1 lag model,
    the same-path replay), read-your-writes against
    ``stale_read_probability``; commit latency per ``synchronous_commit``
    level; the primary killed under load and the replica promoted: writes
    lost (asynchronous, synchronous) against ``expected_writes_lost`` and
    the time until writes are accepted again.
``redis-hit-ratio`` (chapter 6, :mod:`.caching`)
    Redis's allkeys-lru (samples 5, 10), allkeys-lfu and allkeys-random under
    Zipf requests against the exact LRU/LFU/RANDOM on the same stream and
    Che / Fricker–Robert–Roberts, pipelined and paced.
``shard-load``, ``resharding`` (chapter 12, :mod:`.sharding_lab`)
    Four Redis shards behind the package's hashing (consistent with 100 and 1
    virtual nodes, modulo): the hot shard's load under uniform and Zipf keys
    against the skew models; resharding 4 -> 5 throttled, with double writes:
    keys moved against ``keys_moved_fraction``, copy time against ``resharding_cost``.

:func:`rerun` runs one experiment on the reader's machine and returns its
numbers next to the recorded ones.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..approximations import MGc
from ..queueing import MMc
from ..scalability import fit_usl
from ..simulation import Deterministic, Exponential, HyperExponential, LogNormal, PoissonArrivals, RenewalArrivals
from ..simulation import simulate_queue
from ._checks import check_integer
from .loadgen import closed_loop, latency_summary, open_loop
from .process import realtime_available
from .recording import component_versions, machine_info, read_recording, write_recording
from .replay import replay
from .webserver import LabServer

__all__ = ["Experiment", "EXPERIMENTS", "run_experiment", "rerun", "summarize_runs", "measure_point",
           "measure_overhead", "usl_fit_with_intervals"]

QUANTILES = (0.5, 0.95, 0.99)
METRICS = ("mean", "p50", "p95", "p99")


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``run(quick, seed)`` returns its tables (name → DataFrame)."""

    name: str
    chapter: int
    title: str
    run: Callable[[bool, int], dict]
    key_table: str
    index: tuple
    values: tuple


# --------------------------------------------------------------------------- building blocks

def measure_overhead(server: LabServer, *, duration_s: float = 8.0, arrival_rate: float = 10.0,
                     seed: int = 0) -> dict:
    """Zero-load overhead: latency minus service time at a load where nobody queues (seconds).

    With ``arrival_rate`` × E[S] ≪ ``servers`` almost no request waits, so
    :math:`T_i - S_i` is what the stack adds: the client, loopback TCP, HTTP
    parsing, the event loop.
    """
    r = open_loop(server.url, PoissonArrivals(arrival_rate), duration_s, seed=seed)
    extra = (r.latency - r.service)[r.ok]
    return {"overhead_mean": float(np.mean(extra)), "overhead_p99": float(np.quantile(extra, 0.99)), "n": int(r.ok.sum())}


def measure_point(server: LabServer, arrivals, duration_s: float, *, seed: int, warmup_s: float = 2.0) -> dict:
    """One open-loop run against ``server``: measured and replayed latency summaries and the run's health.

    The first ``warmup_s`` seconds are replayed (they fill the queue) but not
    counted.  Returns mean/p50/p95/p99 of the measured latency (``meas_*``) and
    of the same-path replay (``replay_*``), the residual mean and p99 (of its
    absolute value), schedule lag p99, failures, and the measured service mean
    and SCV (seconds).
    """
    r = open_loop(server.url, arrivals, duration_s, seed=seed)
    rep = replay(r, server.servers)
    keep = r.ok & np.isfinite(r.server_arrival) & np.isfinite(r.service_end)
    counted = (r.scheduled[keep] >= r.scheduled[0] + warmup_s)
    m = latency_summary(rep.measured[counted], QUANTILES)
    p = latency_summary(rep.replayed[counted], QUANTILES)
    svc = r.service[keep][counted]
    gaps = np.diff(r.scheduled)
    out = {"n": m["n"], "failures": r.failures, "lag_p99": r.lag_quantile(0.99),
           "service_mean": float(svc.mean()), "service_scv": float(svc.var() / svc.mean() ** 2),
           "arrival_scv": float(gaps.var() / gaps.mean() ** 2),
           "residual_mean": float(rep.residual[counted].mean()),
           "residual_p99": float(np.quantile(np.abs(rep.residual[counted]), 0.99))}
    out.update({f"meas_{k}": m[k] for k in METRICS})
    out.update({f"replay_{k}": p[k] for k in METRICS})
    return out


def _t_half(x) -> float:
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))


def summarize_runs(runs: pd.DataFrame, by: str | list = "rho") -> pd.DataFrame:
    """Mean over the repeats of every ``meas_*``/``replay_*`` column, with a 95 % t half-width (``*_ci``)."""
    cols = [c for c in runs.columns if c.startswith(("meas_", "replay_", "residual_", "lag_"))]
    rows = []
    for key, g in runs.groupby(by, sort=True):
        row = dict(zip([by] if isinstance(by, str) else by, key if isinstance(key, tuple) else (key,)))
        row["repeats"] = len(g)
        for c in cols:
            row[c] = float(g[c].mean())
            row[c + "_ci"] = _t_half(g[c])
        rows.append(row)
    return pd.DataFrame(rows)


def _meta(load_before, started, extra: dict) -> dict:
    info = machine_info()
    return {"machine": {**info, "loadavg_before": load_before, "loadavg_after": info.pop("loadavg")},
            "versions": component_versions(), "wall_time_s": round(time.monotonic() - started, 1), **extra}


# --------------------------------------------------------------------------- chapter 1: M/M/c

SERVICE_MEAN_S = 0.020
WORKERS = 4


def _single_server(quick: bool, seed: int) -> dict:
    rhos = (0.5, 0.8) if quick else (0.5, 0.7, 0.8, 0.9)
    repeats, duration = (1, 6.0) if quick else (4, 25.0)
    rows, model_rows = [], []
    with LabServer(Exponential(SERVICE_MEAN_S), servers=WORKERS, seed=seed) as server:
        oh = measure_overhead(server, duration_s=4.0 if quick else 10.0, seed=seed)
        for rho in rhos:
            lam = rho * WORKERS / SERVICE_MEAN_S
            for k in range(repeats):
                rows.append({"rho": rho, "arrival_rate": lam, "repeat": k,
                             **measure_point(server, PoissonArrivals(lam), duration, seed=seed + 1000 * k + int(rho * 100))})
            q = MMc(lam, 1.0 / SERVICE_MEAN_S, WORKERS)
            model_rows.append({"rho": rho, "arrival_rate": lam,
                               "model_mean": float(q.mean_response) + oh["overhead_mean"],
                               **{f"model_p{round(x * 100)}": float(q.response_quantile(x)) + oh["overhead_mean"]
                                  for x in QUANTILES}})
    runs = pd.DataFrame(rows)
    summary = summarize_runs(runs).merge(pd.DataFrame(model_rows), on="rho")
    overhead = pd.DataFrame([{**oh, "service_mean_s": SERVICE_MEAN_S, "servers": WORKERS,
                              "duration_s": duration}])
    return {"runs": runs, "summary": summary, "overhead": overhead}


# --------------------------------------------------------------------------- chapter 1: where the model breaks

def _model_breaks(quick: bool, seed: int) -> dict:
    rhos = (0.7,) if quick else (0.6, 0.8)
    repeats, duration = (1, 6.0) if quick else (3, 25.0)
    variants = {"lognormal service (SCV 4)": ("service", 4.0), "bursty arrivals (SCV 4)": ("arrivals", 4.0)}
    rows, model_rows = [], []
    for vname, (what, scv) in variants.items():
        service = LogNormal(SERVICE_MEAN_S, scv) if what == "service" else Exponential(SERVICE_MEAN_S)
        with LabServer(service, servers=WORKERS, seed=seed + 7) as server:
            oh = measure_overhead(server, duration_s=3.0 if quick else 6.0, seed=seed)["overhead_mean"]
            for rho in rhos:
                lam = rho * WORKERS / SERVICE_MEAN_S
                arrivals = (PoissonArrivals(lam) if what == "service"
                            else RenewalArrivals(HyperExponential(1.0 / lam, scv)))
                for k in range(repeats):
                    rows.append({"variant": vname, "rho": rho, "arrival_rate": lam, "repeat": k,
                                 **measure_point(server, arrivals, duration, seed=seed + 1000 * k + int(rho * 100))})
                mmc = MMc(lam, 1.0 / SERVICE_MEAN_S, WORKERS)
                mgc = MGc(lam, 1.0 / SERVICE_MEAN_S, WORKERS, scv=service.scv,
                          arrival_scv=scv if what == "arrivals" else 1.0)
                sim = simulate_queue(None, None, WORKERS, service=service, arrivals=arrivals,
                                     n_requests=400_000, seed=seed)
                model_rows.append({"variant": vname, "rho": rho, "overhead_mean": oh,
                                   "mmc_mean": float(mmc.mean_response) + oh,
                                   "mgc_mean": float(mgc.mean_response) + oh,
                                   "sim_mean": float(sim.mean_response) + oh, "sim_mean_ci": float(sim.mean_response_ci),
                                   "mmc_p99": float(mmc.response_quantile(0.99)) + oh,
                                   "sim_p99": float(sim.response_quantile(0.99)) + oh})
    runs = pd.DataFrame(rows)
    summary = summarize_runs(runs, ["variant", "rho"]).merge(pd.DataFrame(model_rows), on=["variant", "rho"])
    return {"runs": runs, "summary": summary}


# --------------------------------------------------------------------------- chapter 3: scaling curve

CPU_WORK_S = 0.004
#: A CPU-bound run in which other processes took more than this share of the cores its workers
#: could have used (min(n, cores)) is repeated and left out of the fit (real-time priority cannot
#: protect a CPU-bound server; nice -20 for it and its autogroup mostly does).
MAX_FOREIGN_CPU = 0.10


def usl_fit_with_intervals(runs: pd.DataFrame, *, n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """USL fit of ``throughput`` against ``workers`` and 95 % bootstrap intervals of σ, κ and the one-worker throughput.

    The bootstrap resamples the repeats within each worker count (B =
    ``n_boot``) and refits (:func:`scaling_lab.scalability.fit_usl`); the
    interval is the 2.5–97.5 % percentile range.  Peak concurrency
    :math:`n^* = \\sqrt{(1-\\sigma)/\\kappa}`.

    References
    ----------
    N. J. Gunther, *Guerrilla Capacity Planning*, Springer, 2007, ch. 5;
    B. Efron and R. Tibshirani, *An Introduction to the Bootstrap*, 1993.
    """
    n_boot = check_integer(n_boot, "n_boot", minimum=10)
    fit = fit_usl(runs["workers"].to_numpy(float), runs["throughput"].to_numpy(float))
    rng = np.random.default_rng(seed)
    groups = [g["throughput"].to_numpy(float) for _, g in runs.groupby("workers")]
    levels = np.array(sorted(runs["workers"].unique()), dtype=float)
    boots = []
    for _ in range(n_boot):
        xs = [rng.choice(g, len(g)) for g in groups]
        f = fit_usl(np.repeat(levels, [len(x) for x in xs]), np.concatenate(xs))
        boots.append((f.sigma, f.kappa, f.base_throughput, min(f.peak_concurrency, 1e6)))
    b = np.array(boots)
    lo, hi = np.percentile(b, [2.5, 97.5], axis=0)
    names = ("sigma", "kappa", "base_throughput", "peak_concurrency")
    values = (fit.sigma, fit.kappa, fit.base_throughput, fit.peak_concurrency)
    return pd.DataFrame({"parameter": names, "estimate": values, "low": lo, "high": hi,
                         "r_squared": fit.r_squared})


def _cpu_counters(server_pid: int) -> tuple[float, float, float]:
    """(machine busy CPU-seconds, this experiment's CPU-seconds, wall time) from /proc."""
    from .process import _descendants

    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / tick  # all but idle and iowait
    ours = sum(os.times()[:2])
    for pid in [server_pid] + _descendants(server_pid):
        try:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            ours += (int(st[11]) + int(st[12])) / tick
        except (OSError, IndexError):
            pass
    return busy, ours, time.monotonic()


def _cpu_shares(before, after) -> tuple[float, float]:
    """Fractions of the machine's CPU capacity used by other processes and by this experiment."""
    capacity = (after[2] - before[2]) * (os.cpu_count() or 1)
    ours = (after[1] - before[1]) / capacity
    return max(0.0, (after[0] - before[0]) / capacity - ours), ours


def _scaling_curve(quick: bool, seed: int) -> dict:
    levels = (1, 2, 4, 8) if quick else (1, 2, 3, 4, 6, 8, 12, 16)
    repeats, duration = (1, 2.0) if quick else (5, 4.0)
    rows, cores = [], os.cpu_count() or 1
    clean = {n: 0 for n in levels}
    for attempt in range(3 * repeats):  # bounded: a disturbed run is repeated, at most 3 x repeats rounds
        todo = [n for n in levels if clean[n] < repeats]
        if not todo:
            break
        for n in todo:
            with LabServer(Deterministic(CPU_WORK_S), servers=n, mode="cpu", seed=seed) as server:
                before = _cpu_counters(server.pid)
                r = closed_loop(server.url, 2 * n + 2, duration, warmup_s=1.0)
                after = _cpu_counters(server.pid)
            foreign, ours = _cpu_shares(before, after)
            # clean: other processes took at most 10 % of the cores our n workers could have used
            ok = foreign <= 1 - (1 - MAX_FOREIGN_CPU) * min(n, cores) / cores
            clean[n] += ok
            rows.append({"workers": n, "attempt": attempt, "throughput": r.throughput, "completed": r.completed,
                         "errors": r.errors, "clients": 2 * n + 2, "own_cpu": ours, "foreign_cpu": foreign, "clean": ok})
    runs = pd.DataFrame(rows)
    used = runs[runs["clean"]] if runs["clean"].groupby(runs["workers"]).sum().min() >= 1 else runs
    fit = usl_fit_with_intervals(used, n_boot=50 if quick else 300, seed=seed)
    curve = used.groupby("workers")["throughput"].agg(["mean", "std", "count"]).reset_index()
    curve["ci"] = [_t_half(g["throughput"]) for _, g in used.groupby("workers")]
    return {"runs": runs, "curve": curve, "usl_fit": fit,
            "setup": pd.DataFrame([{"cpu_work_s": CPU_WORK_S, "duration_s": duration, "cores": os.cpu_count()}])}


# --------------------------------------------------------------------------- registry and entry points

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("single-server", 1, "Lab server, c = 4, exponential 20 ms: measured vs M/M/c and the replay",
                _single_server, "summary", ("rho",), ("meas_mean", "replay_mean", "model_mean", "meas_p99", "model_p99")),
    Experiment("model-breaks", 1, "Lognormal service and bursty arrivals: measured vs M/M/c, M/G/c, simulator",
               _model_breaks, "summary", ("variant", "rho"), ("meas_mean", "replay_mean", "mgc_mean", "sim_mean")),
    Experiment("scaling-curve", 3, "CPU-bound endpoint, 1-16 workers: throughput and the USL fit",
               _scaling_curve, "usl_fit", ("parameter",), ("estimate", "low", "high")),
    # the traffic tier's experiments live in their own modules (which import this one): imported when run
    Experiment("balancer-policies", 4, "HAProxy roundrobin, leastconn, random(2), random(1): measured vs replay and simulate_pool",
               lambda quick, seed: _traffic("balancing", "run_balancer_policies", quick, seed), "summary",
               ("service", "rho", "policy"), ("meas_mean", "replay_mean", "sim_mean", "meas_p99", "sim_p99")),
    Experiment("backend-failure", 4, "A backend killed under HAProxy health checks: failed requests and survivors' latency",
               lambda quick, seed: _traffic("balancing", "run_backend_failure", quick, seed), "summary",
               ("quantity",), ("measured", "measured_ci", "model", "model_low", "model_high")),
    Experiment("retry-storm", 10, "A spike with naive retries, backoff, a retry budget and shedding: goodput over time",
               lambda quick, seed: _traffic("metastable", "run_retry_storm", quick, seed), "summary", ("variant",),
               ("meas_final_goodput_share", "sim_final_goodput_share", "meas_time_to_recover_s", "sim_time_to_recover_s")),
    Experiment("queue-burst", 10, "A burst at a Redis queue with real workers: backlog and drain time vs the fluid model",
               lambda quick, seed: _traffic("queue_lab", "run_queue_burst", quick, seed), "summary", ("case",),
               ("meas_drain_s", "meas_drain_s_ci", "model_drain_s", "model_drain_at_achieved_rate_s", "achieved_rate")),
    Experiment("queue-delivery", 10, "Workers killed mid-job: lost, redelivered, executed twice; a poison job dead-lettered",
               lambda quick, seed: _traffic("queue_lab", "run_queue_delivery", quick, seed), "summary", ("quantity",),
               ("measured", "model")),
    Experiment("sticky-sessions", 8, "Sticky cookies (random, round robin) and a stateless tier behind HAProxy: imbalance, p99, sessions lost",
               lambda quick, seed: _traffic("sessions_lab", "run_sticky_sessions", quick, seed), "summary", ("config",),
               ("activity_peak", "sim_activity_peak", "requests_peak", "sim_requests_peak", "meas_p99", "sim_p99",
                "lost", "model_lost")),
    Experiment("session-store", 8, "Sessions in memory vs in Redis: the time each request pays, vs SessionStore",
               lambda quick, seed: _traffic("sessions_lab", "run_session_store", quick, seed), "summary", ("rate",),
               ("store_mean", "added_mean", "model_added")),
    Experiment("fanout", 11, "A front fanning out to k = 1-32 calls, and hedging at the p95: p99 vs max-of-k and HedgedRequest",
               lambda quick, seed: _traffic("fanout", "run_fanout", quick, seed), "summary", ("k", "hedged"),
               ("meas_p50", "model_p50", "meas_p99", "meas_p99_ci", "model_p99", "extra_load", "model_extra_load")),
    # the data tier's (chapters 5 and 6: modules replication, caching), imported when run the same way
    Experiment("replication-lag", 5, "PostgreSQL streaming replica: lag vs write rate (loopback, throttled replay)",
               lambda quick, seed: _traffic("replication", "run_replication_lag", quick, seed), "summary",
               ("regime", "write_rate"), ("lag_mean", "replay_mean", "model_mean", "lag_p99", "model_p99")),
    Experiment("commit-latency", 5, "PostgreSQL with a standby: commit latency per synchronous_commit level",
               lambda quick, seed: _traffic("replication", "run_commit_latency", quick, seed), "summary",
               ("level",), ("mean", "p50", "p99")),
    Experiment("failover", 5, "SIGKILL the primary under load, promote the replica: writes lost, time to writes",
               lambda quick, seed: _traffic("replication", "run_failover", quick, seed), "summary",
               ("mode",), ("lost", "model_lost", "promote_s", "writes_back_after_s")),
    Experiment("database-tier", 2, "A web tier in front of a real PostgreSQL: latency against load, blocking workers, users who think",
               lambda quick, seed: _traffic("database_tier", "run_database_tier", quick, seed), "summary",
               ("rho",), ("meas_mean", "replay_mean", "model_mean", "meas_p99", "sim_p99")),
    Experiment("redis-hit-ratio", 6, "Redis eviction policies vs exact LRU/LFU/RANDOM and Che, Zipf(0.8)",
               lambda quick, seed: _traffic("caching", "run_redis_hit_ratio", quick, seed), "runs",
               ("regime", "policy", "samples", "cache_fraction"),
               ("hit_ratio", "exact_lru_held", "exact_random_held", "model", "keys_held")),
    Experiment("shard-load", 12, "Four Redis shards: the hot shard's load under uniform and Zipf keys vs the skew models",
               lambda quick, seed: _traffic("sharding_lab", "run_shard_load", quick, seed), "summary",
               ("popularity", "scheme", "vnodes"), ("measured", "measured_ci", "same_placement", "placements", "model")),
    Experiment("resharding", 12, "Redis shards 4 -> 5, throttled copy with double writes: keys moved and copy time",
               lambda quick, seed: _traffic("sharding_lab", "run_resharding", quick, seed), "summary", ("copy_rate", "scheme"),
               ("moved_fraction", "model_moved_fraction", "copy_s", "same_path_copy_s", "model_copy_s")),
)}


def _traffic(module: str, function: str, quick: bool, seed: int) -> dict:
    from importlib import import_module

    return getattr(import_module(f".{module}", __package__), function)(quick=quick, seed=seed)


def _check_name(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"name must be one of {tuple(EXPERIMENTS)}, got {name!r}")
    return EXPERIMENTS[name]


def run_experiment(name: str, *, quick: bool = False, seed: int = 0, record: bool = False,
                   root=None) -> tuple[dict, dict]:
    """Run experiment ``name``; return its tables and metadata, and write them under ``data/lab/`` if ``record``."""
    exp = _check_name(name)
    seed = check_integer(seed, "seed", minimum=0)
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.monotonic()
    tables = exp.run(bool(quick), seed)
    meta = _meta(load_before, started, {"quick": bool(quick), "seed": seed, "chapter": exp.chapter,
                                        "title": exp.title})
    if meta["machine"]["loadavg_before"][0] > (os.cpu_count() or 1):
        meta["warning"] = "the machine was busy before the run (load average above its cores)"
    if record:
        write_recording(name, tables, meta, root)
    return tables, meta


def rerun(name: str, *, quick: bool = True, seed: int = 0) -> pd.DataFrame:
    """Rerun experiment ``name`` on this machine and return its key numbers next to the recorded ones.

    Needs the lab's components (HAProxy, Redis, PostgreSQL as their chapters
    require) and, on a busy machine, root for real-time scheduling; takes
    about half a minute with ``quick=True``, several minutes without.  The
    columns ``*_yours`` come from this run, ``*_recorded`` from ``data/lab/``.
    """
    exp = _check_name(name)
    if not realtime_available():
        print("note: real-time scheduling is not available (not root?); on a busy machine the numbers will drift")
    yours, _ = run_experiment(name, quick=quick, seed=seed)
    recorded, meta = read_recording(name)
    cols = list(exp.index) + list(exp.values)
    out = yours[exp.key_table][cols].merge(recorded[exp.key_table][cols], on=list(exp.index), how="left",
                                           suffixes=("_yours", "_recorded"))
    print(f"recorded on {meta['machine']['cpu_model']} ({meta['machine']['cores']} cores), {meta['date']}")
    return out
