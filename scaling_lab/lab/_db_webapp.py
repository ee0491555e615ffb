"""The database-backed web server's process: ``python -m scaling_lab.lab._db_webapp CONFIG.json``.

See :mod:`.database_tier` (:class:`~.database_tier.DatabaseWebServer` starts it).  A request to
``/work`` takes one of ``workers`` web slots (FIFO), spends its web time asleep, then takes one
of ``pool_size`` PostgreSQL connections from a ``psycopg_pool.AsyncConnectionPool`` (FIFO) and
runs its queries.  ``blocking``: the web slot is held until the queries are done; otherwise it
is freed when the web time ends.  ``/records`` returns (and forgets) every request's timestamps.
"""

from __future__ import annotations

import asyncio
import sys
import time

import numpy as np

from ._webapp import _ServiceStream, serve, web_app
from .webserver import distribution_from_dict

#: The queries, by name: an indexed lookup of one customer (primary key), and an aggregate over the
#: orders of a range of customers (a join through the index on orders.customer_id).
QUERIES = {
    "lookup": "select id, name, region from customers where id = %s",
    "aggregate": ("select count(*), sum(o.amount_cents), max(o.created_at) from customers c "
                  "join orders o on o.customer_id = c.id where c.id between %s and %s"),
}
MAX_RECORDS = 500_000


def _make_app(cfg: dict):
    from aiohttp import web
    from psycopg_pool import AsyncConnectionPool

    workers = asyncio.Semaphore(int(cfg["workers"]))
    blocking = bool(cfg["blocking"])
    web_time = _ServiceStream(distribution_from_dict(cfg["web_service"]), int(cfg["seed"]))
    rng = np.random.default_rng(int(cfg["seed"]) + 1)
    n_customers, span = int(cfg["n_customers"]), int(cfg["aggregate_customers"])
    pool = AsyncConnectionPool(cfg["dsn"], min_size=int(cfg["pool_size"]), max_size=int(cfg["pool_size"]),
                               kwargs={"autocommit": True}, open=False, timeout=30.0)
    records: list = []
    now = time.monotonic

    async def run_queries(conn, kind: str) -> tuple[float, float]:
        t_lookup = t_agg = 0.0
        if kind in ("page", "lookup"):
            t0 = now()
            await (await conn.execute(QUERIES["lookup"], (int(rng.integers(1, n_customers + 1)),))).fetchall()
            t_lookup = now() - t0
        if kind in ("page", "aggregate"):
            first = int(rng.integers(1, n_customers - span + 2))
            t0 = now()
            await (await conn.execute(QUERIES["aggregate"], (first, first + span - 1))).fetchall()
            t_agg = now() - t0
        return t_lookup, t_agg

    async def work(request):
        arrival = now()
        kind = request.query.get("q", "page")
        if kind not in ("page", "lookup", "aggregate"):
            return web.Response(status=400, text="q must be page, lookup or aggregate")
        await workers.acquire()
        held = True
        try:
            start = now()
            await asyncio.sleep(web_time.next())
            web_end = now()
            if not blocking:
                workers.release()
                held = False
            async with pool.connection() as conn:
                db_start = now()
                t_lookup, t_agg = await run_queries(conn, kind)
                db_end = now()
        finally:
            if held:
                workers.release()
        end = now()
        if len(records) < MAX_RECORDS:
            records.append((arrival, start, web_end, db_start, db_end, end, t_lookup, t_agg))
        return web.Response(text="ok", headers={"X-Arrival": repr(arrival), "X-Service-Start": repr(start),
                                                "X-Service-End": repr(end)})

    async def dump(request):
        out = list(records)
        records.clear()
        return web.json_response(out)

    async def health(request):
        return web.Response(text="ok")

    async def on_startup(app):
        await pool.open(wait=True, timeout=30.0)

    async def on_cleanup(app):
        await pool.close()

    return web_app({"/work": work, "/records": dump, "/health": health}, on_startup=on_startup,
                   on_cleanup=on_cleanup)


def main(argv: list[str] | None = None) -> int:
    return serve(_make_app, argv)


if __name__ == "__main__":
    sys.exit(main())
