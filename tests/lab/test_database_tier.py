"""The database tier in the lab (chapter "Separating the database"), smoke version, and its simulator.

The smoke test starts a small :class:`LabDatabase` (5,000 customers, 50,000 orders), puts the web
tier in front of it with freed workers, then with blocking ones, and a closed population of users
who think; it checks the harness (every answered request has the server's timestamps, never more
queries at once than connections, never more requests in the web tier than slots), that nothing is
left behind (processes, backends, ports, directories), and a loose agreement with the replay.

How the tolerances were chosen: the smoke was run 6 times on this 2-core machine beside other
engineers' jobs (load average 6-14), 3 of them beside two extra CPU-bound python loops; the values
seen are in each constant's comment, the bound leaves at least twice that room.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_gone, require_lab

import scaling_lab as sl
from scaling_lab.lab import closed_loop, open_loop
from scaling_lab.lab.database_tier import (DatabaseWebServer, LabDatabase, request_times, simulate_tiers,
                                           tier_replay)
from scaling_lab.lab.process import _descendants, pid_alive
from scaling_lab.simulation import Exponential, PoissonArrivals

# |measured - replayed| mean latency over measured; seen 0.00-0.04 (freed and blocking), bound 0.25
REPLAY_REL_MAX = 0.25
# closed loop: throughput against Little's law N / (Z + R) with the measured R; seen within 1-4 %, bound 15 %
LITTLE_REL_MAX = 0.15
WORKERS, POOL = 3, 2


def _max_overlap(start: np.ndarray, end: np.ndarray) -> int:
    """Most intervals [start, end) open at one instant."""
    events = sorted([(t, 1) for t in start] + [(t, -1) for t in end], key=lambda e: (e[0], e[1]))
    level = top = 0
    for _, step in events:
        level += step
        top = max(top, level)
    return top


def _check_run(web: DatabaseWebServer, rate: float, seed: int) -> pd.DataFrame:
    web.records()
    r = open_loop(web.url(), PoissonArrivals(rate), 3.0, seed=seed, timeout_s=10.0)
    times = request_times(r, web.records())
    assert r.failures == 0
    assert len(times) == r.n  # every answered request carries the server's timestamps
    order = times[["arrival", "start", "web_end", "db_start", "db_end", "end"]].to_numpy()
    assert (np.diff(order, axis=1) >= 0).all()
    assert _max_overlap(times["db_start"].to_numpy(), times["db_end"].to_numpy()) <= POOL
    held_until = times["db_end"] if web.blocking else times["web_end"]
    assert _max_overlap(times["start"].to_numpy(), held_until.to_numpy()) <= WORKERS
    replayed = tier_replay(times, WORKERS, POOL, web.blocking)
    assert abs(times["latency"].mean() - replayed.mean()) <= REPLAY_REL_MAX * times["latency"].mean()
    return times


@pytest.mark.lab
def test_database_tier_smoke():
    require_lab()
    with LabDatabase(n_customers=5_000, n_orders=50_000) as db:
        db_pid, db_port, db_dir = db.pid, db.port, db.dir
        with db.connect() as conn:
            assert conn.execute("select count(*) from orders").fetchone()[0] == 50_000
        for blocking in (False, True):
            with DatabaseWebServer(db, Exponential(0.010), workers=WORKERS, pool_size=POOL, blocking=blocking,
                                   aggregate_customers=300, seed=1) as web:
                web_pid, web_port, web_dir = web.pid, web.port, web.dir
                times = _check_run(web, 60.0, seed=2 + blocking)
                if blocking:  # the slot is held through the queries: the web tier holds the database's time too
                    assert (times["db_end"] <= times["end"]).all()
                else:
                    users = closed_loop(web.url(), 8, 3.0, warmup_s=0.5, think_time_s=0.05, seed=3, realtime=True,
                                        boost=False)
                    assert users.errors == 0 and users.completed > 50
                    little = 8 / (0.05 + users.mean_response)
                    assert abs(users.throughput - little) <= LITTLE_REL_MAX * little
            assert_gone(web, web_pid, web_port, web_dir)
        backends = _descendants(db_pid)
        assert len(backends) >= 1
    assert_gone(db, db_pid, db_port, db_dir)
    assert not any(pid_alive(p) for p in backends), "a PostgreSQL backend outlived its server"


@pytest.mark.parametrize("blocking", [False, True])
def test_simulated_tiers_match_the_exact_models(blocking):
    """With exponential times the simulated tiers are the Jackson network (freed) or the held pool (blocking).

    200,000 requests gave 0.0-0.5 % from the exact means at these loads; 60,000 stay within 4 %.
    """
    tiers = [sl.Station("web", 4, 1 / 0.015), sl.Station("database", 2, 1 / 0.009)]
    x = simulate_tiers(110.0, Exponential(0.015), Exponential(0.009), workers=4, pool_size=2, blocking=blocking,
                       n_requests=60_000, seed=5)
    exact = sl.held_pool(110.0, 4, tiers).mean_response if blocking else sl.OpenNetwork(110.0, tiers, visits=[1, 1]).mean_response
    assert x.mean() == pytest.approx(exact, rel=0.04)


def test_tier_replay_of_an_empty_queue_is_the_sum_of_times():
    """Requests far apart never wait: the replay gives back web + database time (+ tail, 0 here)."""
    times = pd.DataFrame({"arrival": [0.0, 1.0, 2.0], "web_s": [0.01, 0.02, 0.03], "db_s": [0.005, 0.004, 0.003],
                          "end": 0.0, "db_end": 0.0, "transport": 0.0})
    np.testing.assert_allclose(tier_replay(times, 1, 1, True), [0.015, 0.024, 0.033])


def test_bad_input():
    with pytest.raises(ValueError, match="n_customers"):
        LabDatabase(n_customers=10)
    with pytest.raises(ValueError, match="n_orders"):
        LabDatabase(n_customers=1000, n_orders=10)
    with pytest.raises(ValueError, match="database"):
        DatabaseWebServer(None, Exponential(0.01))
    with pytest.raises(ValueError, match="arrival_rate"):
        simulate_tiers(0.0, Exponential(0.01), Exponential(0.01), workers=1, pool_size=1, blocking=False)
    with pytest.raises(ValueError, match="db_service"):
        simulate_tiers(1.0, Exponential(0.01), 0.01, workers=1, pool_size=1, blocking=False)
    with pytest.raises(ValueError, match="workers"):
        simulate_tiers(1.0, Exponential(0.01), Exponential(0.01), workers=0, pool_size=1, blocking=False)
    with pytest.raises(ValueError, match="pool_size"):
        tier_replay(pd.DataFrame({"db_s": []}), 1, 0, False)
    with pytest.raises(ValueError, match="times"):
        tier_replay([], 1, 1, False)
    with pytest.raises(ValueError, match="result"):
        request_times(None, pd.DataFrame({"arrival": []}))
    with pytest.raises(ValueError, match="think_time_s"):
        closed_loop("http://127.0.0.1:1/work", 1, 1.0, think_time_s=-1.0)


def test_report_functions_refuse_other_recordings():
    from scaling_lab.lab import database_report

    for name in database_report.__all__:
        with pytest.raises(ValueError, match="rec"):
            getattr(database_report, name)({"summary": pd.DataFrame()})
