"""Chapter 12's lab tables read the shard-load and resharding recordings and say what the chapter claims.

Ordinary fast tests (no server starts): each table is checked against the runs it summarizes,
the models against their formulas computed here independently (harmonic numbers, the expected
maximum of four normals, the Zipf head, the Chinese-remainder count of keys that stay), and the
chapter's findings against the recorded numbers, so a new recording that contradicts the prose
fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scaling_lab.lab import sharding_report as sr
from scaling_lab.lab.report import recorded
from table_cells import cell_half_width, cell_number, t_interval


@pytest.fixture(scope="module")
def load():
    return recorded("shard-load")


@pytest.fixture(scope="module")
def reshard():
    return recorded("resharding")


def _case_runs(runs: pd.DataFrame, popularity: str, scheme: str, vnodes: int) -> pd.DataFrame:
    return runs[(runs["popularity"] == popularity) & (runs["scheme"] == scheme) & (runs["vnodes"] == vnodes)]


# --------------------------------------------------------------------------- shard load

CASES = [("uniform", "modulo", 0), ("uniform", "consistent", 100), ("uniform", "consistent", 1),
         ("zipf", "modulo", 0), ("zipf", "consistent", 100), ("zipf", "consistent", 1)]


def test_shard_load_table_has_every_case_in_order(load):
    t = sr.shard_load_table(load)
    assert list(t["keys"]) == ["uniform"] * 3 + ["Zipf, α = 1"] * 3
    assert list(t["routing"]) == ["modulo", "consistent, 100 vnodes", "consistent, 1 vnode"] * 2
    assert (t["runs"] == 8).all()


@pytest.mark.parametrize("row", range(len(CASES)))
def test_measured_hot_shard_is_k_max_over_sum_of_the_servers_counts(load, row):
    """The 'measured' cell is recomputed from the per-shard incrby counts of every run."""
    runs = _case_runs(load["runs"], *CASES[row])
    calls = runs[[f"calls_{j}" for j in range(4)]].to_numpy(float)
    assert (calls.sum(axis=1) == runs["requests"]).all(), "a server counted more or fewer requests than were sent"
    assert (runs["lost"] == 0).all() and runs["complete"].all()
    mean, half = t_interval(4 * calls.max(axis=1) / calls.sum(axis=1))
    cell = sr.shard_load_table(load).iloc[row]
    assert cell_number(cell["measured"]) == pytest.approx(mean, abs=6e-4)
    assert cell_half_width(cell["measured"]) == pytest.approx(half, abs=6e-4)
    cpu_mean, cpu_half = t_interval(runs["cpu_hot_over_mean"])
    assert cell_number(cell["server CPU, measured"]) == pytest.approx(cpu_mean, abs=6e-4)
    assert cell_half_width(cell["server CPU, measured"]) == pytest.approx(cpu_half, abs=6e-4)


def test_shard_load_models_are_their_formulas(load):
    t = sr.shard_load_table(load).set_index(["keys", "routing"])
    setup = load["setup"].iloc[0]
    k, n_req, n_items = int(setup["shards"]), int(setup["n_requests"]), int(setup["n_items"])
    # balls into bins: E[max of a multinomial(n, 1/k)] * k / n, estimated by sampling here
    rng = np.random.default_rng(5)
    draws = rng.multinomial(n_req, np.full(k, 1 / k), size=40_000).max(axis=1) * k / n_req
    assert cell_number(t.loc[("uniform", "modulo"), "model"]) == pytest.approx(draws.mean(), abs=1.5e-3)
    # one point per shard: the largest of k uniform spacings has mean H_k / k
    assert cell_number(t.loc[("uniform", "consistent, 1 vnode"), "model"]) == pytest.approx(sum(1 / i for i in range(1, k + 1)),
                                                                                     abs=6e-4)
    # 100 points per shard: 1 + CV E[max of k standard normals], CV = sqrt((k - 1) / (k v + 1)),
    # E[max of 4 normals] = 1.0293754 (Tippett 1925)
    cv = math.sqrt((k - 1) / (k * 100 + 1))
    assert cell_number(t.loc[("uniform", "consistent, 100 vnodes"), "model"]) == pytest.approx(1 + cv * 1.0293754, abs=6e-4)
    # Zipf: the top key's share plus a k-th of the rest, p1 = 1 / H_{n, 1}
    p1 = 1 / sum(1 / i for i in range(1, n_items + 1))
    assert p1 == pytest.approx(0.0827, abs=1e-4)
    for routing in ("modulo", "consistent, 100 vnodes", "consistent, 1 vnode"):
        assert cell_number(t.loc[("Zipf, α = 1", routing), "model"]) == pytest.approx(k * (p1 + (1 - p1) / k), abs=6e-4)


def test_the_servers_measure_what_the_runs_placements_predict(load):
    """The chapter: every measured hot shard lies within 0.01 of its runs' own placements, none lost."""
    s = load["summary"]
    assert (s["lost"] == 0).all()
    assert np.abs(s["measured"] - s["same_placement"]).max() < 0.01


