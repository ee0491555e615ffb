"""Chapter "Separating the database" in the lab: a web tier in front of a real PostgreSQL.

:class:`LabDatabase` is a :class:`~.postgres.Postgres` that, once started, holds a table of
``n_customers`` customers and one of ``n_orders`` orders (ten per customer, scattered over the
heap as real orders are), filled with ``generate_series`` in a few seconds, indexed and
analysed.  Its backends run at nice −20, never real-time: the queries are CPU work.

:class:`DatabaseWebServer` is the web tier (one aiohttp process, :mod:`._db_webapp`): a request
waits FIFO for one of ``workers`` web slots, spends its web time asleep (a draw from
``web_service``, as the lab server of the single-server chapter does, so the web tier is an
ideal :math:`c`-server queue that needs no CPU), then waits FIFO for one of ``pool_size``
connections of a ``psycopg_pool.AsyncConnectionPool`` and runs two real queries on it: an
indexed lookup of one customer (primary key) and an aggregate over the orders of a range of
``aggregate_customers`` customers (a join through the index on ``orders.customer_id``).  The
pool's size is the database's :math:`c`: at most that many queries run at once.  With
``blocking=True`` the web slot is held until the queries are done (synchronous workers); with
``blocking=False`` it is freed when the web time ends (an asynchronous server).  Every request's
timestamps are kept by the server and fetched with :meth:`DatabaseWebServer.records`, so the
wait for a worker, the web time, the wait for a connection and the database time of every
request are measured, not inferred.

:func:`tier_replay` is the same-path replay of the two tiers: the run's own arrivals, web times
and database times through an ideal FIFO web tier of ``workers`` slots and an ideal FIFO pool of
``pool_size`` connections, held as the run held them (event by event).  The experiment
``database-tier`` (:func:`run_database_tier`) measures the database time's distribution at
zero load, predicts the latency and the bottleneck with the chapter's network models
(:class:`~scaling_lab.network.OpenNetwork`, :class:`~scaling_lab.approximations.MGc`,
:func:`~scaling_lab.network.held_pool`, :func:`~scaling_lab.network.pool_throughput`), and
measures the latency against load, blocking against freed workers, and a closed population of
users who think.

References
----------
PostgreSQL 15 documentation, §14 "Performance Tips", §9.25 ``generate_series``; psycopg 3
documentation, "Connection pools" (``psycopg_pool``); Lazowska et al., *Quantitative System
Performance*, 1984, ch. 6 and 9; J. Kiefer and J. Wolfowitz, Trans. AMS 78 (1955).
"""

from __future__ import annotations

import heapq
import json
import sys
import urllib.request

import numpy as np
import pandas as pd

from ..approximations import MGc
from ..network import OpenNetwork, Station, held_pool, mva, pool_throughput
from ..queueing import MMc
from ..simulation import Distribution, Exponential, LogNormal, PoissonArrivals, simulate_tandem
from ._checks import check_integer, check_positive
from .loadgen import LoadResult, closed_loop, latency_summary, open_loop
from .postgres import Postgres
from .process import LAB_HOST, Component, realtime_prefix
from .webserver import distribution_to_dict

__all__ = ["LabDatabase", "DatabaseWebServer", "request_times", "tier_replay", "simulate_tiers", "run_database_tier",
           "WEB_WORKERS", "WEB_SERVICE_S", "POOL_SIZE"]

#: The experiment's web tier: 4 slots, exponential web time of 15 ms (asleep).
WEB_WORKERS = 4
WEB_SERVICE_S = 0.015
#: The database's c: connections in the pool (the machine has two cores).
POOL_SIZE = 2
N_CUSTOMERS = 50_000
N_ORDERS = 500_000
AGGREGATE_CUSTOMERS = 600

_SETUP = (
    "create unlogged table customers (id int primary key, name text not null, region int not null)",
    "insert into customers select g, 'customer ' || g, g % 50 from generate_series(1, {n_customers}) g",
    "create unlogged table orders (id bigint primary key, customer_id int not null, "
    "amount_cents int not null, created_at timestamptz not null)",
    # order g belongs to customer 1 + (g * 7919) mod n: a customer's orders lie on scattered pages
    "insert into orders select g, 1 + (g::bigint * 7919) % {n_customers}, (g * 37) % 100000, "
    "timestamptz '2026-01-01' + g * interval '1 minute' from generate_series(1, {n_orders}) g",
    "create index orders_customer on orders (customer_id)",
    "analyze customers",
    "analyze orders",
)


