"""An open-loop load generator driven by the package's arrival processes.

:func:`open_loop` draws the whole schedule first (``arrivals.times(seed, n)``
from :class:`~scaling_lab.simulation.PoissonArrivals`,
:class:`~scaling_lab.simulation.RenewalArrivals`,
:class:`~scaling_lab.simulation.OnOffArrivals` or
:class:`~scaling_lab.simulation.PiecewisePoissonArrivals`), then launches
request :math:`i` at its scheduled time :math:`t_i` whatever the earlier
responses do, and measures its latency from :math:`t_i`, not from the moment
it was actually sent, so a generator or a connection that falls behind adds to
the latency instead of hiding it (no *coordinated omission*, G. Tene, "How NOT
to measure latency", 2015).  Its own schedule lag :math:`\\text{sent}_i - t_i` is
recorded for every request: a run whose generator fell behind says so.

Every loop is bounded: at most ``max_requests`` requests, none scheduled after
``duration_s``, each abandoned after ``timeout_s``, and the whole run cancelled
``timeout_s + 5`` s after the last scheduled send.  Traffic goes to 127.0.0.1 only.

The generator runs its own asyncio loop in a thread of the calling process
(so it also works inside Jupyter, whose loop is already running), under
SCHED_FIFO priority 10 when allowed: it sleeps between sends, so real-time
priority keeps its wake-ups on time without starving anything.

:func:`closed_loop` is the other kind, for capacity: ``concurrency`` clients
each sending the next request as soon as the previous one returns; it
measures throughput at saturation (chapter 3's scaling curve), never latency.

Existing tools, and why the lab has its own: ``wrk``, ``hey``, ``ab``,
``autocannon`` and locust (and ``aiolocust``) are closed-loop (a fixed number of
connections or users, each waiting for its response before the next request;
locust's ``constant_throughput`` paces each user, still closed); ``hey -q``
and ``loadtest --rps`` cap a closed loop's rate or send at fixed intervals;
``httperf --period=e`` (Debian) is truly open-loop Poisson but busy-spins a
whole core, which on two cores starves the server it measures; none of them
takes an arbitrary pre-drawn schedule (bursts, renewal gaps, piecewise
rates) or reports per-request schedule lag.  HTTP requests go through a small
HTTP/1.1 keep-alive client on asyncio streams (a fraction of aiohttp's
per-request cost, which matters at thousands of requests per second on one
core); latency summaries use ``hdrhistogram``.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import selectors
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from ..simulation import ArrivalProcess
from ._checks import check_in_range, check_integer, check_positive
from .process import LAB_HOST, realtime_available, set_autogroup_nice

__all__ = ["LoadResult", "ClosedLoopResult", "open_loop", "closed_loop", "latency_summary"]


@dataclass
class LoadResult:
    """Every request of one open-loop run; times in seconds of ``CLOCK_MONOTONIC``.

    Attributes
    ----------
    scheduled, sent, received : arrays
        When each request was due, actually written, and answered (``nan`` if not).
    server_arrival, service_start, service_end : arrays
        The server's own timestamps from its response headers (``nan`` if absent).
    status : int array
        HTTP status, 0 for a timeout or a connection error.
    """

    scheduled: np.ndarray
    sent: np.ndarray
    received: np.ndarray
    status: np.ndarray
    server_arrival: np.ndarray
    service_start: np.ndarray
    service_end: np.ndarray
    arrival_rate: float
    duration_s: float
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.scheduled)

    @property
    def ok(self) -> np.ndarray:
        """Mask of requests answered with 200."""
        return self.status == 200

    @property
    def latency(self) -> np.ndarray:
        """Response time from the *scheduled* send time, seconds (``nan`` for failures)."""
        return np.where(self.ok, self.received - self.scheduled, np.nan)

    @property
    def schedule_lag(self) -> np.ndarray:
        """How late each request was sent, :math:`\\text{sent}_i - t_i`, seconds."""
        return self.sent - self.scheduled

    @property
    def service(self) -> np.ndarray:
        """Measured service time, ``service_end - service_start``, seconds."""
        return self.service_end - self.service_start

    @property
    def sojourn(self) -> np.ndarray:
        """Time inside the server, queue plus service, ``service_end - server_arrival``, seconds."""
        return self.service_end - self.server_arrival

    @property
    def failures(self) -> int:
        return int((~self.ok).sum())

    def lag_quantile(self, q: float = 0.99) -> float:
        return float(np.quantile(self.schedule_lag[np.isfinite(self.sent)], q))

    def window(self, warmup_s: float) -> "LoadResult":
        """The requests scheduled at least ``warmup_s`` after the first one (drop the warm-up)."""
        keep = self.scheduled >= self.scheduled[0] + warmup_s
        arrays = {k: getattr(self, k)[keep] for k in ("scheduled", "sent", "received", "status",
                                                      "server_arrival", "service_start", "service_end")}
        return LoadResult(**arrays, arrival_rate=self.arrival_rate, duration_s=self.duration_s, meta=self.meta)


@dataclass
class ClosedLoopResult:
    """Completions of a closed-loop run: ``throughput`` per second over the measured window."""

    concurrency: int
    completed: int
    window_s: float
    errors: int
    latency: np.ndarray = field(default_factory=lambda: np.empty(0))  # of the requests completed in the window, s

    @property
    def throughput(self) -> float:
        return self.completed / self.window_s

    @property
    def mean_response(self) -> float:
        """Mean response time of the requests completed in the window, seconds (``nan`` if none)."""
        return float(self.latency.mean()) if len(self.latency) else math.nan


def latency_summary(latency_s, quantiles=(0.5, 0.95, 0.99)) -> dict:
    """Mean and quantiles (seconds) of the finite latencies, through an HDR histogram (1 µs, 3 digits).

    References
    ----------
    G. Tene, HdrHistogram, http://hdrhistogram.org (``hdrhistogram`` on PyPI).
    """
    from hdrh.histogram import HdrHistogram

    x = np.asarray(latency_s, dtype=float)
    x = x[np.isfinite(x)]
    out = {"n": int(len(x)), "mean": float(x.mean()) if len(x) else math.nan}
    h = HdrHistogram(1, 3_600_000_000, 3)  # microseconds, up to an hour, 3 significant digits
    for v in np.maximum(np.rint(x * 1e6), 1).astype(np.int64):
        h.record_value(int(v))
    for q in quantiles:
        out[f"p{round(q * 100, 3):g}"] = h.get_value_at_percentile(q * 100) / 1e6 if len(x) else math.nan
    return out


# --------------------------------------------------------------------------- HTTP/1.1 keep-alive client

class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer


class _Client:
    """Minimal HTTP/1.1 GET client with a pool of idle keep-alive connections to one address."""

    def __init__(self, host: str, port: int, max_connections: int):
        self.host, self.port, self.max_connections = host, port, max_connections
        self.idle: list[_Connection] = []
        self.open = 0

    async def get(self, request: bytes, sent_at: list) -> tuple[int, dict]:
        if self.idle:
            conn = self.idle.pop()
        else:
            if self.open >= self.max_connections:
                raise ConnectionError("too many connections")
            self.open += 1
            try:
                conn = _Connection(*await asyncio.open_connection(self.host, self.port))
            except BaseException:
                self.open -= 1
                raise
        try:
            sent_at.append(time.monotonic())
            conn.writer.write(request)
            head = await conn.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if line:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await conn.reader.readexactly(length)
        except BaseException:
            self.open -= 1
            conn.writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.open -= 1
            conn.writer.close()
        else:
            self.idle.append(conn)
        return status, headers

    def close(self) -> None:
        for conn in self.idle:
            conn.writer.close()
        self.idle.clear()


def _parse_url(url: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != LAB_HOST or parts.port is None:
        raise ValueError(f"url must be http://{LAB_HOST}:PORT/... (the lab sends traffic to loopback only), got {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = f"GET {path} HTTP/1.1\r\nHost: {LAB_HOST}:{parts.port}\r\n\r\n".encode()
    return parts.hostname, parts.port, request


def _run_in_thread(coro_factory, realtime: bool, boost: bool = False):
    """Run ``coro_factory()`` to completion in a fresh thread with its own event loop.

    The thread runs under SCHED_FIFO 10 if ``realtime`` (and allowed), else at nice −20 if
    ``boost`` and root (Linux schedules threads individually, so this changes only this thread).
    """
    box: dict = {}

    def target():
        try:
            if realtime and realtime_available():
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
            elif boost and os.geteuid() == 0:
                os.setpriority(os.PRIO_PROCESS, 0, -20)
        except (PermissionError, OSError):
            pass
        # select(2) takes a timeout in microseconds; epoll's is rounded up to whole milliseconds,
        # which alone would make every send up to 1 ms late.
        loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a collection pass over a large heap stalls the loop for tens of ms
        try:
            box["result"] = loop.run_until_complete(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            loop.close()
            if gc_was_enabled:
                gc.enable()

    t = threading.Thread(target=target, name="scaling-lab-loadgen", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


async def _launch_on_schedule(loop, t0: float, times, one, wait_s: float) -> None:
    """Start task ``one(i)`` at loop time ``t0 + times[i]`` for every ``i`` (open loop: never waiting
    for an answer), then wait at most ``wait_s`` for them all and cancel what is still running."""
    tasks = []
    for i in range(len(times)):
        delay = t0 + times[i] - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(i)))
    if tasks:
        await asyncio.wait(tasks, timeout=wait_s)
    for task in tasks:
        task.cancel()


def _mean_rate(arrivals: ArrivalProcess) -> float:
    """The long-run arrival rate (1/s) of ``arrivals``."""
    return float(arrivals.arrival_rate)


def _header_float(headers: dict, key: str) -> float:
    try:
        return float(headers[key])
    except (KeyError, ValueError):
        return math.nan


# --------------------------------------------------------------------------- open loop

def open_loop(url: str, arrivals: ArrivalProcess, duration_s: float, *, seed: int = 0,
              max_requests: int = 200_000, timeout_s: float = 5.0, max_connections: int = 512,
              realtime: bool = True) -> LoadResult:
    """Send requests to ``url`` at the times of ``arrivals`` for ``duration_s`` seconds, open loop.

    Parameters
    ----------
    url : str
        ``http://127.0.0.1:PORT/path`` (loopback only).
    arrivals : ArrivalProcess
        The schedule's law; its long-run ``arrival_rate`` (1/s) is the offered load.
    duration_s : float
        Requests are scheduled in ``[0, duration_s)``, at most 3,600 s.
    seed : int
        Seed of the schedule (``arrivals.times(seed, n)``).
    max_requests : int
        Hard cap on the number of requests.
    timeout_s : float
        A request unanswered after this long counts as failed (status 0).
    max_connections : int
        Keep-alive connections at most; a request that finds none free and
        cannot open one fails (status 0) rather than wait, keeping the loop open.
    realtime : bool
        Run the generator thread under SCHED_FIFO 10 when allowed.

    Returns
    -------
    LoadResult
        Every request's schedule, send, answer and server timestamps.
    """
    host, port, request = _parse_url(url)
    if not isinstance(arrivals, ArrivalProcess):
        raise ValueError(f"arrivals must be an ArrivalProcess (PoissonArrivals, RenewalArrivals, ...), got {arrivals!r}")
    duration_s = check_in_range(duration_s, "duration_s", 0.0, 3600.0, low_open=True)
    seed = check_integer(seed, "seed", minimum=0)
    max_requests = check_integer(max_requests, "max_requests", minimum=1)
    timeout_s = check_in_range(timeout_s, "timeout_s", 0.0, 600.0, low_open=True)
    max_connections = check_integer(max_connections, "max_connections", minimum=1)

    n_draw = int(min(max_requests, math.ceil(_mean_rate(arrivals) * duration_s * 1.5 + 50)))
    times = arrivals.times(np.random.default_rng(seed), n_draw)
    while times[-1] < duration_s and len(times) < max_requests:  # a slow stretch: draw more
        n_draw = min(max_requests, 2 * n_draw)
        times = arrivals.times(np.random.default_rng(seed), n_draw)
    times = times[times < duration_s][:max_requests]
    n = len(times)
    sent = np.full(n, np.nan)
    received = np.full(n, np.nan)
    status = np.zeros(n, dtype=np.int64)
    srv = np.full((3, n), np.nan)

    async def run():
        loop = asyncio.get_running_loop()
        client = _Client(host, port, max_connections)
        t0 = loop.time() + 0.05

        async def one(i: int):
            stamp: list = []
            try:
                st, headers = await asyncio.wait_for(client.get(request, stamp), timeout_s)
            except (asyncio.TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                if stamp:
                    sent[i] = stamp[0]
                return
            sent[i] = stamp[0]
            received[i] = time.monotonic()
            status[i] = st
            srv[0, i] = _header_float(headers, "x-arrival")
            srv[1, i] = _header_float(headers, "x-service-start")
            srv[2, i] = _header_float(headers, "x-service-end")

        await _launch_on_schedule(loop, t0, times, one, timeout_s + 5.0)
        client.close()
        return t0

    t0 = _run_in_thread(run, realtime)
    return LoadResult(scheduled=t0 + times, sent=sent, received=received, status=status,
                      server_arrival=srv[0], service_start=srv[1], service_end=srv[2],
                      arrival_rate=float(_mean_rate(arrivals)), duration_s=float(duration_s),
                      meta={"seed": seed, "arrivals": repr(arrivals), "url": url,
                            "realtime": bool(realtime and realtime_available())})


# --------------------------------------------------------------------------- closed loop

def closed_loop(url: str, concurrency: int, duration_s: float, *, warmup_s: float = 1.0,
                timeout_s: float = 10.0, boost: bool = True, think_time_s: float = 0.0, seed: int = 0,
                realtime: bool = False) -> ClosedLoopResult:
    """Throughput at saturation: ``concurrency`` clients, each sending again as soon as answered.

    Counts the requests completed between ``warmup_s`` and ``warmup_s +
    duration_s``; ``throughput`` = completed / ``duration_s`` (requests per
    second).  A closed loop hides latency (a slow answer delays the next
    request), so use it only for capacity.  Bounded by ``duration_s`` and
    ``timeout_s`` per request.  It saturates a CPU-bound server, so it never runs
    real-time; ``boost`` runs its thread at nice −20 (root only), like the server.

    With ``think_time_s`` > 0 each client is a user who thinks between requests for an
    exponential time of that mean (seconds; drawn from ``seed``), starting with one think:
    a closed population of ``concurrency`` users, whose mean response time
    (``mean_response``, from each request's send) is then meaningful.  Such clients
    mostly sleep, so they may run real-time (``realtime``).
    """
    host, port, request = _parse_url(url)
    concurrency = check_integer(concurrency, "concurrency", minimum=1)
    duration_s = check_in_range(duration_s, "duration_s", 0.0, 3600.0, low_open=True)
    warmup_s = check_in_range(warmup_s, "warmup_s", 0.0, 3600.0)
    timeout_s = check_positive(timeout_s, "timeout_s")
    think_time_s = check_in_range(think_time_s, "think_time_s", 0.0, 3600.0)
    rng = np.random.default_rng(check_integer(seed, "seed", minimum=0))
    latencies: list = []

    async def run():
        client = _Client(host, port, concurrency)
        start = time.monotonic()
        w0, w1 = start + warmup_s, start + warmup_s + duration_s
        counts = {"done": 0, "errors": 0}

        async def user():
            if think_time_s > 0:
                await asyncio.sleep(rng.exponential(think_time_s))
            while time.monotonic() < w1:
                sent = time.monotonic()
                try:
                    st, _ = await asyncio.wait_for(client.get(request, []), timeout_s)
                except (asyncio.TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
                    counts["errors"] += 1
                    await asyncio.sleep(0.01)
                    continue
                done = time.monotonic()
                if w0 <= done < w1:
                    counts["done" if st == 200 else "errors"] += 1
                    if st == 200:
                        latencies.append(done - sent)
                if think_time_s > 0:
                    await asyncio.sleep(min(rng.exponential(think_time_s), max(0.0, w1 - time.monotonic())))

        await asyncio.wait_for(asyncio.gather(*(user() for _ in range(concurrency))),
                               warmup_s + duration_s + timeout_s + 5.0)
        client.close()
        return counts

    previous = set_autogroup_nice(os.getpid(), -20) if boost and os.geteuid() == 0 else None
    try:
        counts = _run_in_thread(run, realtime, boost)
    finally:
        if previous is not None:
            set_autogroup_nice(os.getpid(), previous)
    return ClosedLoopResult(concurrency, counts["done"], float(duration_s), counts["errors"], np.array(latencies))
