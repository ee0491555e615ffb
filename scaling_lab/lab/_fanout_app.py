"""The fan-out front's process: ``python -m scaling_lab.lab._fanout_app CONFIG.json`` (see :mod:`.fanout`)."""

from __future__ import annotations

import asyncio
import math
import sys
import time

from ._webapp import serve, web_app
from .process import LAB_HOST


def _make_app(cfg: dict):
    import aiohttp
    from aiohttp import web

    backend = f"http://{LAB_HOST}:{int(cfg['backend_port'])}/work"
    counts = {"requests": 0, "calls": 0, "hedges": 0}
    state: dict = {}
    now = time.monotonic

    async def call() -> None:
        counts["calls"] += 1
        async with state["session"].get(backend) as resp:
            await resp.read()
            if resp.status != 200:
                raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status)

    async def hedged(delay_s: float) -> None:
        first = asyncio.ensure_future(call())
        if not math.isfinite(delay_s):
            return await first
        done, _ = await asyncio.wait({first}, timeout=delay_s)
        if done:
            return first.result()
        counts["hedges"] += 1
        second = asyncio.ensure_future(call())
        done, pending = await asyncio.wait({first, second}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:  # the backend keeps serving the loser: only the client side is cancelled
            task.cancel()
        return done.pop().result()

    async def fanout(request):
        arrival = now()
        k = int(request.query.get("k", "1"))
        delay = float(request.query.get("hedge", "inf"))
        if not 1 <= k <= 256:
            return web.Response(status=400, text="k must be in [1, 256]")
        counts["requests"] += 1
        try:
            await asyncio.gather(*(hedged(delay) for _ in range(k)))
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return web.Response(status=502, text="backend failed")
        return web.Response(text="ok", headers={"X-Arrival": repr(arrival), "X-Service-End": repr(now())})

    async def stats(request):
        return web.json_response(counts)

    async def on_startup(app):
        state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512),
                                                 timeout=aiohttp.ClientTimeout(total=30))

    async def on_cleanup(app):
        await state["session"].close()

    return web_app({"/fanout": fanout, "/stats": stats}, on_startup=on_startup, on_cleanup=on_cleanup)


def main(argv: list[str] | None = None) -> int:
    return serve(_make_app, argv)


if __name__ == "__main__":
    sys.exit(main())