class LabDatabase(Postgres):
    """A PostgreSQL primary holding ``customers`` and ``orders`` (``n_customers``, ``n_orders`` rows).

    The tables are unlogged (nothing here tests durability) and filled by ``generate_series``;
    ``setup_s`` is how long filling, indexing and analysing took.  JIT compilation is off
    (it would add tens of milliseconds to the first aggregates), the buffers hold both tables.
    """

    def __init__(self, *, n_customers: int = N_CUSTOMERS, n_orders: int = N_ORDERS, boost: bool = True):
        self.n_customers = check_integer(n_customers, "n_customers", minimum=100, maximum=10_000_000)
        self.n_orders = check_integer(n_orders, "n_orders", minimum=self.n_customers, maximum=100_000_000)
        self.setup_s: float | None = None
        super().__init__(settings={"shared_buffers": "128MB", "jit": "off", "fsync": "off",
                                   "maintenance_work_mem": "128MB"}, boost=boost)

    def start(self) -> "LabDatabase":
        import time

        super().start()
        try:
            t0 = time.monotonic()
            with self.connect() as conn:
                for stmt in _SETUP:
                    conn.execute(stmt.format(n_customers=self.n_customers, n_orders=self.n_orders))
            self.setup_s = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self


class DatabaseWebServer(Component):
    """The web tier in front of ``database``: ``workers`` slots, a pool of ``pool_size`` connections.

    Parameters
    ----------
    database : LabDatabase
        A running database holding the tables.
    web_service : Distribution
        Web time per request, seconds, spent asleep holding a web slot.
    workers : int
        Web slots (>= 1).
    pool_size : int
        Connections in the pool (>= 1): the database's :math:`c`.
    blocking : bool
        Hold the web slot while the queries run (True) or free it first (False).
    aggregate_customers : int
        Customers per aggregate (>= 1; about ten orders each).
    seed : int
        Seed of the web times and of the keys queried.
    """

    name = "db-webserver"

    def __init__(self, database: LabDatabase, web_service: Distribution, *, workers: int = WEB_WORKERS,
                 pool_size: int = POOL_SIZE, blocking: bool = False, aggregate_customers: int = AGGREGATE_CUSTOMERS,
                 seed: int = 0, realtime: bool = True):
        if not isinstance(database, LabDatabase) or database.port is None:
            raise ValueError(f"database must be a running LabDatabase, got {database!r}")
        self.database = database
        self.web_spec = distribution_to_dict(web_service)
        self.web_service = web_service
        self.workers = check_integer(workers, "workers", minimum=1, maximum=10_000)
        self.pool_size = check_integer(pool_size, "pool_size", minimum=1, maximum=90)
        self.blocking = bool(blocking)
        self.aggregate_customers = check_integer(aggregate_customers, "aggregate_customers", minimum=1,
                                                 maximum=database.n_customers)
        self.seed = check_integer(seed, "seed", minimum=0)
        super().__init__(realtime=realtime)

    def url(self, query: str = "page") -> str:
        """Address of one request: ``page`` (lookup, then aggregate), ``lookup`` or ``aggregate``."""
        if query not in ("page", "lookup", "aggregate"):
            raise ValueError(f"query must be one of ('page', 'lookup', 'aggregate'), got {query!r}")
        return f"http://{LAB_HOST}:{self.port}/work?q={query}"

    def records(self) -> pd.DataFrame:
        """The server's timestamps of every request answered since the last call (and forget them)."""
        with urllib.request.urlopen(f"http://{LAB_HOST}:{self.port}/records", timeout=30) as resp:
            rows = json.loads(resp.read())
        return pd.DataFrame(rows, columns=["arrival", "start", "web_end", "db_start", "db_end", "end",
                                           "lookup_s", "aggregate_s"])

    def _prepare(self) -> None:
        cfg = {"port": self.port, "dsn": self.database.dsn, "workers": self.workers, "pool_size": self.pool_size,
               "blocking": self.blocking, "web_service": self.web_spec, "seed": self.seed,
               "n_customers": self.database.n_customers, "aggregate_customers": self.aggregate_customers}
        (self.dir / "config.json").write_text(json.dumps(cfg))

    def _command(self) -> list[str]:
        return realtime_prefix(self.realtime) + [sys.executable, "-m", "scaling_lab.lab._db_webapp",
                                                 str(self.dir / "config.json")]


