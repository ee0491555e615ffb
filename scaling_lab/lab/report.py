"""Tables and figures of the lab's recordings, for the book's chapters (they never start a server).

Each ``*_table`` returns a printable :class:`pandas.DataFrame` in milliseconds
with 95 % intervals over the repeated runs (``±``: Student t half-width of the
mean of the repeats); each ``*_figure`` a plotly figure in the book's style.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..presentation.plotting import COLORS
from ..scalability import usl_throughput
from .recording import read_recording

__all__ = ["recorded", "single_server_table", "single_server_figure", "model_breaks_table", "model_breaks_figure",
           "scaling_curve_table", "scaling_curve_runs", "scaling_curve_figure", "recording_note"]


def recorded(name: str) -> dict:
    """The tables of recording ``name`` under ``data/lab/``, with its metadata under ``"meta"``."""
    tables, meta = read_recording(name)
    return {**tables, "meta": meta}


def recording_note(rec: dict) -> str:
    """One line naming the machine and conditions of a recording."""
    m = rec["meta"]["machine"]
    rt = "real-time scheduling available" if m.get("realtime_scheduling") else "no real-time scheduling"
    return (f"recorded {rec['meta']['date'][:10]} on {m['cpu_model']}, {m['cores']} cores, {rt}; "
            f"load average {m['loadavg_before'][0]:.2f} before, {m['loadavg_after'][0]:.2f} after")


def _pm(mean, ci, scale=1e3, digits=1) -> str:
    if not np.isfinite(ci):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {ci * scale:.{digits}f}"


def single_server_table(rec: dict) -> pd.DataFrame:
    """Per load: M/M/c + overhead, the same-path replay and the measurement (mean, p50, p95, p99 in ms)."""
    s = rec["summary"]
    rows = []
    for _, r in s.iterrows():
        for metric in ("mean", "p50", "p95", "p99"):
            rows.append({"load": f"{r['rho']:.0%}", "statistic": metric,
                         "M/M/c + overhead": f"{r[f'model_{metric}'] * 1e3:.1f}",
                         "replay": _pm(r[f"replay_{metric}"], r[f"replay_{metric}_ci"]),
                         "measured": _pm(r[f"meas_{metric}"], r[f"meas_{metric}_ci"]),
                         "measured/model": f"{r[f'meas_{metric}'] / r[f'model_{metric}']:.2f}"})
    return pd.DataFrame(rows)


def single_server_figure(rec: dict) -> go.Figure:
    """Mean and p99 against load: model lines, replay and measured points with intervals."""
    s = rec["summary"]
    fig = go.Figure()
    for i, metric in enumerate(("mean", "p99")):
        fig.add_scatter(x=s["rho"], y=s[f"model_{metric}"] * 1e3, mode="lines", name=f"M/M/4 + overhead, {metric}",
                        line=dict(color=COLORS[i]))
        fig.add_scatter(x=s["rho"], y=s[f"replay_{metric}"] * 1e3, mode="markers", name=f"same-path replay, {metric}",
                        marker=dict(color=COLORS[i], symbol="circle-open", size=12))
        fig.add_scatter(x=s["rho"], y=s[f"meas_{metric}"] * 1e3, mode="markers", name=f"measured, {metric}",
                        marker=dict(color=COLORS[i], size=7),
                        error_y=dict(array=s[f"meas_{metric}_ci"].fillna(0) * 1e3))
    fig.update_layout(title="A real 4-worker server against M/M/4 (exponential 20 ms)",
                      xaxis_title="Utilization ρ", yaxis_title="Response time (ms)", xaxis_tickformat=".0%")
    return fig


def model_breaks_table(rec: dict) -> pd.DataFrame:
    """Per variant and load: mean response (ms) by M/M/c, M/G/c, the simulator, the replay and measured."""
    s = rec["summary"]
    rows = []
    for _, r in s.iterrows():
        rows.append({"case": r["variant"], "load": f"{r['rho']:.0%}",
                     "M/M/c": f"{r['mmc_mean'] * 1e3:.1f}", "M/G/c (Allen–Cunneen)": f"{r['mgc_mean'] * 1e3:.1f}",
                     "simulator": _pm(r["sim_mean"], r["sim_mean_ci"]),
                     "replay": _pm(r["replay_mean"], r["replay_mean_ci"]),
                     "measured": _pm(r["meas_mean"], r["meas_mean_ci"]),
                     "measured/M/M/c": f"{r['meas_mean'] / r['mmc_mean']:.2f}",
                     "measured/M/G/c": f"{r['meas_mean'] / r['mgc_mean']:.2f}"})
    return pd.DataFrame(rows)


def model_breaks_figure(rec: dict) -> go.Figure:
    """Grouped bars of mean response per case and load: models, simulator, replay, measured."""
    s = rec["summary"]
    labels = [f"{v.split(' (')[0]}, ρ = {r:.0%}" for v, r in zip(s["variant"], s["rho"])]
    fig = go.Figure()
    for i, (col, name) in enumerate((("mmc_mean", "M/M/c"), ("mgc_mean", "M/G/c (Allen–Cunneen)"),
                                     ("sim_mean", "simulator"), ("replay_mean", "same-path replay"),
                                     ("meas_mean", "measured"))):
        err = s.get(f"{col}_ci") if col != "sim_mean" else s["sim_mean_ci"]
        fig.add_bar(x=labels, y=s[col] * 1e3, name=name, marker_color=COLORS[i],
                    error_y=dict(array=(err.fillna(0) * 1e3) if err is not None else None))
    fig.update_layout(barmode="group", title="Where M/M/c breaks: variable service, bursty arrivals",
                      yaxis_title="Mean response time (ms)")
    return fig


def scaling_curve_runs(rec: dict) -> pd.DataFrame:
    """Throughput per worker count: mean and 95 % interval of the fitted runs, and the runs set aside."""
    runs = rec["runs"]
    out = rec["curve"][["workers", "mean", "ci", "count"]].rename(
        columns={"mean": "throughput (req/s)", "ci": "±", "count": "runs"})
    out["set aside"] = out["workers"].map((~runs["clean"].astype(bool)).groupby(runs["workers"]).sum()).fillna(0).astype(int)
    return out.round(1)


def scaling_curve_table(rec: dict) -> pd.DataFrame:
    """The USL fit (σ, κ, one-worker throughput, peak concurrency) with 95 % bootstrap intervals."""
    f = rec["usl_fit"].set_index("parameter")
    rows = []
    for p, label, fmt in (("sigma", "σ (contention)", "{:.3f}"), ("kappa", "κ (coherency)", "{:.4f}"),
                          ("base_throughput", "one worker (req/s)", "{:.0f}"),
                          ("peak_concurrency", "peak at n* workers", "{:.1f}")):
        rows.append({"parameter": label, "estimate": fmt.format(f.loc[p, "estimate"]),
                     "95 % interval": f"{fmt.format(f.loc[p, 'low'])} … {fmt.format(f.loc[p, 'high'])}"})
    rows.append({"parameter": "R² of the fit", "estimate": f"{f['r_squared'].iloc[0]:.3f}", "95 % interval": ""})
    return pd.DataFrame(rows)


def scaling_curve_figure(rec: dict) -> go.Figure:
    """Measured throughput per worker count (repeats and means) with the USL fit and linear scaling."""
    runs, curve = rec["runs"], rec["curve"]
    f = rec["usl_fit"].set_index("parameter")["estimate"]
    n = np.linspace(1, runs["workers"].max(), 200)
    fig = go.Figure()
    clean = runs["clean"].astype(bool) if "clean" in runs else np.ones(len(runs), bool)
    fig.add_scatter(x=runs["workers"][clean], y=runs["throughput"][clean], mode="markers", name="each run",
                    marker=dict(color=COLORS[0], size=5, opacity=0.5))
    if (~clean).any():
        fig.add_scatter(x=runs["workers"][~clean], y=runs["throughput"][~clean], mode="markers",
                        name="disturbed by other jobs (not fitted)", marker=dict(color="gray", symbol="x", size=6))
    fig.add_scatter(x=curve["workers"], y=curve["mean"], mode="markers", name="mean, 95 % interval",
                    marker=dict(color=COLORS[0], size=9), error_y=dict(array=curve["ci"].fillna(0)))
    fig.add_scatter(x=n, y=usl_throughput(n, f['sigma'], f['kappa'], f['base_throughput']), mode="lines", name="USL fit", line=dict(color=COLORS[1]))
    fig.add_scatter(x=n, y=np.minimum(n, rec["setup"]["cores"].iloc[0]) / rec["setup"]["cpu_work_s"].iloc[0],
                    mode="lines", name="cores / CPU time per request", line=dict(color=COLORS[2], dash="dot"))
    fig.update_layout(title="A CPU-bound endpoint on this machine: throughput against workers",
                      xaxis_title="Worker processes n", yaxis_title="Throughput (requests/s)")
    return fig
