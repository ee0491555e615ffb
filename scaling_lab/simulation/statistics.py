"""From simulated request times to estimates: warm-up removal, batch-means intervals, result records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.statistics import batch_means_ci
from ..core.validation import MAX_COUNT, MAX_ELEMENTS, check_in_range, check_integer

__all__ = ["SimulationResult", "ClosedSimulationResult", "TandemSimulationResult"]


@dataclass(frozen=True)
class SimulationResult:
    """Estimates from one simulation run, each with a 95 % confidence half-width.

    ``records`` holds one row per measured request (after warm-up) with columns
    ``arrival``, ``start``, ``finish``, ``server``, ``wait``, ``response`` and
    ``service`` (seconds), plus ``station`` for a pool, when the run was asked
    for it, else ``None``.  ``utilization`` is the busy fraction of each station
    over the measured window; ``throughput`` is measured completions per second.
    """

    mean_wait: float
    mean_wait_ci: float
    mean_response: float
    mean_response_ci: float
    prob_wait: float
    prob_wait_ci: float
    n_measured: int
    waits: np.ndarray = field(repr=False)
    responses: np.ndarray = field(repr=False)
    records: pd.DataFrame | None = field(default=None, repr=False)
    throughput: float | None = None
    utilization: np.ndarray | None = field(default=None, repr=False)
    policy: str | None = None

    def wait_quantile(self, q):
        """Empirical q-quantile of the waiting time (seconds)."""
        return np.quantile(self.waits, check_in_range(q, "q", 0.0, 1.0))

    def response_quantile(self, q):
        """Empirical q-quantile of the response time (seconds)."""
        return np.quantile(self.responses, check_in_range(q, "q", 0.0, 1.0))


def _summarize(arrivals, services, start, finish, server, station, n_stations, workers_per_server,
               warm, n_batches, return_records, policy=None) -> SimulationResult:
    n = len(arrivals)
    skip = int(n * warm)
    if n - skip < n_batches:
        raise ValueError(f"n_requests after warm-up must be at least n_batches={n_batches}, got {n - skip}")
    waits = (start - arrivals)[skip:]
    responses = (finish - arrivals)[skip:]
    mw, mw_ci = batch_means_ci(waits, n_batches)
    mr, mr_ci = batch_means_ci(responses, n_batches)
    pw, pw_ci = batch_means_ci((waits > 0).astype(float), n_batches)
    t0 = arrivals[skip]
    span = float(finish[skip:].max() - t0)
    throughput = (n - skip) / span if span > 0 else math.inf
    st = np.zeros(n - skip, dtype=np.int64) if station is None else station[skip:]
    busy = np.bincount(st, weights=services[skip:], minlength=n_stations)
    utilization = busy / (workers_per_server * span) if span > 0 else np.zeros(n_stations)
    records = None
    if return_records:
        cols = {"arrival": arrivals[skip:], "start": start[skip:], "finish": finish[skip:]}
        if station is not None:
            cols["station"] = station[skip:]
        cols.update({"server": server[skip:], "wait": waits, "response": responses,
                     "service": services[skip:]})
        records = pd.DataFrame(cols)
    return SimulationResult(mw, mw_ci, mr, mr_ci, pw, pw_ci, len(waits), waits, responses, records,
                            throughput, utilization, policy)


MAX_SPAN_S = 1e300
"""Largest simulated clock span, seconds: sums and differences of event times stay finite.

A judgement: 1e300 s leaves eight orders of magnitude of the float range for the
tail of the draws; any real system is simulated many orders of magnitude below it.
"""


def _check_span(mean_s, name: str, n: int, n_name: str):
    """``mean_s`` (a mean duration, or an array of them) if ``n`` of them in a row stay within :data:`MAX_SPAN_S`."""
    worst = float(np.max(mean_s)) if np.size(mean_s) else 0.0
    if worst > MAX_SPAN_S / n:
        raise ValueError(f"{name} must be at most {MAX_SPAN_S:g} / {n_name} = {MAX_SPAN_S / n:g} s "
                         f"(a simulated clock inside the float range), got {worst:g}")
    return mean_s


def _common_checks(n_requests, warmup_fraction, n_batches, n_name: str = "n_requests"):
    """The run-length arguments every driver shares; ``n_name`` is the caller's name for the count."""
    n = check_integer(n_requests, n_name, minimum=100, maximum=MAX_ELEMENTS, scalar=True)
    warm = float(check_in_range(warmup_fraction, "warmup_fraction", 0.0, 0.9, scalar=True))
    nb = check_integer(n_batches, "n_batches", minimum=2, maximum=MAX_ELEMENTS, scalar=True)
    if n - int(n * warm) < nb:
        raise ValueError(f"n_batches must be at most the {n_name} measured after warm-up ({n - int(n * warm)}), "
                         f"got {nb}")
    return n, warm, nb

@dataclass(frozen=True)
class ClosedSimulationResult:
    """Throughput (cycles per second) and mean response time (seconds) of a closed network, with 95 % half-widths."""

    throughput: float
    throughput_ci: float
    mean_response: float
    mean_response_ci: float
    n_measured: int


@dataclass(frozen=True)
class TandemSimulationResult:
    """Per-stage and end-to-end mean times (seconds) of :func:`~scaling_lab.simulation.drivers.simulate_tandem`, with 95 % half-widths.

    ``stage_response[k]`` is the mean time a request spends at stage ``k``
    (wait plus service), ``utilization[k]`` the busy fraction of its servers.
    """

    mean_response: float
    mean_response_ci: float
    stage_response: np.ndarray
    stage_response_ci: np.ndarray
    utilization: np.ndarray
    n_measured: int
    responses: np.ndarray = field(repr=False)

    def response_quantile(self, q):
        """Empirical q-quantile of the end-to-end response time (seconds)."""
        return np.quantile(self.responses, check_in_range(q, "q", 0.0, 1.0))
