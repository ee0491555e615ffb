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


# --------------------------------------------------------------------------- the report, on a synthetic recording

def _synthetic_recording() -> dict:
    """A recording whose every number is chosen: stack overhead 1 ms, database 50 ms (SCV 0.1), web 15 ms."""
    dist = {f"{c}_{k}": v for c, m in (("db_s", 0.050), ("lookup_s", 0.001), ("aggregate_s", 0.049), ("web_s", 0.015))
            for k, v in (("mean", m), ("scv", 0.1), ("p50", m), ("p99", 2 * m))}
    service = pd.DataFrame([{"n": 500, **dist, "overhead_mean": 0.020}])  # 20 ms: waits for a connection included
    runs = pd.DataFrame({"rho": [0.5, 0.5], "meas_mean": [0.0700, 0.0760], "worker_wait_mean": [0.0, 0.0],
                         "web_mean": [0.015, 0.016], "pool_wait_mean": [0.003, 0.008], "db_mean": [0.0510, 0.0510]})
    summary = pd.DataFrame([{"rho": 0.5, "arrival_rate": 20.0, "meas_mean": 0.073, "meas_mean_ci": 0.03,
                             "replay_mean": 0.072, "replay_mean_ci": 0.03, "meas_p99": 0.2, "meas_p99_ci": 0.05,
                             "replay_p99": 0.2, "replay_p99_ci": 0.05, "sim_p99": 0.180, "meas_db_mean": 0.051,
                             "meas_db_mean_ci": 0.002, "meas_db_scv": 0.1, "meas_web_mean": 0.0155}])
    blocking = pd.DataFrame([{"blocking": b, "arrival_rate": 20.0, "model_capacity": 40.0, "model_worker_wait": 0.01 * b,
                              "meas_worker_wait_mean": 0.005 * b, "meas_worker_wait_mean_ci": 0.001,
                              "model_prob_worker_wait": 0.2 * b, "meas_prob_worker_wait": 0.1 * b,
                              "meas_prob_worker_wait_ci": 0.05, "meas_pool_wait_mean": 0.01,
                              "meas_pool_wait_mean_ci": 0.005, "model_mean": 0.100, "sim_mean": 0.090,
                              "replay_mean": 0.08, "replay_mean_ci": 0.01, "meas_mean": 0.08, "meas_mean_ci": 0.01}
                             for b in (False, True)])
    closed = pd.DataFrame({"users": [1, 200], "meas_throughput": [6.0, 39.0], "meas_mean": [0.07, 5.0]})
    setup = pd.DataFrame([{"web_service_s": 0.015, "web_workers": 4, "pool_size": 2, "think_time_s": 0.1,
                           "db_capacity": 40.0}])
    return {"service": service, "runs": runs, "summary": summary, "blocking": blocking, "closed": closed,
            "setup": setup, "meta": {}}


def test_report_models_carry_the_runs_overhead_not_the_service_runs():
    """The overhead is latency minus the server's five stamped parts (1 ms here), and every model adds it once."""
    from scaling_lab.lab import database_report as dr

    rec = _synthetic_recording()
    assert dr.database_service_table(rec).loc["overhead (client, loopback, HTTP)", "mean (ms)"].startswith("1.00 ±")
    row = dr.database_tier_table(rec).iloc[0]
    expected = sl.MMc(20.0, 1 / 0.015, 4).mean_response + sl.MGc(20.0, 1 / 0.050, 2, scv=0.1).mean_response + 0.001
    assert float(row[("mean (ms)", "model")]) == pytest.approx(expected * 1e3, abs=0.05)
    assert float(row[("p99 (ms)", "simulated")]) == pytest.approx((0.180 - 0.020 + 0.001) * 1e3, abs=0.5)
    assert row[("during the run", "db busy")] == "51%"  # 20 req/s x 51 ms over 2 connections
    b = dr.database_blocking_table(rec)
    assert float(b.loc[("blocking", "20.0"), ("mean (ms)", "model")]) == pytest.approx(81.0, abs=0.05)


def test_closed_report_meets_the_two_asymptotes():
    """One user never waits (X = 1/(Z + overhead + D)); many users saturate the pool (X = c/D_db)."""
    from scaling_lab.lab import database_report as dr

    rec = _synthetic_recording()
    table = dr.database_closed_table(rec)
    one = 1 / (0.1 + 0.001 + 0.015 + 0.050)
    assert float(table.loc[1, ("throughput (req/s)", "exact model")]) == pytest.approx(one, abs=0.05)
    assert float(table.loc[1, ("mean response (ms)", "exact model")]) == pytest.approx(66.0, abs=0.5)
    assert float(table.loc[1, ("mean response (ms)", "MVA (Seidmann)")]) == pytest.approx(66.0, abs=0.5)
    assert float(table.loc[200, ("throughput (req/s)", "exact model")]) == pytest.approx(2 / 0.050, abs=0.05)
    m = dr._closed_models(rec, 200)
    assert m["knee"] == pytest.approx((0.015 + 0.050 + 0.1 + 0.001) / 0.025)
    for fig in (dr.database_tier_figure(rec), dr.database_closed_figure(rec)):
        assert len(fig.data) >= 3