def request_times(result: LoadResult, records: pd.DataFrame) -> pd.DataFrame:
    """One row per answered request: the client's times joined to the server's (seconds).

    Columns: ``scheduled``, ``arrival``, ``start``, ``web_end``, ``db_start``, ``db_end``, ``end``,
    ``received``, and derived ``latency`` (from the scheduled send), ``worker_wait``
    (start − arrival), ``web_s``, ``pool_wait`` (db_start − web_end), ``db_s``, ``transport``
    (latency − (end − arrival)).  Requests are matched by the server's arrival stamp.
    """
    if not isinstance(result, LoadResult):
        raise ValueError(f"result must be a LoadResult from open_loop, got {type(result).__name__}")
    if not isinstance(records, pd.DataFrame) or "arrival" not in records:
        raise ValueError("records must be the DataFrame of DatabaseWebServer.records()")
    client = pd.DataFrame({"scheduled": result.scheduled, "received": result.received,
                           "arrival": result.server_arrival})[result.ok & np.isfinite(result.server_arrival)]
    df = client.merge(records, on="arrival", how="inner").sort_values("arrival", kind="stable")
    df["latency"] = df["received"] - df["scheduled"]
    df["worker_wait"] = df["start"] - df["arrival"]
    df["web_s"] = df["web_end"] - df["start"]
    df["pool_wait"] = df["db_start"] - df["web_end"]
    df["db_s"] = df["db_end"] - df["db_start"]
    df["transport"] = df["latency"] - (df["end"] - df["arrival"])
    return df.reset_index(drop=True)


def tier_replay(times: pd.DataFrame, workers: int, pool_size: int, blocking: bool) -> np.ndarray:
    """Replayed latency of every request (seconds): the run's own path through ideal FIFO tiers.

    Each request :math:`i` arrives at its measured server arrival :math:`A_i`, takes the first
    free web slot (FIFO over ``workers``), holds it for its measured web time, then takes the
    first free connection (FIFO over ``pool_size``, in order of asking) for its measured
    database time; the web slot is given back when the web time ends, or with ``blocking`` when
    the database time ends.  The replayed latency keeps the measured transport and the measured
    time from the end of the queries to the answer:

    .. math:: \\hat T_i = \\text{transport}_i + (\\hat E_i - A_i) + (\\text{end}_i - E_i),

    with :math:`\\hat E_i` the replayed and :math:`E_i` the measured end of the database time.
    Measured minus replayed is then the servers' departure from two ideal FIFO tiers (the
    pool's own hand-over of a connection, tens of microseconds, included).
    """
    workers = check_integer(workers, "workers", minimum=1)
    pool_size = check_integer(pool_size, "pool_size", minimum=1)
    if not isinstance(times, pd.DataFrame) or "db_s" not in times:
        raise ValueError("times must be the DataFrame of request_times()")
    a = times["arrival"].to_numpy(float)
    s_web = times["web_s"].to_numpy(float)
    s_db = times["db_s"].to_numpy(float)
    order = np.argsort(a, kind="stable")
    n = len(a)
    web_end = np.empty(n)
    db_end = np.empty(n)
    free_workers, free_conns = workers, pool_size
    worker_q: list = []   # FIFO of requests waiting for a web slot (by arrival)
    conn_q: list = []     # FIFO (heap by asking time) of requests waiting for a connection
    events: list = []     # (time, kind, i): kind 0 = web done, 1 = db done, 2 = arrival
    for i in order:
        heapq.heappush(events, (a[i], 2, int(i)))
    q_head = 0

    def start_web(i, t):
        web_end[i] = t + s_web[i]
        heapq.heappush(events, (web_end[i], 0, i))

    def start_db(i, t):
        db_end[i] = t + s_db[i]
        heapq.heappush(events, (db_end[i], 1, i))

    while events:
        t, kind, i = heapq.heappop(events)
        if kind == 2:
            if free_workers > 0:
                free_workers -= 1
                start_web(i, t)
            else:
                worker_q.append(i)
        elif kind == 0:
            if not blocking:
                if q_head < len(worker_q):
                    start_web(worker_q[q_head], t)
                    q_head += 1
                else:
                    free_workers += 1
            if free_conns > 0:
                free_conns -= 1
                start_db(i, t)
            else:
                heapq.heappush(conn_q, (t, i))
        else:
            if conn_q:
                _, j = heapq.heappop(conn_q)
                start_db(j, t)
            else:
                free_conns += 1
            if blocking:
                if q_head < len(worker_q):
                    start_web(worker_q[q_head], t)
                    q_head += 1
                else:
                    free_workers += 1
    tail = (times["end"] - times["db_end"]).to_numpy(float) + times["transport"].to_numpy(float)
    return (db_end - a) + tail


