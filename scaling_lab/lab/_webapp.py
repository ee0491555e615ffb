"""The lab web server's process: ``python -m scaling_lab.lab._webapp CONFIG.json`` (see :mod:`.webserver`)."""

from __future__ import annotations

import asyncio
import gc
import json
import selectors
import sys
import time
from pathlib import Path

import numpy as np

from .process import LAB_HOST
from .webserver import distribution_from_dict



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

    workers = int(cfg["servers"])
    sem = asyncio.Semaphore(workers)
    stream = _ServiceStream(distribution_from_dict(cfg["service"]), int(cfg["seed"]))
    pool = None
    if cfg["mode"] == "cpu":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        list(pool.map(_burn_cpu, [0.0] * workers))  # start every worker process now, not on first use
    now = time.monotonic
    max_queue = cfg.get("max_queue")  # load shedding: answer 503 at once when this many already wait
    waiting = 0
    sessions = cfg.get("sessions")  # None, "memory" or "redis": the user's session (cookie sid), see .webserver
    memory: dict = {}
    state: dict = {}

    async def session_op(sid, value=None):
        """Read (``value`` None) or write the session ``sid``; returns (stored count or None, seconds)."""
        t = now()
        out = None
        if sessions == "memory":
            if value is None:
                out = memory.get(sid)
            else:
                memory[sid] = value
        elif value is None:
            out = await state["redis"].get(f"session:{sid}")
        else:
            await state["redis"].set(f"session:{sid}", value, ex=3600)
        return (None if out is None else int(out)), now() - t

    async def work(request):
        nonlocal waiting
        arrival = now()
        if max_queue is not None and waiting >= max_queue and sem.locked():
            return web.Response(status=503, text="busy", headers={"X-Arrival": repr(arrival)})
        sid = request.cookies.get("sid") if sessions is not None else None
        if sid is not None:  # read the session before queueing for a worker, as an async server does
            count, read_s = await session_op(sid)
        override = request.query.get("s")
        waiting += 1
        try:
            await sem.acquire()
        finally:
            waiting -= 1
        try:
            start = now()
            s = float(override) if override is not None else stream.next()
            if pool is None:
                await asyncio.sleep(s)
            else:
                await asyncio.get_running_loop().run_in_executor(pool, _burn_cpu, s)
            end = now()
        finally:
            sem.release()
        headers = {"X-Arrival": repr(arrival), "X-Service-Start": repr(start), "X-Service-End": repr(end)}
        if sid is not None:  # write it back after the service: one read and one write per request
            _, write_s = await session_op(sid, (count or 0) + 1)
            headers.update({"X-Session": "found" if count is not None else "new", "X-Store-Read": repr(read_s),
                            "X-Store-Write": repr(write_s)})
        return web.Response(text="ok", headers=headers)

    async def health(request):
        return web.Response(text="ok")

    async def on_startup(app):
        if sessions == "redis":
            import redis.asyncio

            state["redis"] = redis.asyncio.Redis(host=LAB_HOST, port=int(cfg["redis_port"]), max_connections=256)

    async def on_cleanup(app):
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if "redis" in state:
            await state["redis"].aclose()

    return web_app({"/work": work, "/health": health}, on_startup=on_startup, on_cleanup=on_cleanup)


def web_app(routes: dict, *, on_startup, on_cleanup):
    """An aiohttp application that answers GET ``path`` with ``routes[path]`` and runs the two hooks.

    ``on_startup(app)`` runs before it takes requests, ``on_cleanup(app)`` after it has stopped.
    """
    from aiohttp import web

    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def serve(make_app, argv: list[str] | None = None) -> int:
    """Run the aiohttp application ``make_app(config)`` on 127.0.0.1; ``argv[0]`` is the JSON config's path."""
    from aiohttp import web

    argv = sys.argv[1:] if argv is None else argv
    cfg = json.loads(Path(argv[0]).read_text())
    # select(2) sleeps to the microsecond; epoll rounds every timeout up to a whole millisecond,
    # which would lengthen each sleep by 0.5 ms on average.  (select handles up to 1024 sockets.)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    asyncio.set_event_loop(loop)
    app = make_app(cfg)
    gc.freeze()  # keep the start-up objects out of later collections (shorter pauses)
    web.run_app(app, host=LAB_HOST, port=int(cfg["port"]), access_log=None, print=None,
                shutdown_timeout=1.0, backlog=1024, loop=loop)
    return 0


def main(argv: list[str] | None = None) -> int:
    return serve(_make_app, argv)


if __name__ == "__main__":
    sys.exit(main())