def test_chapter_12_load_findings(load):
    s = load["summary"].set_index(["popularity", "scheme", "vnodes"])
    # modulo on uniform keys: balls into bins within the interval
    r = s.loc[("uniform", "modulo", 0)]
    assert abs(r["measured"] - r["model"]) <= r["measured_ci"]
    # the 100-point ring: model, random placements and measured agree within the measured interval
    r = s.loc[("uniform", "consistent", 100)]
    assert abs(r["measured"] - r["model"]) <= r["measured_ci"] and abs(r["measured"] - r["placements"]) <= r["measured_ci"]
    # Zipf keys reach the hot-key bound on modulo and the 100-point ring, and exceed it far with one point
    for scheme, v in (("modulo", 0), ("consistent", 100)):
        r = s.loc[("zipf", scheme, v)]
        assert abs(r["measured"] - r["model"]) <= r["measured_ci"]
    r = s.loc[("zipf", "consistent", 1)]
    assert r["measured"] / r["model"] > 1.5
    # the servers' CPU is less uneven than their requests wherever the skew is large
    for key in (("uniform", "consistent", 1), ("zipf", "consistent", 1), ("zipf", "modulo", 0)):
        assert s.loc[key, "cpu"] < s.loc[key, "measured"]


def test_shard_load_figure_shows_every_error_bar(load):
    fig = sr.shard_load_figure(load)
    assert [tr.name for tr in fig.data] == ["model", "random placements", "measured on 4 Redis shards"]
    s = load["summary"]
    top = fig.layout.yaxis.range[1]
    assert top >= float((s["measured"] + s["measured_ci"]).max()) and top >= float((s["placements"] + s["placements_ci"]).max())


# --------------------------------------------------------------------------- resharding

def test_resharding_models_are_their_formulas(reshard):
    t = sr.resharding_table(reshard)
    setup = reshard["setup"].iloc[0]
    n, m, n_keys, writes = int(setup["shards"]), int(setup["new_shards"]), int(setup["n_keys"]), float(setup["write_rate"])
    stay = min(n, m) / math.lcm(n, m)          # keys with h mod n == h mod m (Chinese remainder theorem)
    moved = {"modulo": 1 - stay, "consistent": (m - n) / m}
    for _, row in t.iterrows():
        rate = float(row["copy rate (keys/s per receiver)"].replace(",", ""))
        f = moved[row["routing"]]
        copy_s = n_keys / (m * rate)             # the new shard takes a fifth of the keys, at `rate`
        assert cell_number(row["keys moved, model"]) == pytest.approx(f, abs=5e-4)
        assert float(row["copy (s), model"]) == pytest.approx(copy_s, abs=5e-3)
        assert float(row["double writes, model"]) == pytest.approx(writes * f * copy_s, abs=0.5)


