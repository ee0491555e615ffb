"""The data tier's report tables read the recordings and say what chapters 5 and 6 claim from them.

Ordinary fast tests (no server starts): each checks a table against the recording it comes from,
the models against their formulas computed here independently, and the chapters' findings against
the recorded numbers, so a new recording that contradicts the prose fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

from scaling_lab.cache import hit_ratio, zipf_popularity
from scaling_lab.lab import data_report as dr
from scaling_lab.lab.replication import MAX_MEDIAN_LAG_S, stalled_runs
from scaling_lab.lab.report import recorded
from table_cells import cell_number


@pytest.fixture(scope="module")
def lag():
    return recorded("replication-lag")


@pytest.fixture(scope="module")
def redis():
    return recorded("redis-hit-ratio")


def test_lag_table_has_every_rate_and_the_model_is_mm1_plus_the_fitted_delay(lag):
    t = dr.replication_lag_table(lag)
    s = dr._lag_summary(lag)
    assert len(t) == len(s) == lag["runs"].groupby(["regime", "write_rate"]).ngroups
    assert set(t["regime"]) == {"loopback", "replica bottleneck"}
    for (_, r), (_, row) in zip(s.iterrows(), t.iterrows()):
        mu = r["write_rate"] / r["rho"]
        # E[L] = D + 1/(mu - lambda), p99 = D + ln(100)/(mu - lambda), written out here
        assert cell_number(row["mean, model"]) == pytest.approx(1e3 * (r["delay_s"] + 1 / (mu - r["write_rate"])), abs=0.006)
        assert cell_number(row["p99, model"]) == pytest.approx(1e3 * (r["delay_s"] + np.log(100) / (mu - r["write_rate"])),
                                                        abs=0.006)
        assert cell_number(row["measured"]) == pytest.approx(r["lag_mean"] * 1e3, abs=0.006)
    for regime, g in s.groupby("regime"):  # D is fitted where the rate is lowest: the model meets the mean there
        low = g.loc[g["write_rate"].idxmin()]
        if low["delay_s"] > 0:
            assert low["model_mean"] == pytest.approx(low["lag_mean"], rel=1e-6)
        else:  # clipped: the measurement is below the bare queue
            assert low["lag_mean"] <= low["model_mean"]
        assert np.all(np.diff(g.sort_values("write_rate")["model_mean"]) >= 0)


def test_stalled_runs_are_counted_not_averaged(lag):
    """A run whose median lag is over a quarter second is a replica stall: the table counts it, the means leave it out."""
    runs, s = lag["runs"], dr._lag_summary(lag)
    stalled = stalled_runs(runs)
    assert int(s["stalled"].sum()) == int(stalled.sum())
    for _, r in s.iterrows():
        g = runs[(runs["regime"] == r["regime"]) & (runs["write_rate"] == r["write_rate"])]
        kept = g[~stalled_runs(g)]
        if r["stalled"] and not r["set_aside"]:
            assert r["repeats"] == len(kept) and r["lag_mean"] == pytest.approx(kept["lag_mean"].mean())
    t = dr.replication_lag_table(lag)
    assert (t["runs"].str.contains("stalled") == (s["stalled"] > 0).to_numpy()).all()
    # the M/M/1 lag at rho <= 0.9 and the measured apply rate: its p99 is far below the threshold
    assert (s["model_p99"] < MAX_MEDIAN_LAG_S).all()


def test_loopback_lag_is_not_a_queue(lag):
    """Chapter 5: on loopback the replica's apply capacity is never approached and the lag does not grow with load."""
    s = dr._lag_summary(lag).set_index(["regime", "write_rate"]).loc["loopback"].sort_index()
    assert s["rho"].max() < 0.01
    assert s["lag_mean"].iloc[-1] <= s["lag_mean"].iloc[0]
    assert (s["lag_mean"] < 0.001).all() and (s["lag_p99"] < 0.001).all()  # a fraction of a millisecond
    assert (lag["summary"]["never_seen"] == 0).all()


