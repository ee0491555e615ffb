"""Tables and figures of the chapter "Separating the database" lab recording ``database-tier``; they never start a server.

Same conventions as :mod:`scaling_lab.lab.report`: times in milliseconds, ``±`` the 95 % Student t
half-width over the repeated runs.  The recording is made by :func:`scaling_lab.lab.database_tier.run_database_tier`:
a web tier (asleep, 4 workers) in front of a real PostgreSQL through a pool of 2 connections.

* :func:`database_service_table`: the database time of a request at low load, mean and SCV;
* :func:`database_tier_table`, :func:`database_tier_figure`: response against load, the chapter's
  network model with the measured distribution, the same-path replay, the measurement;
* :func:`database_blocking_table`: freed against blocking web workers, where requests wait;
* :func:`database_closed_table`, :func:`database_closed_figure`: users who think, against the
  exact closed network, MVA and its knee.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..approximations import MGc
from ..presentation.plotting import COLORS
from ..queueing import MMc
from .report import _pm

__all__ = ["database_service_table", "database_tier_table", "database_tier_figure", "database_blocking_table",
           "database_closed_table", "database_closed_figure"]


def _check_database_tier(rec) -> dict:
    if not isinstance(rec, dict) or not {"service", "summary", "blocking", "closed", "setup"} <= set(rec):
        raise ValueError("rec must be the database-tier recording (sl.lab.recorded('database-tier'))")
    return rec


def database_service_table(rec: dict) -> pd.DataFrame:
    """The database time of one request at low load, and of each of its two queries (ms, and SCV).

    The database time runs from taking a connection to the last row of the aggregate, as the web
    tier sees it (loopback round trips and the driver included); the web time is the tier's sleep.
    """
    s = _check_database_tier(rec)["service"].iloc[0]
    rows = []
    for col, label in (("db_s", "database time (both queries)"), ("lookup_s", "indexed lookup"),
                       ("aggregate_s", "aggregate join"), ("web_s", "web time (asleep)")):
        rows.append({"": label, "mean (ms)": f"{s[f'{col}_mean'] * 1e3:.2f}", "median (ms)": f"{s[f'{col}_p50'] * 1e3:.2f}",
                     "p99 (ms)": f"{s[f'{col}_p99'] * 1e3:.1f}", "SCV": f"{s[f'{col}_scv']:.2f}"})
    rows.append({"": "overhead (client, loopback, HTTP, pool)", "mean (ms)": f"{s['overhead_mean'] * 1e3:.2f}",
                 "median (ms)": "", "p99 (ms)": "", "SCV": ""})
    return pd.DataFrame(rows).set_index("")


def database_tier_table(rec: dict) -> pd.DataFrame:
    """Per load, freed workers: mean and p99 response (ms) by the model, the replay and the measurement.

    "model" is the chapter's network with the measured low-load database time: web tier
    M/M/c, database M/G/c (Allen–Cunneen, the measured SCV), plus the measured overhead; "p99,
    simulated" runs the same two tiers with a lognormal database time of the measured mean and
    SCV.  "db time" is the database time measured during the run itself.
    """
    s = _check_database_tier(rec)["summary"]
    rows = []
    for _, r in s.iterrows():
        rows.append({"db load": f"{r['rho']:.0%}", "req/s": f"{r['arrival_rate']:.0f}",
                     "mean, model": f"{r['model_mean'] * 1e3:.1f}",
                     "replay": _pm(r["replay_mean"], r["replay_mean_ci"]),
                     "measured": _pm(r["meas_mean"], r["meas_mean_ci"]),
                     "measured/model": f"{r['meas_mean'] / r['model_mean']:.2f}",
                     "p99, simulated": f"{r['sim_p99'] * 1e3:.0f}",
                     "p99, replay": _pm(r["replay_p99"], r["replay_p99_ci"], digits=0),
                     "p99, measured": _pm(r["meas_p99"], r["meas_p99_ci"], digits=0),
                     "db time during the run": _pm(r["meas_db_mean"], r["meas_db_mean_ci"], digits=2)})
    return pd.DataFrame(rows)


def database_blocking_table(rec: dict) -> pd.DataFrame:
    """Freed against blocking web workers at the same rates: where requests wait, and the mean response (ms).

    Models: freed, the Jackson network (exponential); blocking, ``held_pool`` (exponential);
    "simulated" feeds both tiers with the measured database time's mean and SCV.
    """
    b = _check_database_tier(rec)["blocking"]
    rows = []
    for _, r in b.iterrows():
        rows.append({"workers": "blocking" if r["blocking"] else "freed", "req/s": f"{r['arrival_rate']:.0f}",
                     "capacity, model": f"{r['model_capacity']:.0f}",
                     "wait for a worker, model": f"{r['model_worker_wait'] * 1e3:.1f}",
                     "measured": _pm(r["meas_worker_wait_mean"], r["meas_worker_wait_mean_ci"]),
                     "wait for a connection, measured": _pm(r["meas_pool_wait_mean"], r["meas_pool_wait_mean_ci"]),
                     "mean, model": f"{r['model_mean'] * 1e3:.1f}",
                     "simulated": f"{r['sim_mean'] * 1e3:.1f}",
                     "replay": _pm(r["replay_mean"], r["replay_mean_ci"]),
                     "mean, measured": _pm(r["meas_mean"], r["meas_mean_ci"])})
    return pd.DataFrame(rows)


def database_closed_table(rec: dict) -> pd.DataFrame:
    """Users who think: throughput (req/s) and mean response (ms), exact closed network and MVA against measured."""
    c = _check_database_tier(rec)["closed"]
    return pd.DataFrame({"users": c["users"],
                         "throughput, model": c["model_throughput"].map("{:.0f}".format),
                         "measured": c["meas_throughput"].map("{:.0f}".format),
                         "response, model": (c["model_mean"] * 1e3).map("{:.1f}".format),
                         "MVA (Seidmann)": (c["mva_mean"] * 1e3).map("{:.1f}".format),
                         "measured ": (c["meas_mean"] * 1e3).map("{:.1f}".format)}).set_index("users")


def database_tier_figure(rec: dict) -> go.Figure:
    """Mean and p99 response against the request rate: model curves, replay and measured points with intervals."""
    rec = _check_database_tier(rec)
    s, svc, setup = rec["summary"], rec["service"].iloc[0], rec["setup"].iloc[0]
    cap = float(setup["db_capacity"])
    rate = np.linspace(0.05 * cap, 0.95 * cap, 60)
    web = MMc(rate, 1.0 / setup["web_service_s"], int(setup["web_workers"]))
    db = MGc(rate, 1.0 / svc["db_s_mean"], int(setup["pool_size"]), scv=svc["db_s_scv"])
    model = (np.asarray(web.mean_response) + np.asarray(db.mean_response) + svc["overhead_mean"]) * 1e3
    fig = go.Figure()
    fig.add_scatter(x=rate, y=model, mode="lines", name="mean, model (M/M/c + M/G/c)", line=dict(color=COLORS[0]))
    fig.add_scatter(x=s["arrival_rate"], y=s["sim_p99"] * 1e3, mode="lines+markers", name="p99, simulated",
                    line=dict(color=COLORS[1], dash="dot"))
    for i, metric in enumerate(("mean", "p99")):
        fig.add_scatter(x=s["arrival_rate"], y=s[f"replay_{metric}"] * 1e3, mode="markers",
                        name=f"{metric}, same-path replay", marker=dict(color=COLORS[i], symbol="circle-open", size=12))
        fig.add_scatter(x=s["arrival_rate"], y=s[f"meas_{metric}"] * 1e3, mode="markers", name=f"{metric}, measured",
                        marker=dict(color=COLORS[i], size=7), error_y=dict(array=s[f"meas_{metric}_ci"].fillna(0) * 1e3))
    fig.update_layout(title="A web tier in front of a real PostgreSQL (pool of 2)", xaxis_title="Request rate (req/s)",
                      yaxis_title="Response time (ms)", yaxis_type="log")
    return fig


def database_closed_figure(rec: dict) -> go.Figure:
    """Throughput against users: the exact closed network, MVA's asymptotes and knee, and the measurement."""
    c = _check_database_tier(rec)["closed"]
    knee, xmax = float(c["knee_users"].iloc[0]), float(c["max_throughput"].iloc[0])
    n = np.linspace(1, c["users"].max(), 100)
    fig = go.Figure()
    fig.add_scatter(x=c["users"], y=c["model_throughput"], mode="lines", name="closed network (exact)",
                    line=dict(color=COLORS[0]))
    fig.add_scatter(x=n, y=np.minimum(n * xmax / knee, xmax), mode="lines", name="asymptotic bounds",
                    line=dict(color=COLORS[1], dash="dash"))
    fig.add_scatter(x=c["users"], y=c["meas_throughput"], mode="markers", name="measured",
                    marker=dict(color=COLORS[2], size=8))
    fig.add_vline(x=knee, line_dash="dot", annotation_text=f"knee N* = {knee:.0f}")
    fig.update_layout(title="Users who think (100 ms) against a real database", xaxis_title="Users",
                      yaxis_title="Throughput (req/s)")
    return fig