def test_resharding_measured_columns_are_the_runs(reshard):
    t = sr.resharding_table(reshard)
    runs = reshard["runs"]
    assert (runs["moved"] == runs["moved_by_servers"]).all(), "the servers restored other keys than the client moved"
    assert (runs["scanned"] == runs["n_keys"]).all() and runs["complete"].all()
    for _, row in t.iterrows():
        rate = float(row["copy rate (keys/s per receiver)"].replace(",", ""))
        x = runs[(runs["copy_rate"] == rate) & (runs["scheme"] == row["routing"])]
        assert int(row["runs"]) == len(x) == 5
        mean, half = t_interval(x["moved"] / x["n_keys"] * 100)
        assert cell_number(row["keys moved, measured"]) == pytest.approx(mean, abs=0.06)
        assert cell_half_width(row["keys moved, measured"]) == pytest.approx(half, abs=0.06)
        mean, half = t_interval(x["copy_s"])
        assert cell_number(row["copy (s), measured"]) == pytest.approx(mean, abs=6e-3)
        assert cell_half_width(row["copy (s), measured"]) == pytest.approx(half, abs=6e-3)
        mean, _ = t_interval(x["busiest_receiver"] / rate)
        assert cell_number(row["copy (s), same path"]) == pytest.approx(mean, abs=6e-3)
        mean, _ = t_interval(x["double_writes"])
        assert cell_number(row["double writes, measured"]) == pytest.approx(mean, abs=0.6)
        assert row["misplaced / lost"] == f"{int(x['misplaced'].sum())} / {int(x['lost_writes'].sum())}"


def test_chapter_12_resharding_findings(reshard):
    runs, s = reshard["runs"], reshard["summary"].set_index(["copy_rate", "scheme"])
    # nothing misplaced, no write lost, in any run
    assert runs["misplaced"].sum() == 0 and runs["lost_writes"].sum() == 0
    # keys moved: the models within the intervals
    for (rate, scheme), r in s.iterrows():
        assert abs(r["moved_fraction"] - r["model_moved_fraction"]) <= r["moved_fraction_ci"]
    # under either scheme the busiest receiver is the new shard
    assert (runs["busiest_receiver"] == runs["new_shard_received"]).all()
    # at 1,000 keys/s both schemes take the model's time, the copies within 0.03 s of their same path
    slow = runs[runs["copy_rate"] == 1000]
    assert (slow["copy_s"] - slow["same_path_copy_s"]).abs().max() < 0.05
    for scheme in ("consistent", "modulo"):
        assert abs(s.loc[(1000, scheme), "copy_s"] - s.loc[(1000, scheme), "same_path_copy_s"]) < 0.03
    for scheme in ("consistent", "modulo"):
        r = s.loc[(1000, scheme)]
        assert abs(r["copy_s"] - r["model_copy_s"]) <= r["copy_s_ci"]
        assert abs(r["double_writes"] - r["model_double_writes"]) <= r["double_writes_ci"]
    # at 4,000 keys/s modulo falls behind its rate: longer than the model beyond its interval
    r = s.loc[(4000, "modulo")]
    assert r["copy_s"] - r["copy_s_ci"] > r["model_copy_s"]


def test_resharding_figure_has_three_series(reshard):
    fig = sr.resharding_figure(reshard)
    assert [tr.name for tr in fig.data] == ["model (resharding_cost)", "same path: busiest receiver / rate", "measured"]
    assert all(len(tr.x) == len(reshard["summary"]) for tr in fig.data)


@pytest.mark.parametrize("fn", [sr.shard_load_table, sr.shard_load_figure, sr.resharding_table, sr.resharding_figure])
def test_report_functions_refuse_other_recordings(fn):
    with pytest.raises(ValueError, match="rec"):
        fn({"runs": pd.DataFrame()})
    with pytest.raises(ValueError, match="rec"):
        fn(None)
