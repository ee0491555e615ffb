"""Tables and figures of the chapter "Separating the database" lab recording ``database-tier``; they never start a server.

Same conventions as :mod:`scaling_lab.lab.report`: times in milliseconds, ``±`` the 95 % Student t
half-width over the repeated runs.  The recording is made by :func:`scaling_lab.lab.database_tier.run_database_tier`:
a web tier (asleep, 4 workers) in front of a real PostgreSQL through a pool of 2 connections.

* :func:`database_service_table`: the database time of a request, mean and SCV, and the stack's overhead;
* :func:`database_tier_table`, :func:`database_tier_figure`: response against load, the chapter's
  network model with the measured distribution, the same-path replay, the measurement;
* :func:`database_blocking_table`: freed against blocking web workers, where requests wait;
* :func:`database_closed_table`, :func:`database_closed_figure`: users who think, against the
  exact closed network, MVA and its knee.

Every model here adds the same overhead: the stack's own time (client, loopback, HTTP), measured
in the open-loop runs as each request's latency minus its wait for a worker, its web time, its
wait for a connection and its database time, all five stamped by the server.  The recording's
``overhead_mean`` (from the service run) is not used: recordings made before 2026-12-08 counted in it
the service run's waits for a connection (it sends 20 requests per second), which the models count
again.  The models are therefore recomputed here from the recorded measurements (they are closed
forms, or the recorded simulation with its constant overhead exchanged), which is right for
recordings old and new.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..approximations import MGc
from ..network import Station, mva, pool_throughput
from ..presentation.plotting import COLORS
from ..queueing import MMc
from .experiments import _t_half
from .report import _pm

__all__ = ["database_service_table", "database_tier_table", "database_tier_figure", "database_blocking_table",
           "database_closed_table", "database_closed_figure"]

_REQUIRED = {"service", "runs", "summary", "blocking", "closed", "setup"}


def _check_database_tier(rec) -> dict:
    if not isinstance(rec, dict) or not _REQUIRED <= set(rec):
        raise ValueError("rec must be the database-tier recording (sl.lab.recorded('database-tier'))")
    return rec


def _overhead(rec: dict) -> tuple[float, float]:
    """The stack's time per request (s): mean over the open-loop runs of their residual, and its 95 % half-width."""
    r = rec["runs"]
    residual = (r["meas_mean"] - r["worker_wait_mean"] - r["web_mean"] - r["pool_wait_mean"] - r["db_mean"]).to_numpy(float)
    return float(residual.mean()), _t_half(residual)


def _overhead_shift(rec: dict) -> float:
    """What to add to a model value the recording computed (with the service run's ``overhead_mean``), seconds."""
    return _overhead(rec)[0] - float(rec["service"].iloc[0]["overhead_mean"])


def _setup(rec: dict):
    st = rec["setup"].iloc[0]
    return float(st["web_service_s"]), int(st["web_workers"]), int(st["pool_size"])


def _freed_mean(rate, rec: dict, db_s: float, db_scv: float, web_s: float | None = None):
    """Web tier M/M/c plus database M/G/c (Allen–Cunneen) plus the overhead, seconds (inf if overloaded)."""
    nominal_web_s, workers, pool = _setup(rec)
    web_s = nominal_web_s if web_s is None else web_s
    web = MMc(rate, 1.0 / web_s, workers).mean_response
    db = MGc(rate, 1.0 / db_s, pool, scv=db_scv).mean_response
    return np.asarray(web) + np.asarray(db) + _overhead(rec)[0]


def _ms(x: float, digits: int = 1) -> str:
    return f"{x * 1e3:.{digits}f}" if np.isfinite(x) else "overloaded"


