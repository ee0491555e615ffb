"""Smoke versions of chapter 5's lab experiments: real PostgreSQL streaming replication and failover.

Asserted only what cannot flake on a loaded two-core machine: every acknowledged row reaches the
replica, a synchronous standby loses no acknowledged write when the primary is killed, no write
appears that nobody sent, writes are accepted again after the promotion, and the throttled replay
lags far more than the loopback one.  Tolerances, from the runs made while building this (load
average 4-9 from other jobs): the loopback mean lag measured 0.25-2.3 ms at 500 tx/s (bound 50 ms,
twenty times the worst); the throttled replay at rho = 0.7 measured 31 ms mean lag against
0.25-2.3 ms on loopback (the ordering is asserted, not the size); promotion took 0.2-1.1 s
(bound 15 s).
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_lab.lab import Postgres
from scaling_lab.lab.replication import (
    REPLICA_PERIOD_S, REPLICA_QUOTA, measure_apply_rate, measure_commit_latency, measure_failover, measure_lag,
    measure_stale_reads, stalled_runs, summarize_lag_runs)

LOOPBACK_LAG_BOUND_S = 0.050
PROMOTE_BOUND_S = 15.0


def test_bad_input_fails_before_anything_starts():
    with pytest.raises(ValueError, match="cpu_quota"):
        Postgres(cpu_quota=0.1)  # a quota throttles a replica's replay; a primary has none
    with pytest.raises(ValueError, match="write_rate"):
        measure_failover(synchronous=True, write_rate=-1.0)
    with pytest.raises(ValueError, match="writers"):
        measure_failover(synchronous=True, writers=0)
    with pytest.raises(ValueError, match="level"):
        measure_commit_latency(None, "sometimes", 100.0, 1.0)
    with pytest.raises(ValueError, match="delays_s"):
        measure_stale_reads(None, None, [-0.001])
    with pytest.raises(ValueError, match="max_schedule_lag_s"):
        summarize_lag_runs(None, max_schedule_lag_s=0.0)


def _lag_run(rate, lag, schedule_lag, mu=100.0):
    return {"regime": "r", "write_rate": rate, "apply_rate": mu, "lag_mean": lag, "lag_p50": lag, "lag_p99": lag,
            "replay_queue_mean": 1 / (mu - rate), "replay_queue_p99": 1 / (mu - rate), "visible_before_ack": 0.0,
            "replay_lag_mean": lag, "replay_lag_null_fraction": 0.0, "schedule_lag_p99": schedule_lag,
            "achieved_rate": rate, "never_seen": 0}


def test_lag_summary_sets_disturbed_runs_aside_and_fits_the_delay_where_the_rate_is_lowest():
    import pandas as pd

    d = 0.004  # M/M/1 at mu = 100: 1/(mu - lambda) = 20 ms at 50/s, 50 ms at 80/s
    runs = pd.DataFrame([_lag_run(50.0, d + 0.020, 0.01), _lag_run(50.0, d + 0.020, 0.02), _lag_run(50.0, 3.0, 1.5),
                         _lag_run(80.0, d + 0.050, 0.01), _lag_run(80.0, 2.0, 0.9), _lag_run(80.0, 1.0, 0.9)])
    s = summarize_lag_runs(runs, max_median_lag_s=10.0).set_index("write_rate")  # no stalls: only lateness
    assert list(s["repeats"]) == [2, 1] and list(s["set_aside"]) == [1, 2] and list(s["stalled"]) == [0, 0]
    assert s["delay_s"].tolist() == pytest.approx([d, d])
    assert s["model_mean"].tolist() == pytest.approx([d + 0.020, d + 0.050])
    assert s["lag_mean"].tolist() == pytest.approx(s["model_mean"].tolist())
    assert s["replay_mean"].tolist() == pytest.approx(s["model_mean"].tolist())
    everything_disturbed = summarize_lag_runs(runs.assign(schedule_lag_p99=1.0), max_median_lag_s=10.0)
    assert list(everything_disturbed["repeats"]) == [3, 3] and list(everything_disturbed["set_aside"]) == [0, 0]


def test_lag_summary_leaves_stalled_runs_out_before_the_late_ones():
    """A run whose median lag is over MAX_MEDIAN_LAG_S is a replica stall: counted, not averaged, not fitted."""
    import pandas as pd

    d = 0.004
    runs = pd.DataFrame([_lag_run(50.0, d + 0.020, 0.01), _lag_run(50.0, d + 0.020, 0.02), _lag_run(50.0, 3.0, 1.5),
                         _lag_run(80.0, d + 0.050, 0.01), _lag_run(80.0, 2.0, 0.01), _lag_run(80.0, d + 0.050, 0.9)])
    assert stalled_runs(runs).tolist() == [False, False, True, False, True, False]
    s = summarize_lag_runs(runs).set_index("write_rate")
    assert list(s["stalled"]) == [1, 1] and list(s["set_aside"]) == [0, 1] and list(s["repeats"]) == [2, 1]
    assert s["delay_s"].tolist() == pytest.approx([d, d])  # the stall did not move the fitted delay
    all_stalled = summarize_lag_runs(runs.assign(lag_p50=1.0, schedule_lag_p99=0.01))
    assert list(all_stalled["stalled"]) == [0, 0] and list(all_stalled["repeats"]) == [3, 3]  # shown, not dropped
    with pytest.raises(ValueError, match="max_median_lag_s"):
        summarize_lag_runs(runs, max_median_lag_s=-1.0)
    with pytest.raises(ValueError, match="max_median_lag_s"):
        stalled_runs(runs, float("nan"))


@pytest.mark.lab
@pytest.mark.parametrize("synchronous", [True, False])
def test_failover_under_load(synchronous):
    out = measure_failover(synchronous=synchronous, write_rate=1000.0, kill_after_s=1.0, seed=3)
    assert out["acked_before_crash"] > 50  # writes were flowing when the primary died (160-3000 seen)
    assert out["phantom"] == 0
    if synchronous:
        assert out["lost"] == 0, f"synchronous standby lost {out['lost']} acknowledged writes"
    assert out["lost"] <= out["acked_before_crash"]
    assert out["promote_s"] < PROMOTE_BOUND_S
    assert np.isfinite(out["writes_back_after_s"]) and out["writes_back_after_s"] < PROMOTE_BOUND_S


@pytest.mark.lab
def test_lag_loopback_against_throttled_replay():
    with Postgres() as primary, Postgres(primary=primary) as replica:
        loop = measure_lag(primary, replica, 500.0, 3.0, seed=1)["summary"]
    assert loop["never_seen"] == 0 and loop["writes"] > 500
    assert loop["lag_mean"] < LOOPBACK_LAG_BOUND_S
    with Postgres() as primary, Postgres(primary=primary, cpu_quota=REPLICA_QUOTA,
                                         cpu_period_s=REPLICA_PERIOD_S) as replica:
        mu = measure_apply_rate(primary, replica, n_writes=300, rows=100)
        slow = measure_lag(primary, replica, 0.35 * mu, 3.0, rows=100, seed=2)["summary"]
    assert slow["never_seen"] == 0
    assert slow["lag_mean"] > loop["lag_mean"]


@pytest.mark.lab
def test_commit_latency_at_every_level():
    """Every write of each level is acknowledged and timed; waiting for the standby never makes a commit
    cheaper than not waiting at all.  Four quick runs on 2026-12-07, one idle and three beside two busy
    loops: 418 writes each level; medians off 0.10-0.4 ms, on 0.78-1.0 ms; p99s at most 3.5 ms."""
    from scaling_lab.lab.replication import COMMIT_LEVELS, run_commit_latency

    runs = run_commit_latency(quick=True, seed=5)["runs"].set_index("level")
    assert set(runs.index) == set(COMMIT_LEVELS)
    assert (runs["n"] > 200).all()  # 2 s at 200 writes/s, every one acknowledged
    assert (runs["p50"] > 0).all() and (runs["p99"] < 1.0).all()
    assert runs.loc["off", "p50"] < runs.loc["on", "p50"]
