"""Chapter 11 in the lab: a front that fans out to k backend calls and waits for all, with and without hedging.

:class:`FanoutServer` is a real front (aiohttp, one process): ``/fanout?k=K``
sends ``K`` calls in parallel to a lab server and answers when the last has
returned; ``&hedge=D`` sends a second copy of any call unanswered after ``D``
seconds and takes whichever answers first (the loser is abandoned by the
front, not by the backend, as in the model: cancellation ignored);
``/stats`` counts requests, calls and hedges.  The backend is one
:class:`~.webserver.LabServer` with enough workers (128) that no call waits, so
the calls' service times are independent draws and the request's latency is
the maximum of ``K`` of them plus the transport.

The experiment ``fanout`` (:func:`run_fanout`) measures p50 and p99 against
k = 1 … 32 with lognormal service (mean 10 ms, SCV 1) next to the max-of-k
model :math:`F^{-1}(q^{1/k})` (:func:`~scaling_lab.tails.max_of_k_lognormal_quantile`)
shifted by the overhead measured at k = 1 (its median over the lognormal's:
so the k = 1 median agrees by construction, everything else is predicted), then hedged at the single call's
p95 against :class:`~scaling_lab.tails.HedgedRequest` (p99 and the extra load).

References
----------
J. Dean and L. A. Barroso, *The tail at scale*, CACM 56(2), 2013.
"""

from __future__ import annotations

import json
import math
import sys
import urllib.request

import numpy as np
import pandas as pd
from scipy import stats

from ..simulation import LogNormal, PoissonArrivals
from ..tails import HedgedRequest, max_of_k_lognormal_quantile
from ._checks import check_integer
from .experiments import _t_half
from .loadgen import latency_summary, open_loop
from .process import LAB_HOST, Component, realtime_prefix
from .webserver import LabServer

__all__ = ["FanoutServer", "run_fanout"]

SERVICE_MEAN_S = 0.010
SERVICE_SCV = 1.0
BACKEND_WORKERS = 128
FANOUT_RATE = 20.0


class FanoutServer(Component):
    """The fan-out front on a free port, calling the lab server on ``backend_port``.

    ``url(k, hedge_s=None)`` is the address of one fan-out request; ``stats()`` the counters.
    """

    name = "fanout"

    def __init__(self, backend_port: int, *, realtime: bool = True):
        self.backend_port = check_integer(backend_port, "backend_port", minimum=1, maximum=65535)
        super().__init__(realtime=realtime)

    def url(self, k: int, hedge_s: float | None = None) -> str:
        k = check_integer(k, "k", minimum=1, maximum=256)
        extra = "" if hedge_s is None else f"&hedge={float(hedge_s)!r}"
        return f"http://{LAB_HOST}:{self.port}/fanout?k={k}{extra}"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://{LAB_HOST}:{self.port}/stats", timeout=5) as resp:
            return json.loads(resp.read())

    def _prepare(self) -> None:
        (self.dir / "config.json").write_text(json.dumps({"port": self.port, "backend_port": self.backend_port}))

    def _command(self) -> list[str]:
        return realtime_prefix(self.realtime) + [sys.executable, "-m", "scaling_lab.lab._fanout_app",
                                                 str(self.dir / "config.json")]


def _lognormal_params(mean: float, scv: float) -> tuple[float, float]:
    """(median, sigma) of the lognormal with this mean and SCV."""
    s2 = math.log1p(scv)
    return math.exp(math.log(mean) - s2 / 2), math.sqrt(s2)


def run_fanout(*, quick: bool = False, seed: int = 0) -> dict:
    """p50/p99 of a fan-out to k = 1 … 32 calls, and hedging at the p95, measured against the models.

    Full: k = 1, 2, 4, 8, 16, 32 and hedged k = 1, 8, 15 s each at 20 requests/s,
    three repeats; quick: k = 1, 8, 32 and hedged 8, 5 s, one repeat.
    Returns ``runs``, ``summary`` (per k and hedging: measured with 95 % t
    half-widths, the model) and ``setup``.
    """
    ks = (1, 8, 32) if quick else (1, 2, 4, 8, 16, 32)
    hedged_ks = (8,) if quick else (1, 8)
    repeats, duration = (1, 5.0) if quick else (3, 15.0)
    median, sigma = _lognormal_params(SERVICE_MEAN_S, SERVICE_SCV)
    rows = []
    with LabServer(LogNormal(SERVICE_MEAN_S, SERVICE_SCV), servers=BACKEND_WORKERS, seed=seed) as backend, \
            FanoutServer(backend.port) as front:
        open_loop(front.url(4), PoissonArrivals(FANOUT_RATE), 1.0, seed=seed)  # warm the front's connection pool
        overhead = []
        for rep in range(repeats):
            plan = [(k, None) for k in ks] + [(k, "p95") for k in hedged_ks]
            for k, hedge in plan:
                delay = None
                if hedge is not None:  # the single call's p95 (model), plus the overhead measured at k = 1
                    delay = float(stats.lognorm(sigma, scale=median).ppf(0.95)) + float(np.mean(overhead))
                before = front.stats()
                r = open_loop(front.url(k, delay), PoissonArrivals(FANOUT_RATE), duration, seed=seed + 10 * rep + k)
                after = front.stats()
                m = latency_summary(r.latency, (0.5, 0.99))
                calls, hedges = after["calls"] - before["calls"], after["hedges"] - before["hedges"]
                if k == 1 and hedge is None:  # the stack's share of one call, from the medians (robust to stalls)
                    overhead.append(m["p50"] - median)
                rows.append({"k": k, "hedged": hedge is not None, "repeat": rep, "n": m["n"], "failures": r.failures,
                             "meas_mean": m["mean"], "meas_p50": m["p50"], "meas_p99": m["p99"],
                             "extra_load": hedges / max(calls - hedges, 1), "hedge_delay_s": delay or np.nan,
                             "lag_p99": r.lag_quantile(0.99)})
    runs = pd.DataFrame(rows)
    oh = float(np.mean(overhead))
    single = stats.lognorm(sigma, loc=oh, scale=median)  # one call: lognormal service + the measured overhead
    out = []
    for (k, hedged), g in runs.groupby(["k", "hedged"], sort=True):
        row = {"k": k, "hedged": hedged, "repeats": len(g)}
        for c in ("meas_p50", "meas_p99", "meas_mean", "extra_load"):
            row[c], row[c + "_ci"] = float(g[c].mean()), _t_half(g[c])
        if hedged:
            h = HedgedRequest(single, float(g["hedge_delay_s"].iloc[0]))
            row["model_p50"] = float(h.quantile(0.5 ** (1 / k)))
            row["model_p99"] = float(h.quantile(0.99 ** (1 / k)))
            row["model_extra_load"] = h.extra_load
        else:
            row["model_p50"] = float(max_of_k_lognormal_quantile(0.5, k, median, sigma)) + oh
            row["model_p99"] = float(max_of_k_lognormal_quantile(0.99, k, median, sigma)) + oh
            row["model_extra_load"] = 0.0
        out.append(row)
    summary = pd.DataFrame(out)
    summary["p99_error"] = summary["meas_p99"] / summary["model_p99"] - 1
    setup = pd.DataFrame([{"service_mean_s": SERVICE_MEAN_S, "service_scv": SERVICE_SCV, "median_s": median,
                           "sigma": sigma, "overhead_s": oh, "fanout_rate": FANOUT_RATE, "duration_s": duration,
                           "backend_workers": BACKEND_WORKERS}])
    return {"runs": runs, "summary": summary, "setup": setup}