def test_throttled_replay_queues_and_meets_the_model_at_high_load(lag):
    """Chapter 5: behind the throttled replay the lag grows tenfold and more with load, and at 90 % the
    model lies inside the measured interval; at light load the measurement is below the model."""
    s = dr._lag_summary(lag)
    b = s[s["regime"] == "replica bottleneck"].sort_values("write_rate")
    assert b["lag_mean"].iloc[-1] > 10 * b["lag_mean"].iloc[0]
    top = b.iloc[-1]
    assert top["rho"] == pytest.approx(0.9, abs=0.01)
    assert abs(top["lag_mean"] - top["model_mean"]) <= top["lag_mean_ci"]
    assert b["lag_mean"].iloc[0] < b["model_mean"].iloc[0]


def test_stale_read_table_and_model_curve(lag):
    t = dr.stale_reads_table(lag)
    st = lag["stale_reads"]
    assert len(t) == len(st)
    assert [cell_number(x) for x in t["stale, measured"]] == pytest.approx(list(st["stale"] / st["probes"]), abs=6e-4)
    for regime, g in st.groupby("regime"):
        curve = dr._stale_model(lag, regime, float(g["background_rate"].iloc[0]), np.linspace(0, 0.2, 50))
        assert curve[0] == 1.0 and np.all(np.diff(curve) <= 0) and np.all((curve >= 0) & (curve <= 1))
        # a read issued at once, before the replica can have applied anything, is stale (almost) always
        assert g.loc[g["delay_s"] == 0, "stale_fraction"].iloc[0] > 0.9
        # by 50 ms both the model and the measurement are below 2 %
        late = g[g["delay_s"] == 0.05].iloc[0]
        assert late["stale_fraction"] < 0.02
        assert dr._stale_model(lag, regime, float(late["background_rate"]), [0.05])[0] < 0.02
    # behind the throttled replay the model overstates the short delays (the throttled server is fast between pauses)
    b = st[(st["regime"] == "replica bottleneck") & (st["delay_s"] > 0) & (st["delay_s"] <= 0.02)]
    model = dr._stale_model(lag, "replica bottleneck", float(b["background_rate"].iloc[0]), b["delay_s"])
    assert (model > b["stale_fraction"] + b["stale_ci"]).all()
    assert len(dr.stale_reads_figure(lag).data) == 2 * st["regime"].nunique()


def test_commit_latency_waits_more_at_each_level():
    rec = recorded("commit-latency")
    t = dr.commit_latency_table(rec)
    assert list(t["synchronous_commit"]) == ["off", "local", "remote_write", "on", "remote_apply"]
    med = rec["summary"].set_index("level")["p50"]
    # off waits for nothing, remote_apply for a local flush, the standby's flush and its replay
    assert med["off"] < med["local"] < med["remote_apply"]
    # over loopback waiting for the standby costs a fraction of a millisecond, and the p99s stay near 2 ms
    assert med["on"] - med["local"] < 0.001
    assert (rec["summary"]["p99"] < 0.0025).all()
    assert cell_number(t.loc[t["synchronous_commit"] == "local", "median − local"].iloc[0]) == 0


def test_failover_synchronous_loses_nothing_and_models_match_the_formula(lag):
    rec = recorded("failover")
    runs = rec["runs"]
    sync = runs[runs["synchronous"].astype(bool)]
    assert len(sync) >= 3 and (sync["lost"] == 0).all() and (runs["phantom"] == 0).all()
    t = dr.failover_table(rec, lag).set_index("replication")
    assert cell_number(t.loc["synchronous (on)", "writes lost, model"]) == 0
    throttled = [m for m in t.index if "throttled" in m]
    if throttled:  # rho/(1-rho) + lambda*D with the bottleneck regime's measured mu and fitted D
        s = dr._lag_summary(lag)
        b = s[s["regime"] == "replica bottleneck"].iloc[0]
        mu, d = b["write_rate"] / b["rho"], b["delay_s"]
        lam = float(rec["summary"].set_index("mode").loc[throttled[0], "write_rate"])
        rho = lam / mu
        assert cell_number(t.loc[throttled[0], "writes lost, model"]) == pytest.approx(rho / (1 - rho) + lam * d, abs=0.006)
    assert t.loc["asynchronous", "writes lost, model"] != ""
    # chapter 5: no acknowledged write was lost in any run; the model expects less than 1.5 per failover
    assert (runs["lost"] == 0).all()
    assert all(cell_number(x) < 1.5 for x in t["writes lost, model"])
    assert dr.failover_table(rec).shape == t.reset_index().shape


