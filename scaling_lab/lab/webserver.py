"""The lab web server: a real HTTP server with ``servers`` workers and a FIFO queue in front of them.

A request to ``/work`` waits in a first-come-first-served queue for one of
``servers`` slots (an :class:`asyncio.Semaphore`, whose waiters are woken in
arrival order), holds it for a service time drawn from one of the package's
distributions (:class:`~scaling_lab.simulation.Exponential`,
:class:`~scaling_lab.simulation.LogNormal`, :class:`~scaling_lab.simulation.Deterministic`, …)
and answers ``200``.  The service time is drawn in order of service start
from ``numpy.random.default_rng(seed)`` and spent either

* ``mode="sleep"``: asleep (``asyncio.sleep``), so the CPU is not the
  bottleneck and the server is an M/G/c queue whatever the machine, or
* ``mode="cpu"``: on the CPU, in a pool of ``servers`` worker processes that spin until
  their CPU time (``time.process_time``) has advanced by the service time: a
  CPU-bound endpoint whose throughput is limited by the machine's cores.

``/work?s=0.015`` overrides the drawn service time for that request (seconds);
``/health`` answers at once (for load-balancer health checks).
With ``sessions="memory"`` or ``"redis"`` a request carrying a cookie ``sid``
reads that user's session (a request count) before it queues for a worker and
writes it back after its service, from the process's own memory (a sticky,
stateful server: a restart forgets every session) or from a shared Redis (a
stateless server); the answer says ``X-Session: found`` or ``new`` and how long
the read and the write took (``X-Store-Read``, ``X-Store-Write``, seconds).
Every response carries the server's own timestamps, in seconds of the
system-wide ``CLOCK_MONOTONIC`` (the client's clock too, on the same machine):
``X-Arrival`` (the handler started), ``X-Service-Start`` (a worker was free),
``X-Service-End``; so queueing delay and service time are measured, not
inferred, and a run can be replayed through the FCFS recursion.

Why this stack: measured on a 2-core machine, gunicorn sync workers drifted from
an ideal c-server FIFO queue as load grew (same-path residual 0.95 ms at
ρ = 0.5, 14.5 ms at ρ = 0.9: the kernel's accept queue is not FIFO over workers
and the workers are processes competing for the cores), while one asyncio
process (aiohttp) holding a semaphore of c stayed within about 4 ms at every
load and needs a fraction of a core.

The server process is :mod:`scaling_lab.lab._webapp` (``python -m scaling_lab.lab._webapp
CONFIG.json``); start it through :class:`LabServer`.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from ..simulation import Deterministic, Exponential, LogNormal  # noqa: F401  (names for the config)
from .. import simulation as _simulation
from .process import LAB_HOST, Component, boost_prefix, realtime_prefix
from ._checks import check_choice, check_integer

__all__ = ["LabServer", "MODES", "distribution_to_dict", "distribution_from_dict"]

MODES = ("sleep", "cpu")
#: Where a server keeps its users' sessions (``sessions=``)
SESSION_STORES = ("memory", "redis")


def distribution_to_dict(dist) -> dict:
    """``Exponential(mean=0.02)`` → ``{"type": "Exponential", "mean": 0.02}`` (JSON-ready)."""
    if not dataclasses.is_dataclass(dist) or not isinstance(dist, _simulation.Distribution):
        raise ValueError(f"service must be a Distribution (Exponential, LogNormal, Deterministic, ...), got {dist!r}")
    return {"type": type(dist).__name__, **{k: float(v) for k, v in dataclasses.asdict(dist).items()}}


def distribution_from_dict(spec: dict):
    """Inverse of :func:`distribution_to_dict`."""
    spec = dict(spec)
    cls = getattr(_simulation, spec.pop("type"))
    return cls(**spec)


class LabServer(Component):
    """The lab web server as a context manager: ``with LabServer(Exponential(0.02), servers=4) as s:``.

    Parameters
    ----------
    service : Distribution
        Service time per request, seconds.
    servers : int
        :math:`c \\ge 1`, requests served at once (workers); the rest wait in FIFO order.
    mode : {"sleep", "cpu"}
        Spend the service time asleep or on the CPU (see the module notes).
    seed : int
        Seed of the service-time stream.
    realtime : bool
        Run under ``chrt -f 10`` when possible (``mode="sleep"``); a CPU-bound
        server (``mode="cpu"``) never gets real-time priority and runs at
        nice −20 instead (when root).
    max_queue : int or None
        Load shedding: a request that finds all workers busy and this many
        requests already waiting is answered ``503`` at once (``None``: the
        queue is unbounded).
    sessions : {None, "memory", "redis"}
        Keep each user's session (cookie ``sid``) in the process's memory or in
        the Redis on ``redis_port`` (see the module notes); ``None``: no sessions.
    redis_port : int or None
        Port of the session store on 127.0.0.1 (``sessions="redis"`` only).
    """

    name = "webserver"

    def __init__(self, service, servers: int = 4, *, mode: str = "sleep", seed: int = 0, realtime: bool = True,
                 max_queue: int | None = None, sessions: str | None = None, redis_port: int | None = None):
        self.service_spec = distribution_to_dict(service)
        self.service = service
        self.servers = check_integer(servers, "servers", minimum=1)
        self.mode = check_choice(mode, "mode", MODES)
        self.seed = check_integer(seed, "seed", minimum=0)
        self.max_queue = None if max_queue is None else check_integer(max_queue, "max_queue", minimum=0)
        self.sessions = None if sessions is None else check_choice(sessions, "sessions", SESSION_STORES)
        if (self.sessions == "redis") != (redis_port is not None):
            raise ValueError(f"redis_port must be given exactly when sessions='redis', got {redis_port!r}")
        self.redis_port = None if redis_port is None else check_integer(redis_port, "redis_port", minimum=1,
                                                                         maximum=65535)
        self.boost = bool(realtime) and mode == "cpu"
        super().__init__(realtime=realtime and mode == "sleep")

    @property
    def url(self) -> str:
        return f"http://{LAB_HOST}:{self.port}/work"

    def _prepare(self) -> None:
        cfg = {"port": self.port, "servers": self.servers, "mode": self.mode, "seed": self.seed,
               "service": self.service_spec,
               "max_queue": self.max_queue, "sessions": self.sessions, "redis_port": self.redis_port}
        (self.dir / "config.json").write_text(json.dumps(cfg))

    def _command(self) -> list[str]:
        return realtime_prefix(self.realtime) + boost_prefix(self.boost) + [sys.executable, "-m", "scaling_lab.lab._webapp",
                                                 str(self.dir / "config.json")]
