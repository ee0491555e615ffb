"""The same-path replay: a run's own arrivals and service times through the FCFS c-server recursion.

A finite run at high load is dominated by its own sample path (a 30 s run of
M/M/4 at ρ = 0.8 has a standard deviation of about 10 % on its mean), so the
sharpest test of "is this server a c-server FIFO queue?" is not the long-run
formula but the queue the model *would* have produced for exactly the
arrivals and services this run saw.  With :math:`A_i` the server-side arrival
times (``X-Arrival``), :math:`S_i` the measured service times
(``X-Service-End`` − ``X-Service-Start``) and the Kiefer–Wolfowitz recursion

.. math:: \\hat B_i = \\max(A_i, \\text{earliest free server}), \\qquad
          \\hat D_i = \\hat B_i + S_i

(:func:`scaling_lab.simulation.kernels.fcfs_start_times`), the replayed latency keeps the
measured transport and replaces only the queue:

.. math:: \\hat T_i = (A_i - t_i) + (\\hat D_i - A_i) + (R_i - E_i)

with :math:`t_i` the scheduled send, :math:`E_i` the measured end of service and
:math:`R_i` the answer's arrival at the client.  The residual
:math:`T_i - \\hat T_i = (E_i - A_i) - (\\hat D_i - A_i)` is then exactly the
server's departure from an ideal FIFO queue with ``servers`` servers.

References
----------
J. Kiefer and J. Wolfowitz, *On the theory of queues with many servers*,
Trans. AMS 78 (1955); D. V. Lindley, *The theory of queues with a single
server*, Proc. Cambridge Phil. Soc. 48 (1952).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..simulation import fcfs_start_times
from ._checks import check_integer
from .loadgen import LoadResult

__all__ = ["Replay", "replay"]


@dataclass
class Replay:
    """Measured and replayed latency of the answered requests of one run (seconds, same order)."""

    measured: np.ndarray
    replayed: np.ndarray
    servers: int

    @property
    def residual(self) -> np.ndarray:
        """Measured minus replayed latency per request, seconds."""
        return self.measured - self.replayed

    @property
    def residual_mean(self) -> float:
        return float(self.residual.mean())

    def residual_quantile(self, q: float = 0.99) -> float:
        """Quantile of the absolute per-request residual, seconds."""
        return float(np.quantile(np.abs(self.residual), q))


def replay(result: LoadResult, servers: int) -> Replay:
    """Replay ``result``'s measured arrivals and services through a ``servers``-server FCFS queue.

    Only requests answered with 200 and carrying the server's timestamps take
    part (a failed request never reached a worker).  See the module notes for
    the formula.
    """
    servers = check_integer(servers, "servers", minimum=1)
    if not isinstance(result, LoadResult):
        raise ValueError(f"result must be a LoadResult from open_loop, got {type(result).__name__}")
    keep = result.ok & np.isfinite(result.server_arrival) & np.isfinite(result.service_end)
    if keep.sum() < 1:
        raise ValueError("result has no answered request with server timestamps to replay")
    a = result.server_arrival[keep]
    s = result.service[keep]
    order = np.argsort(a, kind="stable")
    start = np.empty_like(a)
    start[order], _ = fcfs_start_times(a[order], s[order], servers)
    replayed_sojourn = start + s - a
    transport = result.latency[keep] - result.sojourn[keep]
    return Replay(measured=result.latency[keep], replayed=transport + replayed_sojourn, servers=servers)
