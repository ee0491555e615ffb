"""Tables and figures of the traffic tier's recordings (chapters 4, 8, 10, 11); they never start a server.

Same conventions as :mod:`scaling_lab.lab.report`: milliseconds, ``±`` the 95 % Student t
half-width over the repeated runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..presentation.plotting import COLORS
from .report import _pm

__all__ = ["balancer_policies_table", "balancer_policies_figure", "backend_failure_table", "retry_storm_table",
           "retry_storm_figure", "queue_burst_table", "queue_burst_figure", "queue_delivery_table", "fanout_table",
           "fanout_figure", "sticky_sessions_table", "sticky_sessions_figure", "session_loss_table", "session_store_table",
           "session_store_figure"]


def _policy_summary(rec: dict) -> pd.DataFrame:
    """The recorded runs summarized over the undisturbed repeats, next to the recorded models."""
    from .balancing import summarize_policy_runs

    keys = ["service", "rho", "policy"]
    models = rec["summary"][keys + ["sim_mean", "sim_mean_ci", "sim_p99", "mean_field_mean"]]
    return summarize_policy_runs(rec["runs"]).merge(models, on=keys)


def balancer_policies_table(rec: dict) -> pd.DataFrame:
    """Per service law, load and HAProxy policy: mean and p99 (ms) simulated, mean-field, replayed, measured.

    Means over the repeats the generator kept on schedule (see
    :func:`~scaling_lab.lab.balancing.summarize_policy_runs`); ``runs`` counts them.
    """
    rows = []
    for _, r in _policy_summary(rec).iterrows():
        rows.append({"service": r["service"], "load": f"{r['rho']:.0%}", "policy": r["policy"],
                     "simulate_pool": _pm(r["sim_mean"], r["sim_mean_ci"]),
                     "mean field": "" if not np.isfinite(r["mean_field_mean"]) else f"{r['mean_field_mean'] * 1e3:.1f}",
                     "replay": _pm(r["replay_mean"], r["replay_mean_ci"]),
                     "measured": _pm(r["meas_mean"], r["meas_mean_ci"]),
                     "measured/replay": f"{r['meas_over_replay']:.2f}", "runs": int(r["repeats"]),
                     "p99 sim": f"{r['sim_p99'] * 1e3:.0f}", "p99 measured": _pm(r["meas_p99"], r["meas_p99_ci"], digits=0)})
    return pd.DataFrame(rows)


def balancer_policies_figure(rec: dict) -> go.Figure:
    """Mean response per policy, for each service law and load: simulator, same-path replay, measured."""
    s = _policy_summary(rec)
    labels = [f"{p}<br>{sv.split(' ')[0]}, ρ = {r:.0%}" for p, sv, r in zip(s["policy"], s["service"], s["rho"])]
    fig = go.Figure()
    for i, (col, name) in enumerate((("sim_mean", "simulate_pool, same policy"), ("replay_mean", "same-path replay, ideal policy"),
                                     ("meas_mean", "measured through HAProxy"))):
        fig.add_bar(x=labels, y=s[col] * 1e3, name=name, marker_color=COLORS[i],
                    error_y=dict(array=s[f"{col}_ci"].fillna(0) * 1e3))
    fig.update_layout(barmode="group", title="HAProxy's policies on four real servers", yaxis_title="Mean response time (ms)",
                      yaxis_type="log")
    return fig


def backend_failure_table(rec: dict) -> pd.DataFrame:
    """Failed requests and latency around a killed backend: measured ± interval against the models."""
    rows = []
    for _, r in rec["summary"].iterrows():
        ms = r["quantity"].endswith("(s)") and "after the kill" not in r["quantity"]
        scale, unit = (1e3, " ms") if ms else (1.0, "")
        q = r["quantity"].replace(" (s)", "") if ms else r["quantity"]
        rng = "" if not np.isfinite(r["model_low"]) else f" ({r['model_low'] * scale:.3g} … {r['model_high'] * scale:.3g})"
        rows.append({"quantity": q + (" in ms" if ms else ""),
                     "measured": _pm(r["measured"], r["measured_ci"], scale=scale, digits=2 if not ms else 1),
                     "model": f"{r['model'] * scale:.3g}{rng}"})
    return pd.DataFrame(rows)


def retry_storm_table(rec: dict) -> pd.DataFrame:
    """Per client behaviour: goodput share after the spike and the time to recover, measured and simulated."""
    s = rec["summary"]

    def ttr(x):
        return "never" if not np.isfinite(x) else f"{x:.0f} s"

    return pd.DataFrame({"clients": s["variant"],
                         "attempts per request": s["attempts_per_request"].map("{:.2f}".format),
                         "goodput at the end, measured": s["meas_final_goodput_share"].map("{:.0%}".format),
                         "simulated": s["sim_final_goodput_share"].map("{:.0%}".format),
                         "recovered after, measured": s["meas_time_to_recover_s"].map(ttr),
                         "simulated ": s["sim_time_to_recover_s"].map(ttr)})


def retry_storm_figure(rec: dict) -> go.Figure:
    """Goodput per second through the spike: measured (solid) and simulated (dotted), one colour per client."""
    tl, setup = rec["timeline"], rec["setup"].iloc[0]
    fig = go.Figure()
    for i, (name, g) in enumerate(tl.groupby("variant", sort=False)):
        color = COLORS[i % len(COLORS)]
        fig.add_scatter(x=g["time_s"] + 0.5, y=g["goodput"], mode="lines", name=name, line=dict(color=color),
                        legendgroup=name)
        fig.add_scatter(x=g["time_s"] + 0.5, y=g["sim_goodput"], mode="lines", name=f"{name} (simulated)",
                        line=dict(color=color, dash="dot", width=1), legendgroup=name, showlegend=False)
    t0, t1 = setup["spike_start_s"], setup["spike_start_s"] + setup["spike_s"]
    fig.add_vrect(x0=t0, x1=t1, fillcolor="gray", opacity=0.15, line_width=0)
    fig.update_layout(title="The same spike, five kinds of client (dotted: simulated)", xaxis_title="Time (s)",
                      yaxis_title="Goodput (answers within the timeout per s)")
    return fig


def queue_burst_table(rec: dict) -> pd.DataFrame:
    """Peak backlog and drain time of a burst: measured (± interval) against the fluid model at the nominal rate cμ."""
    s = rec["summary"]
    return pd.DataFrame({"workers": s["case"],
                         "peak backlog, measured": s["meas_peak_backlog"].map("{:.0f}".format),
                         "peak, fluid": s["model_peak_backlog"].map("{:.0f}".format),
                         "drain (s), measured": [_pm(m, c, scale=1, digits=1) for m, c in zip(s["meas_drain_s"], s["meas_drain_s_ci"])],
                         "drain, fluid": s["model_drain_s"].map("{:.1f}".format),
                         "jobs/s while backlogged (cμ)": [f"{a:.0f} ({n:.0f})" for a, n in zip(s["achieved_rate"], s["nominal_rate"])]})


def queue_burst_figure(rec: dict) -> go.Figure:
    """Backlog over time in each run against the fluid model."""
    b = rec["backlog"]
    fig = go.Figure()
    for i, (case, g) in enumerate(b.groupby("case", sort=False)):
        color = COLORS[i]
        for rep, h in g.groupby("repeat"):
            fig.add_scatter(x=h["time_s"], y=h["backlog"], mode="lines", line=dict(color=color, width=1),
                            name=f"{case}, measured", legendgroup=case, showlegend=bool(rep == 0), opacity=0.7)
        first = g[g["repeat"] == 0]
        fig.add_scatter(x=first["time_s"], y=first["model_backlog"], mode="lines", name=f"{case}, fluid model",
                        line=dict(color=color, dash="dash"))
    fig.update_layout(title="A burst at a real queue: jobs waiting", xaxis_title="Time (s)", yaxis_title="Jobs waiting")
    return fig


def queue_delivery_table(rec: dict) -> pd.DataFrame:
    """What happened to jobs whose worker was killed, and to a poison job: measured against the model."""
    s = rec["summary"]
    fmt = lambda x: f"{x:.2f}" if abs(x - round(x)) > 1e-9 else f"{x:.0f}"
    return pd.DataFrame({"quantity": s["quantity"], "measured": s["measured"].map(fmt), "model": s["model"].map(fmt)})


def fanout_table(rec: dict) -> pd.DataFrame:
    """p50 and p99 (ms) per fan-out k, plain and hedged: measured ± interval against max-of-k / HedgedRequest."""
    rows = []
    for _, r in rec["summary"].iterrows():
        rows.append({"k": int(r["k"]), "hedged at p95": "yes" if r["hedged"] else "",
                     "p50 model": f"{r['model_p50'] * 1e3:.1f}", "p50 measured": _pm(r["meas_p50"], r["meas_p50_ci"]),
                     "p99 model": f"{r['model_p99'] * 1e3:.1f}", "p99 measured": _pm(r["meas_p99"], r["meas_p99_ci"]),
                     "extra calls": f"{r['extra_load']:.1%} ({r['model_extra_load']:.1%})" if r["hedged"] else ""})
    return pd.DataFrame(rows)


def fanout_figure(rec: dict) -> go.Figure:
    """p50 and p99 against k: the max-of-k model and the measurement with intervals; hedged points."""
    s = rec["summary"]
    plain, hedged = s[~s["hedged"].astype(bool)], s[s["hedged"].astype(bool)]
    fig = go.Figure()
    for i, q in enumerate(("p50", "p99")):
        fig.add_scatter(x=plain["k"], y=plain[f"model_{q}"] * 1e3, mode="lines", name=f"max-of-k model, {q}",
                        line=dict(color=COLORS[i]))
        fig.add_scatter(x=plain["k"], y=plain[f"meas_{q}"] * 1e3, mode="markers", name=f"measured, {q}",
                        marker=dict(color=COLORS[i], size=8), error_y=dict(array=plain[f"meas_{q}_ci"].fillna(0) * 1e3))
        fig.add_scatter(x=hedged["k"], y=hedged[f"meas_{q}"] * 1e3, mode="markers", name=f"hedged at p95, measured {q}",
                        marker=dict(color=COLORS[i], size=10, symbol="diamond-open"),
                        error_y=dict(array=hedged[f"meas_{q}_ci"].fillna(0) * 1e3))
    fig.update_layout(title="Waiting for k calls: the slowest decides", xaxis_title="Calls per request k",
                      yaxis_title="Response time (ms)", xaxis_type="log", yaxis_type="log")
    return fig


def _check_recording(rec, name: str, tables: tuple) -> None:
    if not isinstance(rec, dict) or any(t not in rec for t in tables) or rec.get("meta", {}).get("experiment", name) != name:
        raise ValueError(f"rec must be the recording of {name!r} (lab.recorded({name!r})), got {type(rec).__name__}")


_IMBALANCE = (("sessions_peak", "busiest / mean: users at once"), ("activity_peak", "busiest / mean: their activity"),
              ("requests_peak", "busiest / mean: requests per window"))


def sticky_sessions_table(rec: dict) -> pd.DataFrame:
    """Per pool: the busiest server over the mean and the p99 (ms), model (formula), simulated, replayed, measured.

    Also the servers' busy fraction over the counted part of the runs (the
    service times the servers stamped, over time and workers), mean and busiest.

    The formula is :func:`~scaling_lab.sessions.sticky_peak_load_factor` at the
    measured users per server (random pinning only; for requests per window the
    Poisson noise of the requests adds :math:`1/(m w)` to :math:`c^2`); the
    simulation pins the same users the same way in
    :func:`~scaling_lab.lab.sessions_lab.simulate_session_pool`.  A stateless
    pool pins nobody, so only its requests are compared.
    """
    _check_recording(rec, "sticky-sessions", ("summary", "setup"))
    w = rec["setup"]["window_s"].iloc[0]
    rows = []
    for _, r in rec["summary"].iterrows():
        stateless = r["config"].startswith("stateless")
        rows.append({"pool": r["config"], "quantity": "users at once per server", "model": "", "simulated": "",
                     "replay": "", "measured": _pm(r["users_per_server"], r["users_per_server_ci"], 1, 1)})
        for col, label in (("utilization", "busy, mean of the servers (%)"), ("max_utilization", "busy, busiest server (%)")):
            rows.append({"pool": r["config"], "quantity": label, "model": "", "simulated": "", "replay": "",
                         "measured": _pm(r[col], r[f"{col}_ci"], 100, 0)})
        for col, label in _IMBALANCE:
            if stateless and col != "requests_peak":
                continue
            formula = r[f"formula_{col}"]
            rows.append({"pool": r["config"], "quantity": label.replace("window", f"{w:g} s"),
                         "model": f"{formula:.2f}" if np.isfinite(formula) else ("1" if stateless else ""),
                         "simulated": _pm(r[f"sim_{col}"], r[f"sim_{col}_ci"], 1, 2), "replay": "",
                         "measured": _pm(r[col], r[f"{col}_ci"], 1, 2)})
        for col, label in (("p99", "p99 in ms, all requests"), ("worst_p99", "p99 in ms, worst server")):
            rows.append({"pool": r["config"], "quantity": label, "model": "",
                         "simulated": _pm(r[f"sim_{col}"], r[f"sim_{col}_ci"], digits=0),
                         "replay": _pm(r[f"replay_{col}"], r[f"replay_{col}_ci"], digits=0),
                         "measured": _pm(r[f"meas_{col}"], r[f"meas_{col}_ci"], digits=0)})
    return pd.DataFrame(rows)


def sticky_sessions_figure(rec: dict) -> go.Figure:
    """The busiest server over the mean for each pool and measure: formula, simulated pool, measured (95 % intervals)."""
    _check_recording(rec, "sticky-sessions", ("summary", "setup"))
    s = rec["summary"]
    w = rec["setup"]["window_s"].iloc[0]
    labels, cols = [], []
    for _, r in s.iterrows():
        for col, label in _IMBALANCE:
            if r["config"].startswith("stateless") and col != "requests_peak":
                continue
            labels.append(f"{r['config']}<br>{label.split(': ')[1].replace('window', f'{w:g} s')}")
            cols.append((r, col))
    fig = go.Figure()
    fig.add_bar(x=labels, y=[r[f"formula_{c}"] if np.isfinite(r[f"formula_{c}"]) else
                             (1.0 if r["config"].startswith("stateless") else np.nan) for r, c in cols],
                name="formula (random pinning)", marker_color=COLORS[0])
    for i, (prefix, name) in enumerate((("sim_", "simulated pool, same users"), ("", "measured through HAProxy"))):
        fig.add_bar(x=labels, y=[r[f"{prefix}{c}"] for r, c in cols], name=name, marker_color=COLORS[i + 1],
                    error_y=dict(array=[0 if not np.isfinite(r[f"{prefix}{c}_ci"]) else r[f"{prefix}{c}_ci"]
                                        for r, c in cols]))
    fig.update_layout(barmode="group", title="Sticky sessions pin users: the busiest of four servers",
                      yaxis_title="Busiest server / mean", yaxis_range=[0.9, None])
    return fig


def session_loss_table(rec: dict) -> pd.DataFrame:
    """Per pool: users served before a server restart who came back after it, those it held, and those who lost their session.

    The model is :func:`~scaling_lab.sessions.users_losing_sessions` (:math:`U/N`)
    at the measured :math:`U`, with the binomial 95 % range of random pinning.
    """
    _check_recording(rec, "sticky-sessions", ("summary", "setup"))
    n = int(rec["setup"]["servers"].iloc[0])
    rows = []
    for _, r in rec["summary"].iterrows():
        u = r["users_at_restart"]
        memory = r["model_lost"] > 0
        sd = np.sqrt(u * (1 / n) * (1 - 1 / n) / max(r["repeats"], 1))
        rows.append({"pool": r["config"], "users across the restart": _pm(u, r["users_at_restart_ci"], 1, 1),
                     "held by the restarted server": _pm(r["on_restarted"], r["on_restarted_ci"], 1, 1),
                     "sessions lost, measured": _pm(r["lost"], r["lost_ci"], 1, 1),
                     "model U/N": (f"{r['model_lost']:.1f} ({max(r['model_lost'] - 1.96 * sd, 0):.1f} … "
                                   f"{r['model_lost'] + 1.96 * sd:.1f})") if memory else "0",
                     "moved to another server": _pm(r["moved"], r["moved_ci"], 1, 1),
                     "restart took (s)": _pm(r["restart_s"], r["restart_s_ci"], 1, 2)})
    return pd.DataFrame(rows)


def session_store_table(rec: dict) -> pd.DataFrame:
    """Per request rate: the latency a Redis session store adds (ms), SessionStore against measured.

    ``store, measured`` is the server's own clock around the read and the write;
    ``end to end`` the difference of the paired runs' mean latency (Redis minus
    in-memory sessions, same users and seed).
    """
    _check_recording(rec, "session-store", ("summary", "setup"))
    rows = []
    for _, r in rec["summary"].iterrows():
        rows.append({"requests/s": f"{r['achieved_rate']:.0f}", "Redis busy": f"{r['model_utilization']:.2%}",
                     "SessionStore model": f"{r['model_added'] * 1e3:.3f}",
                     "store, measured": _pm(r["store_mean"], r["store_mean_ci"], digits=3),
                     "store p99, measured": _pm(r["store_p99"], r["store_p99_ci"], digits=3),
                     "end to end, measured": _pm(r["added_mean"], r["added_mean_ci"], digits=3),
                     "measured/model": f"{r['store_mean'] / r['model_added']:.2f}"})
    return pd.DataFrame(rows)


def session_store_figure(rec: dict) -> go.Figure:
    """Latency added per request against the request rate: the SessionStore model and the two measurements."""
    _check_recording(rec, "session-store", ("summary", "setup"))
    s = rec["summary"]
    x = s["achieved_rate"]
    fig = go.Figure()
    fig.add_scatter(x=x, y=s["model_added"] * 1e3, mode="lines+markers", name="SessionStore model (2 operations)",
                    line=dict(color=COLORS[0]))
    fig.add_scatter(x=x, y=s["store_mean"] * 1e3, mode="markers", name="measured in the server, mean",
                    marker=dict(color=COLORS[1], size=9), error_y=dict(array=s["store_mean_ci"].fillna(0) * 1e3))
    fig.add_scatter(x=x, y=s["added_mean"] * 1e3, mode="markers", name="measured end to end, paired runs",
                    marker=dict(color=COLORS[2], size=9, symbol="diamond"),
                    error_y=dict(array=s["added_mean_ci"].fillna(0) * 1e3))
    fig.update_layout(title="What a Redis session store adds to each request", xaxis_title="Requests per second",
                      yaxis_title="Added latency (ms)", yaxis_rangemode="tozero")
    return fig