def database_service_table(rec: dict) -> pd.DataFrame:
    """The database time of one request, and of each of its two queries (ms, and SCV); the stack's overhead.

    The database time runs from taking a connection to the last row of the aggregate, as the web
    tier sees it (loopback round trips and the driver included), measured in the recording's
    service run; the web time is the tier's sleep.  The overhead is the open-loop runs' residual
    (see the module's notes), with its 95 % half-width over the runs.
    """
    rec = _check_database_tier(rec)
    s = rec["service"].iloc[0]
    rows = []
    for col, label in (("db_s", "database time (both queries)"), ("lookup_s", "indexed lookup"),
                       ("aggregate_s", "aggregate join"), ("web_s", "web time (asleep)")):
        rows.append({"": label, "mean (ms)": f"{s[f'{col}_mean'] * 1e3:.2f}", "median (ms)": f"{s[f'{col}_p50'] * 1e3:.2f}",
                     "p99 (ms)": f"{s[f'{col}_p99'] * 1e3:.1f}", "SCV": f"{s[f'{col}_scv']:.2f}"})
    oh, oh_ci = _overhead(rec)
    rows.append({"": "overhead (client, loopback, HTTP)", "mean (ms)": _pm(oh, oh_ci, digits=2),
                 "median (ms)": "", "p99 (ms)": "", "SCV": ""})
    return pd.DataFrame(rows).set_index("")


def database_tier_table(rec: dict) -> pd.DataFrame:
    """Per load, freed workers: mean and p99 response (ms) by the model, the replay and the measurement.

    "model" is the chapter's network with the service run's database time: web tier M/M/c,
    database M/G/c (Allen–Cunneen, the measured SCV), plus the overhead; "model, run's times"
    is the same with the mean web time and the mean and SCV of the database time measured
    during the runs themselves.  The p99 "simulated" runs the same two tiers with a lognormal
    database time of the service run's mean and SCV.  "db busy" is the rate times the run's database time over the connections.
    """
    rec = _check_database_tier(rec)
    s, svc = rec["summary"], rec["service"].iloc[0]
    shift = _overhead_shift(rec)
    pool = _setup(rec)[2]
    rows = []
    for _, r in s.iterrows():
        rate = float(r["arrival_rate"])
        rows.append([f"{rate:.1f}", _ms(float(_freed_mean(rate, rec, svc["db_s_mean"], svc["db_s_scv"]))),
                     _ms(float(_freed_mean(rate, rec, r["meas_db_mean"], r["meas_db_scv"], r["meas_web_mean"]))),
                     _pm(r["replay_mean"], r["replay_mean_ci"]), _pm(r["meas_mean"], r["meas_mean_ci"]),
                     f"{(r['sim_p99'] + shift) * 1e3:.0f}",
                     _pm(r["replay_p99"], r["replay_p99_ci"], digits=0), _pm(r["meas_p99"], r["meas_p99_ci"], digits=0),
                     _pm(r["meas_db_mean"], r["meas_db_mean_ci"]), f"{rate * r['meas_db_mean'] / pool:.0%}"])
    cols = pd.MultiIndex.from_tuples([("", "req/s"), ("mean (ms)", "model"), ("mean (ms)", "model, run's times"),
                                      ("mean (ms)", "replay"), ("mean (ms)", "measured"), ("p99 (ms)", "simulated"),
                                      ("p99 (ms)", "replay"), ("p99 (ms)", "measured"),
                                      ("during the run", "db time (ms)"), ("during the run", "db busy")])
    return pd.DataFrame(rows, columns=cols, index=pd.Index([f"{x:.0%}" for x in s["rho"]], name="db load"))


