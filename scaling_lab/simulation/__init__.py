"""The discrete-event simulator that checks the analytic models.

The simulators share one idea: a first-come-first-served (FCFS) request's
start time is ``max(arrival, earliest time one of its servers is free)`` (the
Kiefer–Wolfowitz recursion; Lindley's recursion for one server), so a run is a
single pass over the requests in arrival order instead of a general event list.

* :func:`simulate_queue` — one FCFS station with ``servers`` identical
  servers, any service-time distribution, Poisson, renewal (bursty),
  on/off or time-varying arrivals, and servers that go down for a while.
* :func:`simulate_pool` — a pool of FCFS stations behind a router with the
  policies ``random``, ``round_robin``, ``jsq`` (join the shortest queue),
  ``least_work`` and ``power_of_d`` (JSQ among ``d`` stations sampled at random),
  with station outages the router sees (health checks).
* :func:`simulate_tandem` — an open series of multi-server FCFS stations
  (web tier, then database), the tandem Jackson network.
* :func:`simulate_retries` — one FCFS station whose clients time out and
  retry (naive, backoff with jitter, a retry budget) through a spike, with
  optional load shedding; :func:`metastability_map` finds the spikes after
  which it stays stuck in overload.
* :func:`simulate_closed_network` — N users cycling through think time and a
  sequence of single-server FCFS stations (the model exact MVA solves).

Every estimate comes with a 95 % confidence half-width from batch means after a
warm-up period is discarded.  The inner loops are compiled with numba when it is
installed (about 30 ns per request); without it the same code runs as plain
Python, correct but roughly 100 times slower.

Outage semantics ("freeze"): while a server is down it starts no request; a
request in service when the outage begins resumes where it stopped when the
server comes back (a paused VM, a long garbage-collection pause, a reboot
that keeps its connections).  The router of :func:`simulate_pool` sends no new
request to a station whose servers are all down.

Layout: ``distributions`` (service times), ``arrivals`` (arrival processes),
``kernels`` (the compiled inner loops), ``statistics`` (warm-up, batch means,
results) and ``drivers`` (the ``simulate_*`` functions).

References
----------
J. Kiefer and J. Wolfowitz, *On the theory of queues with many servers*,
Trans. AMS 78 (1955).  A. M. Law, *Simulation Modeling and Analysis*, 5th ed.,
McGraw-Hill, 2015, §9.5 (batch means).  M. Mitzenmacher, *The power of two
choices in randomized load balancing*, IEEE TPDS 12 (2001).  M. Harchol-Balter,
*Performance Modeling and Design of Computer Systems*, Cambridge University
Press, 2013, ch. 24 (task assignment policies).
"""

from __future__ import annotations

from ..core.compiled import HAVE_NUMBA
from ..core.statistics import batch_means_ci
from .arrivals import ArrivalProcess, OnOffArrivals, PiecewisePoissonArrivals, PoissonArrivals, RenewalArrivals
from .distributions import Deterministic, Distribution, Exponential, Gamma, HyperExponential, LogNormal
from .drivers import ROUTING_POLICIES, simulate_closed_network, simulate_pool, simulate_queue, simulate_tandem
from .kernels import fcfs_start_times
from .retries import RETRY_POLICIES, RetrySimulationResult, metastability_map, simulate_retries
from .statistics import ClosedSimulationResult, SimulationResult, TandemSimulationResult

__all__ = [
    "HAVE_NUMBA",
    "Distribution", "Exponential", "Deterministic", "LogNormal", "HyperExponential", "Gamma",
    "ArrivalProcess", "PoissonArrivals", "RenewalArrivals", "OnOffArrivals", "PiecewisePoissonArrivals",
    "ROUTING_POLICIES", "SimulationResult", "ClosedSimulationResult", "TandemSimulationResult",
    "simulate_queue", "simulate_pool", "simulate_closed_network", "simulate_tandem",
    "batch_means_ci", "fcfs_start_times",
    "RETRY_POLICIES", "RetrySimulationResult", "simulate_retries", "metastability_map",
]
