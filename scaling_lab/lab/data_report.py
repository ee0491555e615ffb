"""Tables and figures of the data tier's recordings (PostgreSQL replication, Redis); they never start a server.

Same conventions as :mod:`scaling_lab.lab.report`: times in milliseconds, ``±`` the 95 % Student t
half-width over the repeated runs, unless a table says otherwise.

* Chapter 5 (:mod:`scaling_lab.lab.replication`): :func:`replication_lag_table` and
  :func:`replication_lag_figure` (lag against write rate, the chapter's M/M/1 lag model
  :class:`~scaling_lab.replication.ReplicationLag` with the measured apply rate and fixed delay,
  the same-path replay, the measurement; runs in which the replica stalled are shown, not averaged),
  :func:`stale_reads_table` and :func:`stale_reads_figure`
  (read-your-writes against ``stale_read_probability``), :func:`commit_latency_table`,
  :func:`failover_table` (writes lost against ``expected_writes_lost``).
* Chapter 6 (:mod:`scaling_lab.lab.caching`): :func:`redis_hit_ratio_table` and
  :func:`redis_hit_ratio_figure` (Redis's sampled eviction against the exact policies on the same
  request stream and the analytic hit ratios, at the number of keys Redis held; or, ``against="turnover"``,
  where ``allkeys-lru`` lands between RANDOM and LRU against how long a key stays cached).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..cache import hit_ratio, zipf_popularity
from ..presentation.plotting import COLORS
from ._checks import check_choice
from .replication import lag_model, stalled_runs, summarize_lag_runs
from .report import _pm

__all__ = ["replication_lag_table", "replication_lag_figure", "stale_reads_table", "stale_reads_figure",
           "commit_latency_table", "failover_table", "redis_hit_ratio_table", "redis_hit_ratio_figure"]

# --------------------------------------------------------------------------- chapter 5


def _lag_summary(rec: dict) -> pd.DataFrame:
    """The recorded lag runs through :func:`~scaling_lab.lab.replication.summarize_lag_runs`.

    It leaves out the runs in which the replica stalled (``stalled``) and those
    whose writes went out late (``set_aside``), and adds the model and the
    replay.  A recording without the per-run queue replay
    (``replay_queue_mean``) is read from its stored summary.
    """
    runs = rec["runs"]
    if "replay_queue_mean" not in runs:
        return rec["summary"].assign(set_aside=rec["summary"].get("set_aside", 0), stalled=0)
    return summarize_lag_runs(runs)


def _regime_models(rec: dict) -> pd.DataFrame:
    """Per regime of a ``replication-lag`` recording: the measured apply rate μ and the fitted fixed delay D (s)."""
    s = _lag_summary(rec)
    mu = rec["runs"].groupby("regime", sort=False)["apply_rate"].first()
    out = s.groupby("regime", sort=False)["delay_s"].first().to_frame()
    out["apply_rate"] = mu
    return out


def replication_lag_table(rec: dict) -> pd.DataFrame:
    """Per regime and write rate: mean, median and p99 lag (ms), the M/M/1 model with fixed delay, the replay, measured.

    ``ρ`` is the write rate over the replica's measured apply rate μ; the
    model's fixed delay D is fitted at each regime's lowest rate (so the
    model meets the measured mean there, unless the measurement is below the
    bare M/M/1 lag, when D is 0).  The last column is
    the share of writes the replica showed before the client received the
    commit acknowledgement.  ``runs`` counts the runs averaged, those set
    aside because the writes went out over 250 ms late at p99 (``late``: the
    machine held up the primary or the generator) and those in which the
    replica stalled (``stalled``: median lag over ``MAX_MEDIAN_LAG_S``).
    """
    rows = []
    for _, r in _lag_summary(rec).iterrows():
        aside = int(r["set_aside"])
        rows.append({"regime": r["regime"], "apply rate μ (/s)": f"{r['apply_rate']:,.0f}",
                     "writes/s": f"{r['write_rate']:.0f}", "ρ": f"{r['rho']:.2g}",
                     "runs": f"{int(r['repeats'])}" + (f" (+{aside} late)" if aside else "")
                     + (f" (+{int(r['stalled'])} stalled)" if r["stalled"] else ""),
                     "mean, model": f"{r['model_mean'] * 1e3:.2f}",
                     "replay": _pm(r["replay_mean"], r["replay_mean_ci"], digits=2),
                     "measured": _pm(r["lag_mean"], r["lag_mean_ci"], digits=2),
                     "median, measured": _pm(r["lag_p50"], r["lag_p50_ci"], digits=2),
                     "p99, model": f"{r['model_p99'] * 1e3:.2f}",
                     "p99, replay": _pm(r["replay_p99"], r["replay_p99_ci"], digits=2),
                     "p99, measured": _pm(r["lag_p99"], r["lag_p99_ci"], digits=2),
                     "seen before the ack": f"{r['visible_before_ack']:.1%}"})
    return pd.DataFrame(rows)


def _error_bars(mean: pd.Series, ci: pd.Series) -> dict:
    """Symmetric intervals for a log axis: the lower arm stops short of zero."""
    ci = ci.fillna(0.0).to_numpy() * 1e3
    m = mean.to_numpy() * 1e3
    return dict(type="data", symmetric=False, array=ci, arrayminus=np.minimum(ci, 0.9 * m))


def replication_lag_figure(rec: dict) -> go.Figure:
    """Mean lag against write rate in both regimes: the model line, the replay, the measurement with intervals, each run."""
    s = _lag_summary(rec)
    fig = go.Figure()
    for i, (regime, g) in enumerate(s.groupby("regime", sort=False)):
        color = COLORS[i]
        fig.add_scatter(x=g["write_rate"], y=g["model_mean"] * 1e3, mode="lines", name=f"{regime}: model (M/M/1 + D)",
                        line=dict(color=color), legendgroup=regime)
        fig.add_scatter(x=g["write_rate"], y=g["replay_mean"] * 1e3, mode="markers", name=f"{regime}: same-path replay",
                        marker=dict(color=color, symbol="circle-open", size=12), legendgroup=regime)
        fig.add_scatter(x=g["write_rate"], y=g["lag_mean"] * 1e3, mode="markers", name=f"{regime}: measured",
                        marker=dict(color=color, size=8), error_y=_error_bars(g["lag_mean"], g["lag_mean_ci"]),
                        legendgroup=regime)
        runs = rec["runs"][rec["runs"]["regime"] == regime]
        stalled = stalled_runs(runs) if "replay_queue_mean" in rec["runs"] else pd.Series(False, index=runs.index)
        for mask, name, symbol in ((~stalled, "each run", "line-ew-open"), (stalled, "a run the replica stalled", "x")):
            if mask.any():
                fig.add_scatter(x=runs.loc[mask, "write_rate"], y=runs.loc[mask, "lag_mean"] * 1e3, mode="markers",
                                name=f"{regime}: {name}", legendgroup=regime,
                                marker=dict(color=color, symbol=symbol, size=9, line=dict(width=1, color=color)))
    fig.update_layout(title="Replication lag on a real PostgreSQL replica", xaxis_title="Writes per second",
                      yaxis_title="Mean lag (ms)", xaxis_type="log", yaxis_type="log")
    return fig


def _stale_model(rec: dict, regime: str, background_rate: float, delays_s, models: pd.DataFrame | None = None
                 ) -> np.ndarray:
    """``stale_read_probability`` at ``delays_s`` of the lag model of ``regime`` (``models``: :func:`_regime_models`, once per table)."""
    m = (_regime_models(rec) if models is None else models).loc[regime]
    return np.asarray(lag_model(background_rate, float(m["apply_rate"]), float(m["delay_s"]))
                      .stale_read_probability(np.asarray(delays_s, dtype=float)))


def stale_reads_table(rec: dict) -> pd.DataFrame:
    """Per regime and read delay: the measured share of stale reads (± 95 % binomial) against the model's.

    Each probe commits a row on the primary, waits the delay and reads it on
    the replica while the regime's middle write rate runs in the background;
    the model is ``stale_read_probability`` of the regime's lag model at that
    rate, with the fixed delay fitted as in :func:`replication_lag_table`.
    """
    st, models = rec["stale_reads"], _regime_models(rec)
    rows = []
    for _, r in st.iterrows():
        model = float(_stale_model(rec, r["regime"], float(r["background_rate"]), [float(r["delay_s"])], models)[0])
        rows.append({"regime": r["regime"], "read after (ms)": f"{r['delay_s'] * 1e3:g}",
                     "background writes/s": f"{r['background_rate']:.0f}",
                     "stale, model": f"{model:.1%}",
                     "stale, measured": f"{r['stale_fraction']:.1%} ± {r['stale_ci']:.1%}",
                     "probes": int(r["probes"])})
    return pd.DataFrame(rows)


def stale_reads_figure(rec: dict) -> go.Figure:
    """P(a read t ms after one's own commit misses it): the model's curve and the measured shares, both regimes."""
    st, models = rec["stale_reads"], _regime_models(rec)
    fig = go.Figure()
    grid = np.linspace(0.0, 60.0, 241)
    for i, (regime, g) in enumerate(st.groupby("regime", sort=False)):
        color = COLORS[i]
        fig.add_scatter(x=grid, y=_stale_model(rec, regime, float(g["background_rate"].iloc[0]), grid / 1e3, models),
                        mode="lines", name=f"{regime}: model", line=dict(color=color, shape="hv"), legendgroup=regime)
        fig.add_scatter(x=g["delay_s"] * 1e3, y=g["stale_fraction"], mode="markers", name=f"{regime}: measured",
                        marker=dict(color=color, size=8), error_y=dict(array=g["stale_ci"]), legendgroup=regime)
    fig.update_layout(title="Reading one's own write from the replica", xaxis_title="Read issued t ms after the commit",
                      yaxis_title="Share of stale reads", yaxis_tickformat=".0%", yaxis_range=[-0.03, 1.05])
    return fig


#: What a commit waits for at each ``synchronous_commit`` level, with one synchronous standby.
COMMIT_WAITS = {"off": "nothing (WAL flushed later)", "local": "its own WAL flush",
                "remote_write": "+ the standby has written the WAL", "on": "+ the standby has flushed the WAL",
                "remote_apply": "+ the standby has replayed it"}


def commit_latency_table(rec: dict) -> pd.DataFrame:
    """Per ``synchronous_commit`` level: median, mean and p99 commit latency (ms, ± over the repeats)."""
    s = rec["summary"]
    local = float(s.loc[s["level"] == "local", "p50"].iloc[0])
    return pd.DataFrame({"synchronous_commit": s["level"], "the commit waits for": s["level"].map(COMMIT_WAITS),
                         "median": [_pm(m, c, digits=2) for m, c in zip(s["p50"], s["p50_ci"])],
                         "median − local": [f"{(m - local) * 1e3:+.2f}" for m in s["p50"]],
                         "mean": [_pm(m, c, digits=2) for m, c in zip(s["mean"], s["mean_ci"])],
                         "p99": [_pm(m, c, digits=1) for m, c in zip(s["p99"], s["p99_ci"])],
                         "runs": s["repeats"].astype(int)})


def failover_table(rec: dict, lag_rec: dict | None = None) -> pd.DataFrame:
    """Per failover variant: acknowledged writes lost (model, measured ± interval, max) and the time to writes.

    The model is ``expected_writes_lost`` = ρ/(1−ρ) + λD
    (:meth:`~scaling_lab.replication.ReplicationLag.expected_writes_lost`) with
    the lag measured beside the loopback runs; for the throttled replica,
    when the ``replication-lag`` recording is given as ``lag_rec``, with its
    bottleneck regime's μ and D at the variant's write rate.  Synchronous
    replication's model is 0.
    """
    rows = []
    models = _regime_models(lag_rec) if lag_rec is not None else None
    for _, r in rec["summary"].iterrows():
        model = r["model_lost"]
        if not np.isfinite(model) and models is not None and "throttled" in r["mode"] and len(models) > 1:
            m = models.iloc[-1]
            model = lag_model(float(r["write_rate"]), float(m["apply_rate"]), float(m["delay_s"])).expected_writes_lost
        rows.append({"replication": r["mode"], "writes/s": f"{r['write_rate']:.0f}", "runs": int(r["repeats"]),
                     "acked before the kill": f"{r['acked_before_crash']:.0f}",
                     "writes lost, model": "" if not np.isfinite(model) else f"{model:.2f}",
                     "lost, measured": _pm(r["lost"], r["lost_ci"], scale=1, digits=2),
                     "lost, most in a run": int(r["lost_max"]),
                     "promotion (s)": _pm(r["promote_s"], r["promote_s_ci"], scale=1, digits=2),
                     "writes accepted again after (s)": _pm(r["writes_back_after_s"], r["writes_back_after_s_ci"],
                                                            scale=1, digits=2)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- chapter 6

_ANALYTIC = {"lru": "Che (LRU)", "random": "Fricker–Robert–Roberts (RANDOM)", "lfu": "ideal LFU"}


def _redis_rows(rec: dict) -> pd.DataFrame:
    """The runs with the analytic model of the imitated policy at the keys Redis held, and binomial intervals."""
    runs = rec["runs"].copy()
    setup = rec["setup"].iloc[0]
    pop = zipf_popularity(int(setup["n_items"]), float(setup["alpha"]))
    held = runs["keys_held"].round().astype(int).clip(lower=1)
    runs["model_held"] = [float(hit_ratio(pop, int(c), p)) for c, p in zip(held, runs["imitates"])]
    runs["exact_imitated_held"] = [r[f"exact_{r['imitates']}_held"] for _, r in runs.iterrows()]
    p, n = runs["hit_ratio"], runs["counted"]
    runs["hit_ratio_ci"] = 1.96 * np.sqrt(p * (1 - p) / n)
    span = runs["exact_lru_held"] - runs["exact_random_held"]
    runs["random_to_lru"] = (runs["hit_ratio"] - runs["exact_random_held"]) / span
    runs["random_to_lru_ci"] = runs["hit_ratio_ci"] / span
    runs["label"] = [f"{pol} ({int(s)})" if pol.endswith("lru") else pol for pol, s in zip(runs["policy"], runs["samples"])]
    return runs


def redis_hit_ratio_table(rec: dict) -> pd.DataFrame:
    """Per regime, cache size and Redis policy: Redis's hit ratio against exact and analytic models at the keys held.

    ``measured`` carries a 95 % binomial interval over the counted requests;
    the exact simulations (true LRU, LFU, RANDOM) run on the very request
    stream Redis answered, at the number of keys Redis held on average
    (``DBSIZE``); the analytic model is that of the policy Redis imitates,
    at the same size.  ``turnover`` is Che's characteristic time over the
    measured request rate: how long a key lives in an LRU cache of this size.
    ``RANDOM → LRU`` places an LRU or RANDOM run between the exact RANDOM
    (0 %) and the exact LRU (100 %) at the keys it held.
    """
    rows = []
    for _, r in _redis_rows(rec).iterrows():
        rows.append({"regime": r["regime"], "cache": f"{r['cache_fraction']:.0%}", "policy (samples)": r["label"],
                     "keys held / C": f"{r['keys_held']:.0f} / {r['cache_items']}",
                     "requests/s": f"{r['request_rate']:,.0f}", "turnover (s)": f"{r['turnover_s']:.2g}",
                     "measured": f"{r['hit_ratio']:.3f} ± {r['hit_ratio_ci']:.3f}",
                     "exact LRU": f"{r['exact_lru_held']:.3f}", "exact LFU": f"{r['exact_lfu_held']:.3f}",
                     "exact RANDOM": f"{r['exact_random_held']:.3f}",
                     "analytic": f"{r['model_held']:.3f} ({_ANALYTIC[r['imitates']].split(' (')[0]})",
                     "measured − exact imitated": f"{r['hit_ratio'] - r['exact_imitated_held']:+.3f}",
                     "RANDOM → LRU": "" if r["imitates"] == "lfu" else f"{round(r['random_to_lru'], 2) + 0.0:.0%}"})
    return pd.DataFrame(rows)


def redis_hit_ratio_figure(rec: dict, against: str = "keys") -> go.Figure:
    """Redis's hit ratios against the exact and analytic policies, in one of two views.

    ``against="keys"``: hit ratio against the keys Redis held (share of the
    catalogue), the analytic curves of LFU, LRU and RANDOM and Redis's points,
    both regimes.  ``against="turnover"``: where each ``allkeys-lru`` and
    ``allkeys-random`` run lands between the exact RANDOM (0) and the exact
    LRU (1) on its own request stream and at the keys it held, against how
    long a key lives in the cache (Che's :math:`T_C` over the measured request
    rate), with Redis's one-second LRU clock marked.
    """
    against = check_choice(against, "against", ("keys", "turnover"))
    runs = _redis_rows(rec)
    color = {"allkeys-lfu": COLORS[0], "allkeys-lru (5)": COLORS[1], "allkeys-lru (10)": COLORS[4],
             "allkeys-random": COLORS[2]}
    fig = go.Figure()
    if against == "turnover":
        runs = runs[runs["imitates"].isin(("lru", "random"))]
        for y, text in ((0.0, "exact RANDOM"), (1.0, "exact LRU")):
            fig.add_hline(y=y, line_dash="dot", line_color="gray", annotation_text=text,
                          annotation_position="bottom right")
        fig.add_vline(x=1.0, line_dash="dash", line_color="gray", annotation_text="LRU clock tick (1 s)",
                      annotation_position="top left")
        for (regime, label), g in runs.groupby(["regime", "label"], sort=False):
            paced = regime == "paced"
            fig.add_scatter(x=g["turnover_s"], y=g["random_to_lru"], mode="markers", name=f"Redis {label}, {regime}",
                            marker=dict(color=color.get(label, COLORS[3]), size=11 if paced else 8,
                                        symbol="diamond-open" if paced else "circle",
                                        line=dict(width=2 if paced else 0)),
                            error_y=dict(array=g["random_to_lru_ci"]))
        fig.update_layout(title="Redis's LRU is as good as its clock is fine",
                          xaxis_title="How long a key stays cached, T_C / request rate (s)",
                          yaxis_title="Hit ratio, from exact RANDOM (0) to exact LRU (1)", xaxis_type="log")
        return fig
    setup = rec["setup"].iloc[0]
    n = int(setup["n_items"])
    pop = zipf_popularity(n, float(setup["alpha"]))
    x = np.unique(np.geomspace(0.005, 0.25, 40) * n).astype(int)
    for i, p in enumerate(("lfu", "lru", "random")):
        fig.add_scatter(x=x / n, y=hit_ratio(pop, x, p), mode="lines", name=_ANALYTIC[p], line=dict(color=COLORS[i]))
    for (regime, label), g in runs.groupby(["regime", "label"], sort=False):
        paced = regime == "paced"
        fig.add_scatter(x=g["keys_held"] / n, y=g["hit_ratio"], mode="markers", name=f"Redis {label}, {regime}",
                        marker=dict(color=color.get(label, COLORS[3]), size=11 if paced else 8,
                                    symbol="diamond-open" if paced else "circle", line=dict(width=2 if paced else 0)),
                        error_y=dict(array=g["hit_ratio_ci"]))
    fig.update_layout(title="Redis's sampled eviction against the policies it imitates",
                      xaxis_title="Keys Redis held, share of the catalogue", yaxis_title="Hit ratio",
                      xaxis_type="log", xaxis_tickformat=".0%")
    return fig