def database_blocking_table(rec: dict) -> pd.DataFrame:
    """Freed against blocking web workers at the same rates: where requests wait, and the mean response (ms).

    Models (exponential times): freed, the Jackson network; blocking, ``held_pool``.  "simulated"
    feeds the same tiers, slot held or freed, with the service run's database mean and SCV.
    """
    rec = _check_database_tier(rec)
    b, svc = rec["blocking"], rec["service"].iloc[0]
    shift = _overhead_shift(rec)
    rows = []
    for _, r in b.iterrows():
        rows.append([f"{r['model_capacity']:.1f}",
                     f"{r['model_worker_wait'] * 1e3:.1f}", _pm(r["meas_worker_wait_mean"], r["meas_worker_wait_mean_ci"]),
                     f"{r['model_prob_worker_wait']:.0%}",
                     f"{r['meas_prob_worker_wait']:.0%} ± {r['meas_prob_worker_wait_ci']:.0%}",
                     _pm(r["meas_pool_wait_mean"], r["meas_pool_wait_mean_ci"]),
                     f"{(r['model_mean'] + shift) * 1e3:.1f}", f"{(r['sim_mean'] + shift) * 1e3:.1f}",
                     _pm(r["replay_mean"], r["replay_mean_ci"]), _pm(r["meas_mean"], r["meas_mean_ci"])])
    cols = pd.MultiIndex.from_tuples([("model", "capacity"),
                                      ("wait for a worker", "model (ms)"), ("wait for a worker", "measured (ms)"),
                                      ("wait for a worker", "share, model"), ("wait for a worker", "share, measured"),
                                      ("wait for a connection", "measured (ms)"),
                                      ("mean (ms)", "model"), ("mean (ms)", "simulated"), ("mean (ms)", "replay"),
                                      ("mean (ms)", "measured")])
    index = pd.MultiIndex.from_arrays([np.where(b["blocking"].astype(bool), "blocking", "freed"),
                                       [f"{x:.1f}" for x in b["arrival_rate"]]], names=["workers", "req/s"])
    return pd.DataFrame(rows, columns=cols, index=index)


def _closed_models(rec: dict, users: int) -> dict:
    """Exact closed network and MVA (Seidmann) for 1..users users, with the knee and the bounds."""
    svc, st = rec["service"].iloc[0], rec["setup"].iloc[0]
    web_s, workers, pool = _setup(rec)
    think = float(st["think_time_s"]) + _overhead(rec)[0]  # the stack's time is spent outside both tiers
    demands, servers = np.array([web_s, svc["db_s_mean"]]), np.array([workers, pool])
    tiers = [Station("web", workers, 1.0 / web_s), Station("database", pool, 1.0 / svc["db_s_mean"])]
    # a station with as many servers as users is a pure delay: the thinking users
    x = pool_throughput(users, [Station("think", users, 1.0 / think), *tiers])
    n = np.arange(1, users + 1)
    delay = float((demands * (1 - 1 / servers)).sum())
    approx = mva(demands / servers, think + delay, users)
    d_max = float((demands / servers).max())
    return {"users": n, "throughput": x, "response": n / x - float(st["think_time_s"]),
            "mva_response": np.asarray(approx.response) + delay + (think - float(st["think_time_s"])),
            "knee": (demands.sum() + think) / d_max, "max_throughput": 1.0 / d_max,
            "bound": np.minimum(n / (demands.sum() + think), 1.0 / d_max)}


def database_closed_table(rec: dict) -> pd.DataFrame:
    """Users who think: throughput (req/s) and mean response (ms), exact closed network and MVA against measured.

    One run per population (no interval); the response is measured from each request's send.
    """
    c = _check_database_tier(rec)["closed"]
    m = _closed_models(rec, int(c["users"].max()))
    i = c["users"].to_numpy(int) - 1
    cols = pd.MultiIndex.from_tuples([("throughput (req/s)", "exact model"), ("throughput (req/s)", "measured"),
                                      ("mean response (ms)", "exact model"), ("mean response (ms)", "MVA (Seidmann)"),
                                      ("mean response (ms)", "measured")])
    x = lambda v: [f"{u:.1f}" for u in v]
    ms = lambda v: [f"{u * 1e3:.0f}" for u in v]
    data = zip(x(m["throughput"][i]), x(c["meas_throughput"]), ms(m["response"][i]), ms(m["mva_response"][i]),
               ms(c["meas_mean"]))
    return pd.DataFrame(list(data), columns=cols, index=pd.Index(c["users"].to_numpy(int), name="users"))


