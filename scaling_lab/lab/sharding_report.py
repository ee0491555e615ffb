"""Tables and figures of chapter 12's recordings (``shard-load``, ``resharding``); they never start a server.

Same conventions as :mod:`scaling_lab.lab.report`: ``±`` is the 95 % Student t half-width over the
repeated runs (each run a new hash salt, so a new placement of the keys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..presentation.plotting import COLORS
from .report import _pm

__all__ = ["shard_load_table", "shard_load_figure", "resharding_table", "resharding_figure"]


def _check_rec(rec, name: str, tables: tuple) -> dict:
    if not isinstance(rec, dict) or any(t not in rec for t in tables):
        raise ValueError(f"rec must be the recording of {name!r} (lab.recorded({name!r})), holding tables {tables}")
    return rec


def _case(r) -> str:
    return "modulo" if r["scheme"] == "modulo" else f"consistent, {int(r['vnodes'])} vnode{'s' if r['vnodes'] > 1 else ''}"


def shard_load_table(rec: dict) -> pd.DataFrame:
    """Per key popularity and routing: the hot shard's load over the mean, by model, placements and servers.

    ``model`` names its formula; ``random placements`` is the mean over 400
    placements (the package's hashing under other salts) with its 95 %
    interval; ``same placements`` the expectation of the runs' own
    placements; ``measured`` the servers' ``incrby`` counts, mean ± 95 % t
    half-width over the runs; ``server CPU`` the same ratio of the CPU
    seconds each server used (``INFO cpu``), which also pays costs that do
    not grow with a shard's requests (one pipeline per batch, its timers).
    """
    s = _check_rec(rec, "shard-load", ("summary", "runs"))["summary"]
    rows = []
    for _, r in s.iterrows():
        rows.append({"keys": "uniform" if r["popularity"] == "uniform" else "Zipf, α = 1",
                     "routing": _case(r), "model": f"{r['model']:.3f}", "model's formula": r["model_name"],
                     "random placements": _pm(r["placements"], r["placements_ci"], scale=1, digits=3),
                     "same placements": f"{r['same_placement']:.3f}",
                     "measured": _pm(r["measured"], r["measured_ci"], scale=1, digits=3),
                     "server CPU, measured": _pm(r["cpu"], r["cpu_ci"], scale=1, digits=3),
                     "measured/model": f"{r['measured'] / r['model']:.2f}", "runs": int(r["repeats"])})
    return pd.DataFrame(rows)


def shard_load_figure(rec: dict) -> go.Figure:
    """The hot shard's load over the mean per case: model, random placements and measured, with intervals."""
    s = _check_rec(rec, "shard-load", ("summary", "runs"))["summary"]
    labels = [f"{'uniform' if p == 'uniform' else 'Zipf'}<br>{_case(r)}" for p, (_, r) in zip(s["popularity"], s.iterrows())]
    fig = go.Figure()
    fig.add_bar(x=labels, y=s["model"], name="model", marker_color=COLORS[0])
    fig.add_bar(x=labels, y=s["placements"], name="random placements", marker_color=COLORS[1],
                error_y=dict(array=s["placements_ci"]))
    fig.add_bar(x=labels, y=s["measured"], name="measured on 4 Redis shards", marker_color=COLORS[2],
                error_y=dict(array=s["measured_ci"].fillna(0)))
    fig.update_layout(barmode="group", title="The hottest of four real shards", yaxis_title="Hot shard's load / mean",
                      yaxis_range=[0.8, 1.05 * max(2.6, float(np.nanmax(s["measured"] + s["measured_ci"].fillna(0))),
                                                   float(np.nanmax(s["placements"] + s["placements_ci"])))])
    return fig


def resharding_table(rec: dict) -> pd.DataFrame:
    """Per copy rate and scheme: keys moved, copy time and double writes, model against measured.

    Copy time: the model :func:`~scaling_lab.sharding.resharding_cost`, the
    same-path time (the busiest receiver's keys over the rate) and the
    measured time; ``misplaced / lost`` are the checks after the cut-over,
    summed over the runs.
    """
    s = _check_rec(rec, "resharding", ("summary", "runs"))["summary"]
    rows = []
    for _, r in s.iterrows():
        rows.append({"copy rate (keys/s per receiver)": f"{r['copy_rate']:,.0f}", "routing": r["scheme"],
                     "keys moved, model": f"{r['model_moved_fraction']:.1%}",
                     "keys moved, measured": _pm(r["moved_fraction"], r["moved_fraction_ci"], scale=100, digits=1) + " %",
                     "copy (s), model": f"{r['model_copy_s']:.2f}",
                     "copy (s), same path": _pm(r["same_path_copy_s"], r["same_path_copy_s_ci"], scale=1, digits=2),
                     "copy (s), measured": _pm(r["copy_s"], r["copy_s_ci"], scale=1, digits=2),
                     "double writes, model": f"{r['model_double_writes']:.0f}",
                     "double writes, measured": _pm(r["double_writes"], r["double_writes_ci"], scale=1, digits=0),
                     "misplaced / lost": f"{int(r['misplaced'])} / {int(r['lost_writes'])}", "runs": int(r["repeats"])})
    return pd.DataFrame(rows)


def resharding_figure(rec: dict) -> go.Figure:
    """Copy time per copy rate and scheme: model, same path (the keys each receiver got) and measured."""
    s = _check_rec(rec, "resharding", ("summary", "runs"))["summary"]
    labels = [f"{r['scheme']}<br>{r['copy_rate']:,.0f} keys/s" for _, r in s.iterrows()]
    fig = go.Figure()
    fig.add_bar(x=labels, y=s["model_copy_s"], name="model (resharding_cost)", marker_color=COLORS[0])
    fig.add_bar(x=labels, y=s["same_path_copy_s"], name="same path: busiest receiver / rate", marker_color=COLORS[1],
                error_y=dict(array=s["same_path_copy_s_ci"].fillna(0)))
    fig.add_bar(x=labels, y=s["copy_s"], name="measured", marker_color=COLORS[2], error_y=dict(array=s["copy_s_ci"].fillna(0)))
    fig.update_layout(barmode="group", title="Copy time of resharding 4 → 5 Redis shards", yaxis_title="Copy time (s)",
                      yaxis_range=[0, float(np.nanmax(s["copy_s"] + s["copy_s_ci"].fillna(0))) * 1.15])
    return fig