def test_redis_table_models_at_the_keys_held(redis):
    rows = dr._redis_rows(redis)
    setup = redis["setup"].iloc[0]
    pop = zipf_popularity(int(setup["n_items"]), float(setup["alpha"]))
    r = rows.iloc[0]
    assert r["model_held"] == pytest.approx(hit_ratio(pop, int(round(r["keys_held"])), r["imitates"]))
    # under the IRM, at one size: LFU keeps the most popular keys, LRU beats RANDOM on a skewed stream
    assert (rows["exact_lfu_held"] >= rows["exact_lru_held"]).all()
    assert (rows["exact_lru_held"] > rows["exact_random_held"]).all()
    # Redis never holds more keys than the size it was given (client buffers count against maxmemory)
    assert (rows["keys_held"] <= rows["cache_items"] * 1.02).all()
    t = dr.redis_hit_ratio_table(redis)
    assert len(t) == len(redis["runs"]) and t["measured"].str.contains("±").all()
    assert len(dr.redis_hit_ratio_figure(redis).data) >= 3


def test_redis_lru_under_fast_turnover_evicts_like_random_and_matches_lru_when_paced(redis):
    """Chapter 6's finding: the 1 s LRU clock decides which policy Redis's allkeys-lru behaves like."""
    rows = dr._redis_rows(redis)
    lru = rows[rows["policy"] == "allkeys-lru"]
    gap_random = (lru["hit_ratio"] - lru["exact_random_held"]).abs()
    gap_lru = (lru["hit_ratio"] - lru["exact_lru_held"]).abs()
    fast = lru["turnover_s"] < 0.5  # keys live well under one tick of the clock
    assert fast.any() and (gap_random[fast] < gap_lru[fast]).all()
    slow = lru["turnover_s"] > 4.0  # keys live many ticks
    if (rows["regime"] == "paced").any():
        assert slow.any()
    assert (gap_lru[slow] < gap_random[slow]).all()
    rnd = rows[rows["policy"] == "allkeys-random"]
    assert np.allclose(rnd["hit_ratio"], rnd["exact_random_held"], atol=0.005)
    # the table's RANDOM -> LRU position: a third of the way at most while keys live under 0.4 s, most of it paced
    assert (lru.loc[lru["turnover_s"] < 0.4, "random_to_lru"] < 0.35).all()
    assert (lru.loc[lru["regime"] == "paced", "random_to_lru"] > 0.9).all()
    assert len(dr.redis_hit_ratio_figure(redis, against="turnover").data) == rows[rows["imitates"] != "lfu"].groupby(
        ["regime", "label"]).ngroups
    with pytest.raises(ValueError, match="against"):
        dr.redis_hit_ratio_figure(redis, against="size")


def test_redis_lfu_beats_lru_and_trails_the_exact_lfu(redis):
    """Chapter 6: allkeys-lfu is 6-12 points above allkeys-lru and 3-5 below the exact LFU on the same stream."""
    rows = dr._redis_rows(redis)
    fast = rows[rows["regime"] != "paced"]
    lfu = fast[fast["policy"] == "allkeys-lfu"].set_index("cache_fraction")
    lru = fast[(fast["policy"] == "allkeys-lru") & (fast["samples"] == 5)].set_index("cache_fraction")
    gain = lfu["hit_ratio"] - lru["hit_ratio"]
    assert gain.min() > 0.05 and gain.max() < 0.13
    short = lfu["exact_lfu_held"] - lfu["hit_ratio"]
    assert short.min() > 0.025 and short.max() < 0.05