def database_tier_figure(rec: dict) -> go.Figure:
    """Mean and p99 response against the request rate: model curves, replay and measured points with intervals."""
    rec = _check_database_tier(rec)
    s, svc, setup = rec["summary"], rec["service"].iloc[0], rec["setup"].iloc[0]
    cap = float(setup["db_capacity"])
    rate = np.linspace(0.05 * cap, 0.95 * cap, 60)
    model = _freed_mean(rate, rec, svc["db_s_mean"], svc["db_s_scv"]) * 1e3
    fig = go.Figure()
    fig.add_scatter(x=rate, y=model, mode="lines", name="mean, model (M/M/c + M/G/c)", line=dict(color=COLORS[0]))
    own = [float(_freed_mean(r["arrival_rate"], rec, r["meas_db_mean"], r["meas_db_scv"], r["meas_web_mean"]))
           for _, r in s.iterrows()]
    fig.add_scatter(x=s["arrival_rate"], y=np.asarray(own) * 1e3, mode="markers", name="mean, model with the run's times",
                    marker=dict(color=COLORS[0], symbol="diamond-open", size=10))
    fig.add_scatter(x=s["arrival_rate"], y=(s["sim_p99"] + _overhead_shift(rec)) * 1e3, mode="lines+markers",
                    name="p99, simulated", line=dict(color=COLORS[1], dash="dot"))
    for i, metric in enumerate(("mean", "p99")):
        fig.add_scatter(x=s["arrival_rate"], y=s[f"replay_{metric}"] * 1e3, mode="markers",
                        name=f"{metric}, same-path replay", marker=dict(color=COLORS[i], symbol="circle-open", size=12))
        fig.add_scatter(x=s["arrival_rate"], y=s[f"meas_{metric}"] * 1e3, mode="markers", name=f"{metric}, measured",
                        marker=dict(color=COLORS[i], size=7), error_y=dict(array=s[f"meas_{metric}_ci"].fillna(0) * 1e3))
    fig.update_layout(title="A web tier in front of a real PostgreSQL (pool of 2)", xaxis_title="Request rate (req/s)",
                      yaxis_title="Response time (ms, log scale)", yaxis_type="log")
    return fig


def database_closed_figure(rec: dict) -> go.Figure:
    """Throughput and response against users: the exact closed network, the asymptotic bounds and knee, the measurement."""
    rec = _check_database_tier(rec)
    c = rec["closed"]
    m = _closed_models(rec, int(c["users"].max()))
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14)
    fig.add_scatter(x=m["users"], y=m["throughput"], mode="lines", name="closed network (exact)",
                    line=dict(color=COLORS[0]), row=1, col=1)
    fig.add_scatter(x=m["users"], y=m["bound"], mode="lines", name="asymptotic bounds",
                    line=dict(color=COLORS[1], dash="dash"), row=1, col=1)
    fig.add_scatter(x=c["users"], y=c["meas_throughput"], mode="markers", name="measured",
                    marker=dict(color=COLORS[2], size=8), row=1, col=1)
    fig.add_scatter(x=m["users"], y=m["response"] * 1e3, mode="lines", showlegend=False,
                    line=dict(color=COLORS[0]), row=1, col=2)
    fig.add_scatter(x=c["users"], y=c["meas_mean"] * 1e3, mode="markers", showlegend=False,
                    marker=dict(color=COLORS[2], size=8), row=1, col=2)
    fig.add_vline(x=m["knee"], line_dash="dot", annotation_text=f"knee N* = {m['knee']:.1f}", row=1, col=1)
    fig.update_xaxes(title_text="Users (think time 100 ms)")
    fig.update_yaxes(title_text="Throughput (req/s)", row=1, col=1)
    fig.update_yaxes(title_text="Mean response time (ms)", row=1, col=2)
    fig.update_layout(title="Users who think, against a real database")
    return fig
