"""Chapter "Stateless web tier" in the lab: sticky sessions behind HAProxy, and a shared Redis session store.

Users, not requests, are the unit of a session-aware load: :func:`session_loop`
lets users arrive as a Poisson process (``session_rate`` per second); each
stays for an exponential time (mean ``mean_session_s``, at most four times
that, and never past the run), sends a request, waits for the answer, thinks
for an exponential time, sends the next, and so on (the *partly open* model of
Schroeder et al.: open between users, closed within one).  Users differ: user
:math:`i` thinks for :math:`Z/x_i` on average, with :math:`x_i` lognormal of
mean 1 and squared coefficient of variation ``activity_scv``, so its request
rate is about :math:`x_i/Z`.  Each user keeps the cookies it is given
(HAProxy's ``SRV``) and sends its own ``sid``; latency is measured from the
planned send time.  Bounded: at most ``max_sessions`` users and
``max_requests`` requests, each request abandoned after ``timeout_s``, the
whole loop cancelled ``timeout_s + 5`` s after the run's end.

``sticky-sessions`` (:func:`run_sticky_sessions`)
    Four lab servers (two workers, exponential 20 ms) behind HAProxy, at
    about 57 % average load from about 110 users at once, in three
    configurations: sticky cookies with users placed at random
    (``balance random(1)``: the random pinning of
    :func:`~scaling_lab.sessions.sticky_peak_load_factor`), sticky cookies with
    users placed round robin (the usual configuration), and a stateless tier
    (round robin per request, sessions in Redis).  Measured: the busiest
    server's share over the mean, of users at once, of their activity and of
    requests per 2 s window, averaged over the run; the p99 overall and of
    the worst server; against the model (the formula at the measured users per
    server, and :func:`simulate_session_pool`, the same users pinned in a
    simulation with exponential service) and the same-path replay per server.
    Near the end server 0 is killed and restarted (a new process, empty
    memory; HAProxy's ``option redispatch`` moves requests that find it down):
    the users who lose their session, measured by the server's own
    ``X-Session: new`` on a user's later request, against
    :func:`~scaling_lab.sessions.users_losing_sessions`.
``session-store`` (:func:`run_session_store`)
    One lab server (16 workers, exponential 10 ms) with the sessions in its
    memory and in a real Redis, the same users at 100, 300 and 600 requests
    per second: the time each request spends reading and writing its session
    (stamped by the server), and the end-to-end difference of the paired runs,
    against :class:`~scaling_lab.sessions.SessionStore` with Redis's own time
    per operation (``INFO commandstats``) and the idle round trip of the same
    client library.

References
----------
B. Schroeder, A. Wierman and M. Harchol-Balter, *Open versus closed: a cautionary tale*, NSDI 2006.
HAProxy 2.6 Configuration Manual, §4.2 ``cookie``, ``option redispatch``; §9.3 ``set server``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from ..sessions import SessionStore, simulate_sticky_loads, sticky_peak_load_factor, users_losing_sessions
from ..simulation import Exponential, fcfs_start_times
from ._checks import check_choice, check_in_range, check_integer, check_nonnegative, check_positive
from .experiments import _t_half
from .haproxy import HAProxy
from .loadgen import _Client, _header_float, _parse_url, _run_in_thread, latency_summary
from .process import LAB_HOST
from .redis_server import Redis
from .webserver import LabServer

__all__ = ["SessionResult", "session_loop", "session_loads", "simulate_session_pool", "replay_per_server",
           "run_sticky_sessions", "run_session_store", "PLACEMENTS"]

#: How a pool places users: sticky at random, sticky round robin (in order of arrival), or per request round robin
PLACEMENTS = ("random", "roundrobin", "requests")
SERVERS, WORKERS, SERVICE_MEAN_S = 4, 2, 0.020
THINK_S, MEAN_SESSION_S, ACTIVITY_SCV, SESSION_RATE = 0.5, 6.0, 1.0, 20.0
WINDOW_S = 2.0


@dataclass
class SessionResult:
    """One session-aware run: ``requests`` (one row per request) and ``sessions`` (one per user); times in s.

    ``requests``: ``session``, ``seq`` (0 for a user's first request), ``planned``, ``sent``,
    ``received``, ``status`` (0: no answer), ``server`` (index of the server that answered, from
    HAProxy's ``X-Server``; -1 if unknown), ``pinned`` (the server named by the ``SRV`` cookie the
    request carried; -1 if none), ``found`` (1 the server knew the session, 0 it did not, -1 no
    answer), ``store_s`` (the server's session read plus write), ``server_arrival``,
    ``service_start``, ``service_end``.  ``sessions``: ``start``, ``end`` (planned: the user
    leaves then), ``activity`` (:math:`x_i`).  ``t0``: the run's time zero (``CLOCK_MONOTONIC``).
    """

    requests: pd.DataFrame
    sessions: pd.DataFrame
    t0: float
    duration_s: float
    meta: dict = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        return (self.requests["status"] == 200).to_numpy()

    @property
    def latency(self) -> np.ndarray:
        """Answer time from the planned send, seconds (``nan`` if not answered with 200)."""
        r = self.requests
        return np.where(self.ok, r["received"] - r["planned"], np.nan)

    @property
    def failures(self) -> int:
        return int((~self.ok).sum())


def _lognormal_activity(rng, n: int, scv: float) -> np.ndarray:
    if scv == 0:
        return np.ones(n)
    s2 = math.log1p(scv)
    return rng.lognormal(-s2 / 2, math.sqrt(s2), n)


def _draw_sessions(session_rate, mean_session_s, activity_scv, duration_s, max_sessions, rng):
    """Poisson arrivals in [0, duration_s), exponential stays (capped at 4 means and at the run's end), activities."""
    n = int(rng.poisson(session_rate * duration_s))
    start = np.sort(rng.uniform(0.0, duration_s, n))[:max_sessions]
    stay = np.minimum(rng.exponential(mean_session_s, len(start)), 4 * mean_session_s)
    return start, np.minimum(start + stay, duration_s), _lognormal_activity(rng, len(start), activity_scv)


def session_loop(url: str, session_rate: float, mean_session_s: float, think_time_s: float, duration_s: float, *,
                 activity_scv: float = 1.0, seed: int = 0, max_sessions: int = 20_000, max_requests: int = 200_000,
                 timeout_s: float = 5.0, max_connections: int = 512, realtime: bool = True) -> SessionResult:
    """Users arriving at ``session_rate``/s, each sending requests with think times, keeping its cookies.

    Parameters
    ----------
    url : str
        ``http://127.0.0.1:PORT/path`` (loopback only): HAProxy or a lab server.
    session_rate : float
        Users arriving per second (Poisson), > 0.
    mean_session_s : float
        Mean stay of a user, seconds (exponential, capped at four times the mean), > 0.
    think_time_s : float
        Mean think time :math:`Z` between an answer and the next request of an average user, > 0.
    duration_s : float
        Users arrive in ``[0, duration_s)`` and leave by ``duration_s``, at most 3,600 s.
    activity_scv : float
        Squared coefficient of variation of the users' activity :math:`x_i` (0: identical users).
    seed, max_sessions, max_requests, timeout_s, max_connections, realtime
        As in :func:`~scaling_lab.lab.loadgen.open_loop`.

    Returns
    -------
    SessionResult
        Every request and every user of the run (see :class:`SessionResult`).
    """
    host, port, _ = _parse_url(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    session_rate = check_positive(session_rate, "session_rate", scalar=True)
    mean_session_s = check_positive(mean_session_s, "mean_session_s", scalar=True)
    think_time_s = check_positive(think_time_s, "think_time_s", scalar=True)
    duration_s = check_in_range(duration_s, "duration_s", 0.0, 3600.0, low_open=True, scalar=True)
    activity_scv = check_nonnegative(activity_scv, "activity_scv", scalar=True)
    seed = check_integer(seed, "seed", minimum=0)
    max_sessions = check_integer(max_sessions, "max_sessions", minimum=1)
    max_requests = check_integer(max_requests, "max_requests", minimum=1)
    timeout_s = check_in_range(timeout_s, "timeout_s", 0.0, 600.0, low_open=True, scalar=True)
    max_connections = check_integer(max_connections, "max_connections", minimum=1)

    rng = np.random.default_rng(seed)
    start, end, activity = _draw_sessions(session_rate, mean_session_s, activity_scv, duration_s, max_sessions, rng)
    think_seeds = rng.integers(0, 2**63, len(start))
    rows: list = []

    async def run():
        loop = asyncio.get_running_loop()
        client = _Client(host, port, max_connections)
        t0 = loop.time() + 0.05  # loop.time() is CLOCK_MONOTONIC
        box = {"t0": t0}

        async def user(i: int):
            urng = np.random.default_rng(think_seeds[i])
            cookies = {"sid": f"{seed}-{i}"}
            planned, seq = t0 + start[i], 0
            while planned < t0 + end[i] and len(rows) < max_requests:
                delay = planned - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                pinned = int(cookies["SRV"][1:]) if "SRV" in cookies else -1
                cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
                request = f"GET {path} HTTP/1.1\r\nHost: {LAB_HOST}:{port}\r\nCookie: {cookie}\r\n\r\n".encode()
                stamp: list = []
                status, headers = 0, {}
                try:
                    status, headers = await asyncio.wait_for(client.get(request, stamp), timeout_s)
                except (asyncio.TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                    pass
                received = time.monotonic() if status else math.nan
                set_cookie = headers.get("set-cookie", "")
                if set_cookie.startswith("SRV="):
                    cookies["SRV"] = set_cookie.split(";", 1)[0][4:]
                srv = headers.get("x-server", "")
                found = {"found": 1, "new": 0}.get(headers.get("x-session", ""), -1)
                rows.append((i, seq, planned, stamp[0] if stamp else math.nan, received, status,
                             int(srv[1:]) if srv.startswith("s") else -1, pinned, found,
                             _header_float(headers, "x-store-read") + _header_float(headers, "x-store-write"),
                             _header_float(headers, "x-arrival"), _header_float(headers, "x-service-start"),
                             _header_float(headers, "x-service-end")))
                seq += 1
                planned = (received if status else loop.time()) + urng.exponential(think_time_s / activity[i])

        tasks = [loop.create_task(user(i)) for i in range(len(start))]
        if tasks:
            await asyncio.wait(tasks, timeout=duration_s + timeout_s + 5.0)
        for t in tasks:
            t.cancel()
        client.close()
        return box["t0"]

    t0 = _run_in_thread(run, realtime)
    cols = ["session", "seq", "planned", "sent", "received", "status", "server", "pinned", "found", "store_s",
            "server_arrival", "service_start", "service_end"]
    requests = pd.DataFrame(rows, columns=cols).sort_values("planned", kind="stable").reset_index(drop=True)
    sessions = pd.DataFrame({"start": t0 + start, "end": t0 + end, "activity": activity})
    return SessionResult(requests, sessions, t0, float(duration_s),
                         {"session_rate": session_rate, "mean_session_s": mean_session_s, "think_time_s": think_time_s,
                          "activity_scv": activity_scv, "seed": seed})


# --------------------------------------------------------------------------- what the runs measure

def session_loads(requests: pd.DataFrame, sessions: pd.DataFrame, servers: int, t_from: float, t_to: float, *,
                  window_s: float = WINDOW_S, step_s: float = 0.25) -> dict:
    """The busiest server over the mean, averaged over ``[t_from, t_to)``: users at once, their activity, requests.

    A user counts on the server that answered its latest request, from its first
    request until it leaves (``sessions["end"]``); every ``step_s`` the users, and the sum of their
    activities :math:`x_i`, held by each server are counted; requests are
    counted per server in windows of ``window_s``.  Each statistic is
    :math:`\\max_j L_j / \\bar L` per sample, averaged.  Also returns the mean
    users per server ``users_per_server``, the mean request rate per user
    ``user_rate`` and each server's share of the requests (``shares``).
    Works for a measured run and for :func:`simulate_session_pool` alike
    (columns ``session``, ``planned``, ``server`` and ``sessions["activity"]``).
    """
    servers = check_integer(servers, "servers", minimum=1)
    window_s = check_positive(window_s, "window_s", scalar=True)
    step_s = check_positive(step_s, "step_s", scalar=True)
    if not t_to > t_from:
        raise ValueError(f"t_to must be after t_from={t_from!r}, got {t_to!r}")
    r = requests[requests["server"] >= 0].sort_values(["session", "planned"], kind="stable")
    ts = np.arange(t_from, t_to, step_s)
    sid, begin, srv = r["session"].to_numpy(), r["planned"].to_numpy(), r["server"].to_numpy()
    last = np.r_[sid[1:] != sid[:-1], True]  # a user's latest request holds it until it leaves
    stop = np.where(last, sessions["end"].to_numpy()[sid], np.r_[begin[1:], np.inf])
    weight = sessions["activity"].to_numpy()[sid]
    held = np.zeros((len(ts), servers))
    act = np.zeros((len(ts), servers))
    for j in range(servers):  # intervals [begin, stop) covering each sample: started minus stopped
        m = srv == j
        b, e = np.argsort(begin[m], kind="stable"), np.argsort(stop[m], kind="stable")
        nb, ne = np.searchsorted(begin[m][b], ts, side="right"), np.searchsorted(stop[m][e], ts, side="right")
        held[:, j] = nb - ne
        cb, ce = np.r_[0.0, np.cumsum(weight[m][b])], np.r_[0.0, np.cumsum(weight[m][e])]
        act[:, j] = cb[nb] - ce[ne]
    inside = r[(r["planned"] >= t_from) & (r["planned"] < t_to)]
    edges = np.arange(t_from, t_to + 1e-9, window_s)
    counts = np.stack([np.histogram(inside.loc[inside["server"] == j, "planned"], edges)[0] for j in range(servers)], 1)

    def peak(x):
        x = x[x.mean(axis=1) > 0]
        return float(np.mean(x.max(axis=1) / x.mean(axis=1))) if len(x) else math.nan

    total = np.bincount(inside["server"].to_numpy(int), minlength=servers)
    users = float(held.sum(axis=1).mean())
    return {"users_per_server": users / servers, "user_rate": len(inside) / (t_to - t_from) / max(users, 1e-9),
            "sessions_peak": peak(held), "activity_peak": peak(act), "requests_peak": peak(counts.astype(float)),
            "shares": total / max(total.sum(), 1)}


def replay_per_server(requests: pd.DataFrame, servers: int, workers: int) -> np.ndarray:
    """Latency of the answered requests had each server been an ideal FIFO queue of ``workers`` (same path).

    Routing is fixed by the cookies, so each server is replayed on its own: its
    requests' measured arrival times (``X-Arrival``) and service times through
    the FCFS recursion, keeping each request's measured transport (as
    :func:`~scaling_lab.lab.replay.replay`).  Returns seconds, in the order of the
    answered requests with server timestamps.
    """
    servers = check_integer(servers, "servers", minimum=1)
    workers = check_integer(workers, "workers", minimum=1)
    r = requests[(requests["status"] == 200) & np.isfinite(requests["service_end"]) & (requests["server"] >= 0)]
    out = np.full(len(r), np.nan)
    for j in range(servers):
        mask = (r["server"] == j).to_numpy()
        if not mask.any():
            continue
        g = r[mask]
        a, s = g["server_arrival"].to_numpy(), (g["service_end"] - g["service_start"]).to_numpy()
        order = np.argsort(a, kind="stable")
        begin = np.empty_like(a)
        begin[order], _ = fcfs_start_times(a[order], s[order], workers)
        transport = (g["received"] - g["planned"]).to_numpy() - (g["service_end"] - g["server_arrival"]).to_numpy()
        out[mask] = transport + begin + s - a
    return out


def simulate_session_pool(session_rate: float, mean_session_s: float, think_time_s: float, duration_s: float,
                          servers: int, workers: int, service_mean_s: float, placement: str, *,
                          activity_scv: float = 1.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sticky-session model as a simulation: the same users, pinned by ``placement``, FIFO servers.

    Users arrive and stay as in :func:`session_loop`; user :math:`i` sends a
    request on arrival, then as a Poisson process of rate :math:`x_i/Z` while it stays (the
    think time alone: the answer's time is left out, a few per cent of
    :math:`Z`); ``placement`` pins each user to a server at random
    (``"random"``), round robin in order of arrival (``"roundrobin"``), or
    routes every request round robin (``"requests"``, a stateless tier).  Each
    server is ``workers`` FIFO workers with exponential service of mean
    ``service_mean_s``.  Returns ``(requests, sessions)`` with the columns
    :func:`session_loads` reads and ``latency`` (seconds).
    """
    session_rate = check_positive(session_rate, "session_rate", scalar=True)
    mean_session_s = check_positive(mean_session_s, "mean_session_s", scalar=True)
    think_time_s = check_positive(think_time_s, "think_time_s", scalar=True)
    duration_s = check_in_range(duration_s, "duration_s", 0.0, 3600.0, low_open=True, scalar=True)
    servers = check_integer(servers, "servers", minimum=1, maximum=1024)
    workers = check_integer(workers, "workers", minimum=1, maximum=1024)
    service_mean_s = check_positive(service_mean_s, "service_mean_s", scalar=True)
    check_choice(placement, "placement", PLACEMENTS)
    activity_scv = check_nonnegative(activity_scv, "activity_scv", scalar=True)
    rng = np.random.default_rng(seed)
    start, end, activity = _draw_sessions(session_rate, mean_session_s, activity_scv, duration_s, 10**7, rng)
    n_req = 1 + rng.poisson(activity / think_time_s * (end - start))  # one on arrival, then Poisson
    session = np.repeat(np.arange(len(start)), n_req)
    first = np.r_[True, session[1:] != session[:-1]]
    planned = start[session] + np.where(first, 0.0, rng.uniform(0, 1, len(session))) * (end - start)[session]
    order = np.argsort(planned, kind="stable")
    session, planned = session[order], planned[order]
    if placement == "random":
        server = rng.integers(0, servers, len(start))[session]
    elif placement == "roundrobin":
        server = (np.arange(len(start)) % servers)[session]
    else:
        server = np.arange(len(session)) % servers
    service = rng.exponential(service_mean_s, len(session))
    latency = np.empty(len(session))
    for j in range(servers):
        m = server == j
        begin, _ = fcfs_start_times(planned[m], service[m], workers)
        latency[m] = begin + service[m] - planned[m]
    requests = pd.DataFrame({"session": session, "planned": planned, "server": server, "latency": latency})
    return requests, pd.DataFrame({"start": start, "end": end, "activity": activity})


# --------------------------------------------------------------------------- sticky-sessions

CONFIGS = {  # name: (HAProxy balance, sticky, where the servers keep sessions, simulated placement)
    "sticky, placed at random": ("random(1)", True, "memory", "random"),
    "sticky, placed round robin": ("roundrobin", True, "memory", "roundrobin"),
    "stateless, Redis store": ("roundrobin", False, "redis", "requests"),
}
RESTART_BEFORE_END_S = 6.0


def _restart(servers: list, h: HAProxy, redis_port, box: dict) -> None:
    """Kill server 0 (SIGKILL, as a crash), start a fresh process and point HAProxy at it."""
    box["kill"] = time.monotonic()
    servers[0].kill()
    fresh = LabServer(Exponential(SERVICE_MEAN_S), servers=WORKERS, seed=99, sessions=servers[0].sessions,
                      redis_port=redis_port)
    servers[0].stop()
    servers[0] = fresh
    fresh.start()
    h.set_server_port(0, fresh.port)
    box["back"] = time.monotonic()


def _losses(res: SessionResult, kill: float) -> dict:
    """Users who were served before the kill and sent another request after it: where they were, what they lost."""
    r = res.requests[res.requests["status"] == 200]
    before = r[r["received"] < kill].groupby("session")["server"].last()
    after = r[r["planned"] >= kill].groupby("session").first()
    going_on = before.index.intersection(after.index)
    on_s0 = int((before.loc[going_on] == 0).sum())
    lost = int((after.loc[going_on, "found"] == 0).sum())
    moved = int((after.loc[going_on, "server"] != before.loc[going_on]).sum())
    return {"users_at_restart": len(going_on), "on_restarted": on_s0, "lost": lost, "moved": moved,
            "lost_elsewhere": int(((after.loc[going_on, "found"] == 0) & (before.loc[going_on] != 0)).sum())}


def _sticky_run(config: str, duration: float, warmup: float, seed: int) -> tuple[dict, SessionResult]:
    balance, sticky, store, _ = CONFIGS[config]
    redis = Redis() if store == "redis" else None
    servers: list = []
    box: dict = {}
    try:
        if redis is not None:
            redis.start()
        port = redis.port if redis is not None else None
        servers = [LabServer(Exponential(SERVICE_MEAN_S), servers=WORKERS, seed=seed + 17 * i, sessions=store,
                             redis_port=port) for i in range(SERVERS)]
        for s in servers:
            s.start()
        with HAProxy([s.port for s in servers], balance=balance, sticky=sticky, server_header=True,
                     redispatch=True) as h:
            timer = threading.Timer(duration - RESTART_BEFORE_END_S, _restart, (servers, h, port, box))
            timer.start()
            try:
                res = session_loop(h.url, SESSION_RATE, MEAN_SESSION_S, THINK_S, duration, activity_scv=ACTIVITY_SCV,
                                   seed=seed)
            finally:
                timer.cancel()
                timer.join()
    finally:
        for s in servers:
            s.stop()
        if redis is not None:
            redis.stop()
    kill = box.get("kill", res.t0 + duration - RESTART_BEFORE_END_S)
    t_from, t_to = res.t0 + warmup, kill
    loads = session_loads(res.requests, res.sessions, SERVERS, t_from, t_to)
    r = res.requests
    counted = ((r["status"] == 200) & (r["planned"] >= t_from) & (r["planned"] < t_to)).to_numpy()
    timed = r[(r["status"] == 200) & np.isfinite(r["service_end"]) & (r["server"] >= 0)]
    replayed = pd.Series(replay_per_server(r, SERVERS, WORKERS), index=timed.index)
    lat = pd.Series(res.latency, index=r.index)
    in_window = timed.index[(timed["planned"] >= t_from) & (timed["planned"] < t_to)]
    per_server = [(latency_summary(lat[in_window][timed.loc[in_window, "server"] == j], (0.99,))["p99"],
                   latency_summary(replayed[in_window][timed.loc[in_window, "server"] == j], (0.99,))["p99"])
                  for j in range(SERVERS)]
    busy = [r.loc[counted & (r["server"] == j).to_numpy(), "service_end"].sub(
        r.loc[counted & (r["server"] == j).to_numpy(), "service_start"]).sum() / (t_to - t_from) / WORKERS
        for j in range(SERVERS)]
    row = {"config": config, "seed": seed, "n": int(counted.sum()), "failures_before_restart": int(
        ((r["status"] != 200) & (r["planned"] < kill)).sum()),
           "lag_p99": float(np.nanquantile((r["sent"] - r["planned"]).to_numpy(), 0.99)),
           "users_per_server": loads["users_per_server"], "user_rate": loads["user_rate"],
           "sessions_peak": loads["sessions_peak"], "activity_peak": loads["activity_peak"],
           "requests_peak": loads["requests_peak"], "max_share": float(loads["shares"].max()),
           "utilization": float(np.mean(busy)), "max_utilization": float(np.max(busy)),
           "meas_p99": latency_summary(lat[in_window], (0.99,))["p99"],
           "replay_p99": latency_summary(replayed[in_window], (0.99,))["p99"],
           "meas_mean": float(lat[in_window].mean()), "replay_mean": float(replayed[in_window].mean()),
           "meas_worst_p99": max(p for p, _ in per_server), "replay_worst_p99": max(p for _, p in per_server),
           "restart_s": box.get("back", math.nan) - box.get("kill", math.nan),
           **_losses(res, kill)}
    return row, res


def _sticky_models(config: str, runs: pd.DataFrame, duration: float, warmup: float, seed: int) -> dict:
    """The formula at the measured users per server and rate, and the simulated pool over many runs."""
    placement = CONFIGS[config][3]
    g = runs[runs["config"] == config]
    u, m = float(g["users_per_server"].mean()), float(g["user_rate"].mean())
    sims = []
    for k in range(20):
        req, ses = simulate_session_pool(SESSION_RATE, MEAN_SESSION_S, THINK_S, duration, SERVERS, WORKERS,
                                         SERVICE_MEAN_S, placement, activity_scv=ACTIVITY_SCV, seed=seed + 1000 + k)
        t_to = duration - RESTART_BEFORE_END_S
        loads = session_loads(req, ses, SERVERS, warmup, t_to)
        inside = req[(req["planned"] >= warmup) & (req["planned"] < t_to)]
        sims.append({**{k2: loads[k2] for k2 in ("sessions_peak", "activity_peak", "requests_peak")},
                     "p99": float(np.quantile(inside["latency"], 0.99)),
                     "worst_p99": max(float(np.quantile(inside.loc[inside["server"] == j, "latency"], 0.99))
                                      for j in range(SERVERS))})
    sims = pd.DataFrame(sims)
    random = placement == "random"
    users = int(round(u * SERVERS))
    out = {"config": config,
           "formula_sessions_peak": float(sticky_peak_load_factor(u, SERVERS, 0.0)) if random else math.nan,
           "formula_activity_peak": float(sticky_peak_load_factor(u, SERVERS, ACTIVITY_SCV)) if random else math.nan,
           "formula_requests_peak": float(sticky_peak_load_factor(u, SERVERS, ACTIVITY_SCV + 1 / (m * WINDOW_S)))
           if random else math.nan,
           "mc_activity_peak": float(simulate_sticky_loads(users, SERVERS, ACTIVITY_SCV, n_trials=2000, seed=seed).mean())
           if random else math.nan}
    for c in sims.columns:
        out[f"sim_{c}"], out[f"sim_{c}_ci"] = float(sims[c].mean()), _t_half(sims[c])
    users_at = float(g["users_at_restart"].mean())
    out["model_lost"] = float(users_losing_sessions(users_at, SERVERS)) if CONFIGS[config][2] == "memory" else 0.0
    return out


def run_sticky_sessions(*, quick: bool = False, seed: int = 0) -> dict:
    """Three pools (sticky at random, sticky round robin, stateless with Redis): imbalance, p99, sessions lost.

    Full: 30 s runs, three repeats per configuration, the first 8 s not counted,
    server 0 restarted 6 s before the end; quick: one 14 s run each, 4 s warm-up.
    Returns ``runs`` (one row per run), ``summary`` (means with 95 % t
    half-widths, next to the models) and ``setup``.
    """
    repeats, duration, warmup = (1, 14.0, 4.0) if quick else (3, 30.0, 8.0)
    rows = []
    for rep in range(repeats):
        for i, config in enumerate(CONFIGS):
            row, _ = _sticky_run(config, duration, warmup, seed + 10 * rep + i)
            rows.append({**row, "repeat": rep})
    runs = pd.DataFrame(rows)
    agg = []
    for config, g in runs.groupby("config", sort=False):
        row = {"config": config, "repeats": len(g)}
        for c in ("users_per_server", "user_rate", "utilization", "max_utilization", "sessions_peak", "activity_peak",
                  "requests_peak", "max_share", "meas_mean", "replay_mean", "meas_p99", "replay_p99",
                  "meas_worst_p99", "replay_worst_p99", "users_at_restart", "on_restarted", "lost", "moved",
                  "lost_elsewhere", "restart_s"):
            row[c], row[c + "_ci"] = float(g[c].mean()), _t_half(g[c])
        agg.append({**row, **_sticky_models(config, runs, duration, warmup, seed)})
    summary = pd.DataFrame(agg)
    setup = pd.DataFrame([{"servers": SERVERS, "workers": WORKERS, "service_mean_s": SERVICE_MEAN_S,
                           "session_rate": SESSION_RATE, "mean_session_s": MEAN_SESSION_S, "think_time_s": THINK_S,
                           "activity_scv": ACTIVITY_SCV, "window_s": WINDOW_S, "duration_s": duration,
                           "warmup_s": warmup, "restart_before_end_s": RESTART_BEFORE_END_S}])
    return {"runs": runs, "summary": summary, "setup": setup}


# --------------------------------------------------------------------------- session-store

STORE_WORKERS, STORE_SERVICE_S = 16, 0.010
STORE_RATES = (100.0, 300.0, 600.0)
STORE_SESSION_S = 2.0  # short stays: the users fill the run within its warm-up


def _redis_idle_round_trip(port: int, n: int = 500) -> float:
    """Mean seconds of one GET through ``redis.asyncio`` at idle (sequential, after a warm-up)."""
    import redis.asyncio

    async def measure():
        client = redis.asyncio.Redis(host=LAB_HOST, port=port)
        try:
            for _ in range(50):
                await client.get("session:none")
            t = time.monotonic()
            for _ in range(n):
                await client.get("session:none")
            return (time.monotonic() - t) / n
        finally:
            await client.aclose()

    return _run_in_thread(measure, True)


def _redis_usec_per_call(client) -> tuple[int, float]:
    """(calls, microseconds) of GET and SET so far, from ``INFO commandstats``."""
    st = client.info("commandstats")
    calls = sum(st.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("get", "set"))
    usec = sum(st.get(f"cmdstat_{c}", {}).get("usec", 0) for c in ("get", "set"))
    return calls, usec


def run_session_store(*, quick: bool = False, seed: int = 0) -> dict:
    """Session in memory against session in Redis, same users: the time each request pays, against SessionStore.

    One lab server (16 workers, exponential 10 ms); the users of
    :func:`session_loop` at 100, 300 and 600 requests per second (think 0.5 s,
    stay 2 s), 12 s per run, the first 4 s not counted, three repeats of each
    pair (memory, Redis) on the same seed; quick: 300 req/s, one 6 s pair.
    The model: :class:`~scaling_lab.sessions.SessionStore` with two operations
    per request, Redis's own time per GET/SET from ``INFO commandstats`` as
    :math:`S`, one Redis thread, and the idle round trip of ``redis.asyncio``
    minus :math:`S` as :math:`r`.
    """
    rates = (300.0,) if quick else STORE_RATES
    repeats, duration, warmup = (1, 6.0, 3.0) if quick else (3, 12.0, 4.0)
    rows = []
    with Redis() as redis:
        client = redis.client()
        idle = _redis_idle_round_trip(redis.port)
        for rate in rates:
            users = rate * THINK_S  # an average user sends about one request per think time
            for rep in range(repeats):
                pair = {}
                for store in ("memory", "redis"):
                    calls0, usec0 = _redis_usec_per_call(client)
                    with LabServer(Exponential(STORE_SERVICE_S), servers=STORE_WORKERS, seed=seed + rep,
                                   sessions=store, redis_port=redis.port if store == "redis" else None) as s:
                        res = session_loop(s.url, users / STORE_SESSION_S, STORE_SESSION_S, THINK_S, duration,
                                           activity_scv=ACTIVITY_SCV, seed=seed + 100 * rep + int(rate))
                    calls1, usec1 = _redis_usec_per_call(client)
                    r = res.requests
                    keep = ((r["status"] == 200) & (r["planned"] >= res.t0 + warmup)).to_numpy()
                    lat = res.latency[keep]
                    st = r.loc[keep, "store_s"].to_numpy()
                    pair[store] = {"mean": float(lat.mean()), "p99": latency_summary(lat, (0.99,))["p99"],
                                   "store_mean": float(st.mean()), "store_p99": float(np.quantile(st, 0.99)),
                                   "n": int(keep.sum()), "failures": res.failures,
                                   "rate": keep.sum() / (duration - warmup),
                                   "redis_op_s": (usec1 - usec0) / max(calls1 - calls0, 1) * 1e-6,
                                   "lag_p99": float(np.nanquantile((r["sent"] - r["planned"]).to_numpy(), 0.99))}
                m, x = pair["memory"], pair["redis"]
                rows.append({"rate": rate, "repeat": rep, "achieved_rate": x["rate"], "n": x["n"],
                             "failures": m["failures"] + x["failures"], "store_mean": x["store_mean"],
                             "store_p99": x["store_p99"], "memory_store_mean": m["store_mean"],
                             "redis_op_s": x["redis_op_s"], "meas_mean_memory": m["mean"], "meas_mean_redis": x["mean"],
                             "added_mean": x["mean"] - m["mean"], "p99_memory": m["p99"], "p99_redis": x["p99"],
                             "lag_p99": max(m["lag_p99"], x["lag_p99"])})
        client.close()
    runs = pd.DataFrame(rows)
    op_s = float(runs["redis_op_s"].mean())
    rtt = max(idle - op_s, 0.0)
    agg = []
    for rate, g in runs.groupby("rate", sort=True):
        model = SessionStore(float(g["achieved_rate"].mean()), op_s, nodes=1, ops_per_request=2, rtt_s=rtt)
        row = {"rate": rate, "repeats": len(g), "model_added": model.mean_added_latency,
               "model_utilization": model.utilization,
               "model_op_p99": float(model.op_latency_quantile(0.99))}
        for c in ("achieved_rate", "store_mean", "store_p99", "added_mean", "redis_op_s", "p99_memory", "p99_redis"):
            row[c], row[c + "_ci"] = float(g[c].mean()), _t_half(g[c])
        agg.append(row)
    setup = pd.DataFrame([{"workers": STORE_WORKERS, "service_mean_s": STORE_SERVICE_S, "think_time_s": THINK_S,
                           "mean_session_s": STORE_SESSION_S, "activity_scv": ACTIVITY_SCV, "duration_s": duration,
                           "warmup_s": warmup, "idle_round_trip_s": idle, "redis_op_s": op_s, "rtt_s": rtt,
                           "ops_per_request": 2}])
    return {"runs": runs, "summary": pd.DataFrame(agg), "setup": setup}
