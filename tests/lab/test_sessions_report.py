"""Chapter 8's lab tables read the sticky-sessions and session-store recordings and say what the chapter claims.

Ordinary fast tests (no server starts): each table is checked against the runs it summarizes,
the models against their formulas computed here independently (the expected maximum of four
normals, U/N with its binomial range, the M/M/1 store of two operations per request), and the
chapter's findings against the recorded numbers, so a new recording that contradicts the prose
fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scaling_lab.lab import traffic_report as tr
from scaling_lab.lab.report import recorded
from table_cells import cell_half_width, cell_number, t_interval

E_MAX_4_NORMALS = 1.0293754  # E[max of 4 standard normals] (Tippett 1925)
POOLS = ["sticky, placed at random", "sticky, placed round robin", "stateless, Redis store"]


@pytest.fixture(scope="module")
def sticky():
    return recorded("sticky-sessions")


@pytest.fixture(scope="module")
def store():
    return recorded("session-store")


def _row(t: pd.DataFrame, pool: str, quantity: str) -> pd.Series:
    hit = t[(t["pool"] == pool) & (t["quantity"] == quantity)]
    assert len(hit) == 1, (pool, quantity)
    return hit.iloc[0]


# --------------------------------------------------------------------------- sticky sessions

def test_sticky_setup_is_the_one_the_chapter_describes(sticky):
    s = sticky["setup"].iloc[0]
    assert (int(s["servers"]), int(s["workers"]), s["service_mean_s"]) == (4, 2, 0.020)
    assert (s["session_rate"], s["mean_session_s"], s["think_time_s"], s["activity_scv"]) == (20, 6, 0.5, 1)
    assert (s["duration_s"], s["warmup_s"], s["restart_before_end_s"], s["window_s"]) == (30, 8, 6, 2)
    assert not sticky["meta"]["quick"]
    assert list(sticky["summary"]["config"]) == POOLS and (sticky["summary"]["repeats"] == 3).all()


def test_sticky_table_measured_column_is_the_runs(sticky):
    t = tr.sticky_sessions_table(sticky)
    runs = sticky["runs"]
    cols = {"users at once per server": "users_per_server", "busiest / mean: users at once": "sessions_peak",
            "busiest / mean: their activity": "activity_peak", "busiest / mean: requests per 2 s": "requests_peak"}
    for pool in POOLS:
        g = runs[runs["config"] == pool]
        for quantity, col in cols.items():
            if pool.startswith("stateless") and col in ("sessions_peak", "activity_peak"):
                continue
            cell = _row(t, pool, quantity)["measured"]
            mean, half = t_interval(g[col])
            digits = 1 if col == "users_per_server" else 2
            assert cell_number(cell) == pytest.approx(mean, abs=0.6 * 10**-digits)
            assert cell_half_width(cell) == pytest.approx(half, abs=0.6 * 10**-digits)
        mean, half = t_interval(g["meas_p99"] * 1e3)
        cell = _row(t, pool, "p99 in ms, all requests")["measured"]
        assert cell_number(cell) == pytest.approx(mean, abs=0.6) and cell_half_width(cell) == pytest.approx(half, abs=0.6)


def test_sticky_formula_is_one_plus_e4_sqrt_of_1_plus_c2_over_u(sticky):
    """Random pinning only: users (c2 = 0), activity (c2 = 1), requests per window (c2 = 1 + 1/(m w))."""
    t = tr.sticky_sessions_table(sticky)
    runs = sticky["runs"]
    g = runs[runs["config"] == POOLS[0]]
    u, m = g["users_per_server"].mean(), g["user_rate"].mean()
    w = float(sticky["setup"]["window_s"].iloc[0])
    for quantity, c2 in (("busiest / mean: users at once", 0.0), ("busiest / mean: their activity", 1.0),
                         ("busiest / mean: requests per 2 s", 1.0 + 1 / (m * w))):
        want = 1 + E_MAX_4_NORMALS * math.sqrt((1 + c2) / u)
        assert cell_number(_row(t, POOLS[0], quantity)["model"]) == pytest.approx(want, abs=0.006)
    for quantity in ("busiest / mean: users at once", "busiest / mean: their activity"):
        assert _row(t, POOLS[1], quantity)["model"] == ""     # round robin pins no one at random
    assert _row(t, POOLS[2], "busiest / mean: requests per 2 s")["model"] == "1"


def test_session_loss_table_is_the_runs_and_u_over_n(sticky):
    t = tr.session_loss_table(sticky).set_index("pool")
    runs = sticky["runs"]
    for pool in POOLS:
        g = runs[runs["config"] == pool]
        mean, half = t_interval(g["lost"])
        cell = t.loc[pool, "sessions lost, measured"]
        assert cell_number(cell) == pytest.approx(mean, abs=0.06)
        u = g["users_at_restart"].mean()
        if pool.startswith("stateless"):
            assert t.loc[pool, "model U/N"] == "0"
            continue
        sd = math.sqrt(u * 0.25 * 0.75 / len(g))
        model = t.loc[pool, "model U/N"]
        assert cell_number(model) == pytest.approx(u / 4, abs=0.06)
        low, high = (float(x) for x in model.split("(")[1].rstrip(")").split(" … "))
        assert low == pytest.approx(max(u / 4 - 1.96 * sd, 0), abs=0.06)
        assert high == pytest.approx(u / 4 + 1.96 * sd, abs=0.06)


def test_sticky_sessions_figure_has_the_three_series(sticky):
    fig = tr.sticky_sessions_figure(sticky)
    assert [d.name for d in fig.data] == ["formula (random pinning)", "simulated pool, same users", "measured through HAProxy"]
    assert all(len(d.x) == 7 for d in fig.data)   # 3 + 3 sticky measures, 1 stateless


# --------------------------------------------------------------------------- session store

def test_session_store_model_is_two_mm1_operations_plus_the_round_trip(store):
    t = tr.session_store_table(store)
    setup = store["setup"].iloc[0]
    op_s, rtt = float(setup["redis_op_s"]), float(setup["rtt_s"])
    assert rtt == pytest.approx(max(float(setup["idle_round_trip_s"]) - op_s, 0.0), rel=1e-4)   # CSV keeps 6 digits
    assert op_s == pytest.approx(store["runs"]["redis_op_s"].mean(), rel=1e-4)
    for (_, row), (_, s) in zip(t.iterrows(), store["summary"].iterrows()):
        rate = s["achieved_rate"]
        rho = 2 * rate * op_s
        added = 2 * (rtt + op_s / (1 - rho))        # k (r + E[T]) of M/M/1, k = 2
        assert float(row["SessionStore model"]) == pytest.approx(added * 1e3, abs=6e-4)
        assert cell_number(row["Redis busy"]) == pytest.approx(rho, abs=6e-5)


def test_session_store_measured_columns_are_the_runs(store):
    t = tr.session_store_table(store)
    runs = store["runs"]
    assert (runs["failures"] == 0).all()
    for (_, row), (rate, g) in zip(t.iterrows(), runs.groupby("rate", sort=True)):
        assert float(row["requests/s"]) == pytest.approx(g["achieved_rate"].mean(), abs=0.6)
        for col, name in (("store_mean", "store, measured"), ("store_p99", "store p99, measured"),
                          ("added_mean", "end to end, measured")):
            mean, half = t_interval(g[col] * 1e3)
            assert cell_number(row[name]) == pytest.approx(mean, abs=6e-4)
            assert cell_half_width(row[name]) == pytest.approx(half, abs=6e-4)


def test_session_store_figure_has_model_and_two_measurements(store):
    fig = tr.session_store_figure(store)
    assert len(fig.data) == 3 and all(len(d.x) == len(store["summary"]) for d in fig.data)


@pytest.mark.parametrize("fn", [tr.sticky_sessions_table, tr.sticky_sessions_figure, tr.session_loss_table,
                                tr.session_store_table, tr.session_store_figure])
def test_report_functions_refuse_other_recordings(fn):
    with pytest.raises(ValueError, match="rec"):
        fn({"summary": pd.DataFrame()})
    with pytest.raises(ValueError, match="rec"):
        fn(recorded("shard-load"))


# --------------------------------------------------------------------------- chapter 8's findings

def test_chapter_8_sticky_findings(sticky):
    s = sticky["summary"].set_index("config")
    rnd, rr, stateless = s.loc[POOLS[0]], s.loc[POOLS[1]], s.loc[POOLS[2]]
    # random pinning: the formula and the simulated pool inside every measured interval
    for col in ("sessions_peak", "activity_peak", "requests_peak"):
        assert abs(rnd[col] - rnd[f"formula_{col}"]) <= rnd[f"{col}_ci"]
        assert abs(rnd[col] - rnd[f"sim_{col}"]) <= rnd[f"{col}_ci"]
    assert rnd["max_utilization"] > rnd["utilization"]
    # round robin evens the users, not their activity
    assert rr["sessions_peak"] < rnd["sessions_peak"] and rr["sessions_peak"] < rr["activity_peak"]
    # the stateless pool balances requests
    assert stateless["requests_peak"] == pytest.approx(1.0, abs=0.01)
    # the same-path replay matches every measured p99 within a millisecond; the simulated pool lies above
    for _, r in s.iterrows():
        for col in ("p99", "worst_p99"):
            assert abs(r[f"meas_{col}"] - r[f"replay_{col}"]) < 0.001
        assert 1.0 < r["sim_p99"] / r["meas_p99"] < 2.5


def test_chapter_8_session_loss_findings(sticky):
    runs, s = sticky["runs"], sticky["summary"].set_index("config")
    memory = runs[runs["config"] != POOLS[2]]
    assert (memory["lost"] == memory["on_restarted"]).all(), "a sticky server's restart takes exactly its users"
    assert (runs["lost_elsewhere"] == 0).all()
    assert (runs.loc[runs["config"] == POOLS[2], "lost"] == 0).all()
    for pool in POOLS[:2]:
        r = s.loc[pool]
        assert abs(r["lost"] - r["users_at_restart"] / 4) <= r["lost_ci"]


def test_chapter_8_session_store_findings(store):
    s = store["summary"]
    assert (s["model_utilization"] < 0.005).all()
    ratio = s["store_mean"] / s["model_added"]
    assert ratio.between(1.5, 1.8).all()
    assert (np.abs(s["added_mean"] - s["store_mean"]) <= s["added_mean_ci"]).all()
    assert (s["store_p99"] < 0.0009).all() and (s["store_mean"] < 0.05 * 0.010).all()
