"""The lab web server: a real HTTP server with ``workers`` servers and a FIFO queue in front of them.

A request to ``/work`` waits in a first-come-first-served queue for one of
``workers`` slots (an :class:`asyncio.Semaphore`, whose waiters are woken in
arrival order), holds it for a service time drawn from one of the package's
distributions (:class:`~scaling_lab.simulation.Exponential`,
:class:`~scaling_lab.simulation.LogNormal`, :class:`~scaling_lab.simulation.Deterministic`, …)
and answers ``200``.  The service time is drawn in order of service start
from ``numpy.random.default_rng(seed)`` and spent either

* ``mode="sleep"``: asleep (``asyncio.sleep``), so the CPU is not the
  bottleneck and the server is an M/G/c queue whatever the machine, or
* ``mode="cpu"``: on the CPU, in a pool of ``workers`` processes that spin until
  their CPU time (``time.process_time``) has advanced by the service time: a
  CPU-bound endpoint whose throughput is limited by the machine's cores.

``/work?s=0.015`` overrides the drawn service time for that request (seconds);
``/health`` answers at once (for load-balancer health checks).
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

Run as ``python -m scaling_lab.lab.webserver CONFIG.json``; normally through
:class:`LabServer`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import selectors
import sys
import time
from pathlib import Path

import numpy as np

from ..simulation import Deterministic, Exponential, LogNormal  # noqa: F401  (names for the config)
from .. import simulation as _simulation
from .process import LAB_HOST, Component, realtime_prefix
from ._checks import check_choice, check_integer

__all__ = ["LabServer", "MODES", "distribution_to_dict", "distribution_from_dict"]

MODES = ("sleep", "cpu")


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
    """The lab web server as a context manager: ``with LabServer(Exponential(0.02), workers=4) as s:``.

    Parameters
    ----------
    service : Distribution
        Service time per request, seconds.
    workers : int
        :math:`c \\ge 1`, requests served at once; the rest wait in FIFO order.
    mode : {"sleep", "cpu"}
        Spend the service time asleep or on the CPU (see the module notes).
    seed : int
        Seed of the service-time stream.
    realtime : bool
        Run under ``chrt -f 10`` when possible (``mode="sleep"`` only: a
        CPU-bound server must never get real-time priority).
    """

    name = "webserver"

    def __init__(self, service, workers: int = 4, *, mode: str = "sleep", seed: int = 0, realtime: bool = True):
        self.service_spec = distribution_to_dict(service)
        self.service = service
        self.workers = check_integer(workers, "workers", minimum=1)
        self.mode = check_choice(mode, "mode", MODES)
        self.seed = check_integer(seed, "seed", minimum=0)
        super().__init__(realtime=realtime and mode == "sleep")

    @property
    def url(self) -> str:
        return f"http://{LAB_HOST}:{self.port}/work"

    def _prepare(self) -> None:
        cfg = {"port": self.port, "workers": self.workers, "mode": self.mode, "seed": self.seed,
               "service": self.service_spec}
        (self.dir / "config.json").write_text(json.dumps(cfg))

    def _command(self) -> list[str]:
        return realtime_prefix(self.realtime) + [sys.executable, "-m", "scaling_lab.lab.webserver",
                                                 str(self.dir / "config.json")]


# --------------------------------------------------------------------------- the server process

def _burn_cpu(seconds: float) -> float:
    """Spin until this process has used ``seconds`` of CPU time; returns the CPU time used."""
    t0 = time.process_time()
    end = t0 + seconds
    while time.process_time() < end:
        pass
    return time.process_time() - t0


class _ServiceStream:
    """Service times in order of service start, drawn in blocks from one seeded generator."""

    def __init__(self, dist, seed: int, block: int = 4096):
        self.dist, self.rng, self.block = dist, np.random.default_rng(seed), block
        self.buf, self.i = np.empty(0), 0

    def next(self) -> float:
        if self.i >= len(self.buf):
            self.buf, self.i = self.dist.sample(self.rng, self.block), 0
        self.i += 1
        return float(self.buf[self.i - 1])


def _make_app(cfg: dict):
    from aiohttp import web

    workers = int(cfg["workers"])
    sem = asyncio.Semaphore(workers)
    stream = _ServiceStream(distribution_from_dict(cfg["service"]), int(cfg["seed"]))
    pool = None
    if cfg["mode"] == "cpu":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        list(pool.map(_burn_cpu, [0.0] * workers))  # start every worker process now, not on first use
    now = time.monotonic

    async def work(request):
        arrival = now()
        override = request.query.get("s")
        async with sem:
            start = now()
            s = float(override) if override is not None else stream.next()
            if pool is None:
                await asyncio.sleep(s)
            else:
                await asyncio.get_running_loop().run_in_executor(pool, _burn_cpu, s)
            end = now()
        return web.Response(text="ok", headers={"X-Arrival": repr(arrival), "X-Service-Start": repr(start),
                                                "X-Service-End": repr(end)})

    async def health(request):
        return web.Response(text="ok")

    async def on_cleanup(app):
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    app = web.Application()
    app.router.add_get("/work", work)
    app.router.add_get("/health", health)
    app.on_cleanup.append(on_cleanup)
    return app


def main(argv: list[str] | None = None) -> int:
    from aiohttp import web

    argv = sys.argv[1:] if argv is None else argv
    cfg = json.loads(Path(argv[0]).read_text())
    # select(2) sleeps to the microsecond; epoll rounds every timeout up to a whole millisecond,
    # which would lengthen each sleep by 0.5 ms on average.  (select handles up to 1024 sockets.)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    asyncio.set_event_loop(loop)
    app = _make_app(cfg)
    gc.freeze()  # keep the start-up objects out of later collections (shorter pauses)
    web.run_app(app, host=LAB_HOST, port=int(cfg["port"]), access_log=None, print=None,
                shutdown_timeout=1.0, backlog=1024, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