def simulate_tiers(arrival_rate: float, web_service: Distribution, db_service: Distribution, *, workers: int,
                   pool_size: int, blocking: bool, n_requests: int = 100_000, seed: int = 0) -> np.ndarray:
    """Response times (seconds) of ``n_requests`` Poisson requests through the two tiers, simulated.

    The same event-by-event tiers as :func:`tier_replay` (FIFO web slots, FIFO connections, the
    slot held through the queries if ``blocking``), fed with draws instead of a run's own times:
    the held pool of :func:`scaling_lab.network.held_pool` for any service distributions (that
    model is exact for exponential ones only).  The first 10 % are dropped as warm-up.
    """
    rate = check_positive(arrival_rate, "arrival_rate")
    n = check_integer(n_requests, "n_requests", minimum=100, maximum=10_000_000)
    for name, dist in (("web_service", web_service), ("db_service", db_service)):
        if not isinstance(dist, Distribution):
            raise ValueError(f"{name} must be a Distribution (Exponential, LogNormal, ...), got {dist!r}")
    rng = np.random.default_rng(check_integer(seed, "seed", minimum=0))
    a = np.cumsum(rng.exponential(1.0 / rate, n))
    zero = np.zeros(n)
    times = pd.DataFrame({"arrival": a, "web_s": web_service.sample(rng, n), "db_s": db_service.sample(rng, n),
                          "end": zero, "db_end": zero, "transport": zero})
    return tier_replay(times, workers, pool_size, blocking)[n // 10:]


# --------------------------------------------------------------------------- the experiment

def _run_summary(times: pd.DataFrame, replayed: np.ndarray, warmup_s: float) -> dict:
    keep = (times["scheduled"] >= times["scheduled"].min() + warmup_s).to_numpy()
    t = times[keep]
    m = latency_summary(t["latency"], (0.5, 0.99))
    p = latency_summary(replayed[keep], (0.5, 0.99))
    return {"n": m["n"], "meas_mean": m["mean"], "meas_p99": m["p99"], "replay_mean": p["mean"], "replay_p99": p["p99"],
            "worker_wait_mean": float(t["worker_wait"].mean()), "pool_wait_mean": float(t["pool_wait"].mean()),
            "prob_worker_wait": float((t["worker_wait"] > 0.0005).mean()),
            "prob_pool_wait": float((t["pool_wait"] > 0.0005).mean()),
            "web_mean": float(t["web_s"].mean()), "db_mean": float(t["db_s"].mean()),
            "db_scv": float(t["db_s"].var() / t["db_s"].mean() ** 2)}


def _one_run(web: DatabaseWebServer, rate: float, duration_s: float, seed: int, warmup_s: float) -> dict:
    web.records()  # forget what came before
    r = open_loop(web.url(), PoissonArrivals(rate), duration_s, seed=seed, timeout_s=10.0)
    times = request_times(r, web.records())
    out = _run_summary(times, tier_replay(times, web.workers, web.pool_size, web.blocking), warmup_s)
    return {**out, "failures": r.failures, "lag_p99": r.lag_quantile(0.99)}


def _service(database: LabDatabase, seed: int, duration_s: float) -> tuple[dict, pd.DataFrame]:
    """The database time's distribution at low load (20 requests per second, one or two at a time)."""
    with DatabaseWebServer(database, Exponential(WEB_SERVICE_S), seed=seed) as web:
        web.records()
        r = open_loop(web.url(), PoissonArrivals(20.0), duration_s, seed=seed)
        times = request_times(r, web.records())
    t = times.iloc[5:]  # the first queries warm the pool's prepared statements and the caches
    svc = {"n": len(t)}
    for col in ("db_s", "lookup_s", "aggregate_s", "web_s"):
        x = t[col].to_numpy(float)
        svc[f"{col}_mean"] = float(x.mean())
        svc[f"{col}_scv"] = float(x.var() / x.mean() ** 2)
        svc[f"{col}_p50"] = float(np.quantile(x, 0.5))
        svc[f"{col}_p99"] = float(np.quantile(x, 0.99))
    # what the stack adds beyond the two tiers' times and the waits for a worker and a connection
    # (20 requests/s keep the pool of two busy part of the time): client, loopback, HTTP
    svc["overhead_mean"] = float((t["latency"] - t["worker_wait"] - t["web_s"] - t["pool_wait"] - t["db_s"]).mean())
    return svc, t[["db_s", "lookup_s", "aggregate_s", "web_s", "latency"]]


def _tiers(svc: dict) -> list:
    return [Station("web", WEB_WORKERS, 1.0 / WEB_SERVICE_S), Station("database", POOL_SIZE, 1.0 / svc["db_s_mean"])]


def _freed_model(rate: float, svc: dict, seed: int) -> dict:
    """Network model with the measured database distribution: means by M/G/c per tier, p99 simulated."""
    s_db, scv = svc["db_s_mean"], svc["db_s_scv"]
    oh = svc["overhead_mean"]
    net = OpenNetwork(rate, _tiers(svc), visits=[1, 1])
    mgc = MGc(rate, 1.0 / s_db, POOL_SIZE, scv=scv)
    web = MMc(rate, 1.0 / WEB_SERVICE_S, WEB_WORKERS)
    sim = simulate_tandem(rate, [(WEB_WORKERS, Exponential(WEB_SERVICE_S)), (POOL_SIZE, LogNormal(s_db, scv))],
                          n_requests=200_000, seed=seed)
    return {"model_mean": float(web.mean_response + mgc.mean_response) + oh,
            "jackson_mean": float(net.mean_response) + oh,
            "sim_mean": sim.mean_response + oh, "sim_p99": float(sim.response_quantile(0.99)) + oh,
            "model_db_utilization": float(net.utilization[1]), "model_web_utilization": float(net.utilization[0]),
            "model_bottleneck": net.bottleneck}


def run_database_tier(*, quick: bool = False, seed: int = 0) -> dict:
    """The experiment ``database-tier``: service distribution, latency against load, blocking, closed loop.

    Returns the tables ``service`` (the database time at zero load: mean, SCV, p99 of the
    request's queries and of each query, and the overhead), ``service_samples``, ``runs`` and
    ``summary`` (open loop against load, freed workers: measured, replay, model), ``blocking``
    (freed against blocking workers at the same rates: measured waits for a worker and for a
    connection, and the models), ``closed`` (users with think time: measured throughput and
    response against the exact closed network and MVA's knee), and ``setup``.
    """
    seed = check_integer(seed, "seed", minimum=0)
    quick = bool(quick)
    warmup = 1.0 if quick else 2.0
    duration = 5.0 if quick else 15.0
    repeats = 1 if quick else 3
    with LabDatabase() as db:
        setup_s = db.setup_s
        svc, samples = _service(db, seed, 6.0 if quick else 30.0)
        cap = POOL_SIZE / svc["db_s_mean"]
        # latency against load, freed workers
        loads = (0.4, 0.75) if quick else (0.3, 0.5, 0.7, 0.85)
        rows = []
        with DatabaseWebServer(db, Exponential(WEB_SERVICE_S), blocking=False, seed=seed) as web:
            for rho in loads:
                rate = rho * cap
                for k in range(repeats):
                    rows.append({"rho": rho, "arrival_rate": rate, "repeat": k,
                                 **_one_run(web, rate, duration, seed + 100 * k + int(rho * 100), warmup)})
        runs = pd.DataFrame(rows)
        summary = _summarize(runs, ["rho", "arrival_rate"])
        models = pd.DataFrame([{"rho": rho, **_freed_model(rho * cap, svc, seed)} for rho in loads])
        summary = summary.merge(models, on="rho")
        # blocking against freed workers at the same rates
        blocking_cap = float(pool_throughput(WEB_WORKERS, _tiers(svc))[-1])
        b_rates = (0.8 * blocking_cap,) if quick else (0.6 * blocking_cap, 0.85 * blocking_cap)
        brows = []
        for mode in (False, True):
            with DatabaseWebServer(db, Exponential(WEB_SERVICE_S), blocking=mode, seed=seed) as web:
                for rate in b_rates:
                    for k in range(repeats):
                        brows.append({"blocking": mode, "arrival_rate": rate, "repeat": k,
                                      **_one_run(web, rate, duration, seed + 7 + 100 * k + int(rate), warmup)})
        bruns = pd.DataFrame(brows)
        blocking = _summarize(bruns, ["blocking", "arrival_rate"])
        bmodel = []
        for mode in (False, True):
            for rate in b_rates:
                sim = simulate_tiers(rate, Exponential(WEB_SERVICE_S), LogNormal(svc["db_s_mean"], svc["db_s_scv"]),
                                     workers=WEB_WORKERS, pool_size=POOL_SIZE, blocking=mode, seed=seed)
                bmodel.append({"blocking": mode, "arrival_rate": rate,
                               "sim_mean": float(sim.mean()) + svc["overhead_mean"],
                               "sim_p99": float(np.quantile(sim, 0.99)) + svc["overhead_mean"]})
                if mode:
                    hp = held_pool(rate, WEB_WORKERS, _tiers(svc))
                    bmodel[-1].update({"model_mean": float(hp.mean_response) + svc["overhead_mean"],
                                       "model_worker_wait": float(hp.mean_wait), "model_prob_worker_wait": float(hp.prob_wait),
                                       "model_capacity": blocking_cap})
                else:
                    net = OpenNetwork(rate, _tiers(svc), visits=[1, 1])
                    web_q = MMc(rate, 1.0 / WEB_SERVICE_S, WEB_WORKERS)
                    bmodel[-1].update({"model_mean": float(net.mean_response) + svc["overhead_mean"],
                                       "model_worker_wait": float(web_q.mean_wait),
                                       "model_prob_worker_wait": float(web_q.prob_wait),
                                       "model_capacity": net.max_throughput})
        blocking = blocking.merge(pd.DataFrame(bmodel), on=["blocking", "arrival_rate"])
        # a closed population of users who think
        closed = _closed(db, svc, quick, seed)
    setup = pd.DataFrame([{"web_workers": WEB_WORKERS, "web_service_s": WEB_SERVICE_S, "pool_size": POOL_SIZE,
                           "n_customers": N_CUSTOMERS, "n_orders": N_ORDERS,
                           "aggregate_customers": AGGREGATE_CUSTOMERS, "setup_s": setup_s, "duration_s": duration,
                           "warmup_s": warmup, "repeats": repeats, "db_capacity": cap,
                           "blocking_capacity": blocking_cap, "think_time_s": THINK_TIME_S}])
    return {"service": pd.DataFrame([svc]), "service_samples": samples, "runs": runs, "summary": summary,
            "blocking_runs": bruns, "blocking": blocking, "closed": closed, "setup": setup}


THINK_TIME_S = 0.1


def _closed(db: LabDatabase, svc: dict, quick: bool, seed: int) -> pd.DataFrame:
    """Users with exponential think time against the exact closed network and MVA (Seidmann) with its knee."""
    tiers = _tiers(svc)
    oh = svc["overhead_mean"]
    demands = np.array([WEB_SERVICE_S, svc["db_s_mean"]])
    servers = np.array([WEB_WORKERS, POOL_SIZE])
    knee_users = (demands.sum() + oh + THINK_TIME_S) / float((demands / servers).max())
    populations = (10, 40) if quick else tuple(sorted({5, 10, 20, int(round(knee_users)), 45, 60, 80}))
    rows = []
    with DatabaseWebServer(db, Exponential(WEB_SERVICE_S), blocking=False, seed=seed) as web:
        for n in populations:
            r = closed_loop(web.url(), n, 3.0 if quick else 8.0, warmup_s=1.0, think_time_s=THINK_TIME_S,
                            seed=seed + n, realtime=True, boost=False)
            # exact product form: thinking (plus the stack's overhead) is a station with n servers
            x = pool_throughput(n, [Station("think", n, 1.0 / (THINK_TIME_S + oh)), *tiers])[-1]
            delay = float((demands * (1 - 1 / servers)).sum())
            approx = mva(demands / servers, THINK_TIME_S + oh + delay, n)
            rows.append({"users": n, "meas_throughput": r.throughput, "meas_mean": r.mean_response,
                         "completed": r.completed, "errors": r.errors,
                         "model_throughput": float(x), "model_mean": n / float(x) - THINK_TIME_S,
                         "mva_throughput": float(approx.throughput[-1]),
                         "mva_mean": float(approx.response[-1]) + delay + oh,
                         "knee_users": knee_users, "max_throughput": POOL_SIZE / svc["db_s_mean"]})
    return pd.DataFrame(rows)


def _summarize(runs: pd.DataFrame, by: list) -> pd.DataFrame:
    from .experiments import summarize_runs

    extra = [c for c in ("worker_wait_mean", "pool_wait_mean", "prob_worker_wait", "prob_pool_wait", "web_mean",
                         "db_mean", "db_scv") if c in runs]
    renamed = runs.rename(columns={c: f"meas_{c}" for c in extra})
    return summarize_runs(renamed, by)
