"""Simulation drivers: one FCFS station, a routed pool, a closed network, a tandem of stations."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..core.statistics import batch_means_ci
from ..core.validation import MAX_ELEMENTS, check_integer, check_invertible, check_nonnegative, check_positive
from .arrivals import ArrivalProcess, PoissonArrivals, RenewalArrivals
from .distributions import Distribution, Exponential, check_distribution
from .kernels import _closed_kernel, _router_kernel, fcfs_start_times
from .statistics import (ClosedSimulationResult, SimulationResult, TandemSimulationResult, _check_span,
                         _common_checks, _summarize)

__all__ = ["ROUTING_POLICIES", "simulate_queue", "simulate_pool", "simulate_closed_network", "simulate_tandem"]


def _resolve_service(service_rate, service, name="service") -> Distribution:
    if service is None:
        if service_rate is None:
            raise ValueError("service_rate must be in (0, inf) when no service distribution is given, got None")
        return Exponential(1.0 / check_invertible(service_rate, "service_rate", scalar=True))
    dist = check_distribution(service, name)
    if service_rate is not None:
        mu = check_positive(service_rate, "service_rate", scalar=True)
        if not math.isclose(mu * dist.mean, 1.0, rel_tol=1e-9):
            raise ValueError(f"service_rate={service_rate!r} disagrees with {name}={dist!r} "
                             f"(whose rate is {dist.rate!r}); pass service_rate=None or a matching one")
    return dist


def _resolve_arrivals(arrival_rate, arrivals) -> ArrivalProcess:
    if arrivals is None:
        if arrival_rate is None:
            raise ValueError("arrival_rate must be in (0, inf) when no arrival process is given, got None")
        return PoissonArrivals(check_invertible(arrival_rate, "arrival_rate", scalar=True))
    if isinstance(arrivals, Distribution):
        arrivals = RenewalArrivals(arrivals)
    if not isinstance(arrivals, ArrivalProcess):
        raise ValueError(f"arrivals must be an ArrivalProcess or an interarrival Distribution, got {arrivals!r}")
    if arrival_rate is not None:
        lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
        if not math.isclose(lam, arrivals.arrival_rate, rel_tol=1e-9):
            raise ValueError(f"arrival_rate={arrival_rate!r} disagrees with arrivals={arrivals!r} "
                             f"(mean rate {arrivals.arrival_rate!r}); pass arrival_rate=None or a matching one")
    return arrivals


def _outage_table(outages, n_units: int, servers_per_unit: int, unit_name: str):
    """CSR table of (start, end) outages per server slot, sorted and merged."""
    n_slots = n_units * servers_per_unit
    per_slot: list[list[tuple[float, float]]] = [[] for _ in range(n_slots)]
    for item in outages or ():
        try:
            unit, t0, t1 = item
        except (TypeError, ValueError):
            raise ValueError(f"outages must hold ({unit_name}, start_s, end_s) triples, got {item!r}") from None
        unit = check_integer(unit, f"outage {unit_name}", minimum=0, maximum=MAX_ELEMENTS)
        if unit >= n_units:
            raise ValueError(f"outage {unit_name} must be in [0, {n_units - 1}], got {unit}")
        t0 = check_nonnegative(t0, "outage start_s")
        t1 = check_positive(t1, "outage end_s")
        if t1 <= t0:
            raise ValueError(f"outage end_s must exceed start_s, got ({t0}, {t1})")
        for s in range(servers_per_unit):
            per_slot[unit * servers_per_unit + s].append((t0, t1))
    ptr = np.zeros(n_slots + 1, dtype=np.int64)
    t0s, t1s = [], []
    for k, lst in enumerate(per_slot):
        merged: list[list[float]] = []
        for a, b in sorted(lst):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        t0s += [m[0] for m in merged]
        t1s += [m[1] for m in merged]
        ptr[k + 1] = len(t0s)
    return ptr, np.asarray(t0s, dtype=float), np.asarray(t1s, dtype=float), bool(t0s)


# ---------------------------------------------------------------------------


def simulate_queue(arrival_rate: float | None, service_rate: float | None, servers: int, *,
                   n_requests: int = 100_000, seed: int | None = 0,
                   warmup_fraction: float = 0.1, n_batches: int = 30,
                   return_records: bool = False,
                   service: Distribution | None = None,
                   arrivals: ArrivalProcess | Distribution | None = None,
                   outages=None) -> SimulationResult:
    """Simulate a FCFS queue with ``servers`` servers and estimate its waiting and response times.

    By default this is M/M/c: Poisson arrivals at ``arrival_rate`` and
    exponential service at ``service_rate`` per server.  ``service`` replaces
    the exponential by any :class:`Distribution` (M/G/c), ``arrivals`` replaces
    Poisson by any :class:`ArrivalProcess` or interarrival distribution (G/G/c);
    then the matching rate argument may be ``None`` (if given it must agree).

    Parameters
    ----------
    arrival_rate : float or None
        Mean arrival rate :math:`\\lambda`, requests per second.
    service_rate : float or None
        Service rate :math:`\\mu = 1/E[S]` per server, requests per second.
    servers : int
        Number of servers :math:`c \\ge 1`.
    n_requests : int
        Requests simulated, including the warm-up (>= 100).
    seed : int or None
        Seed of the :class:`numpy.random.Generator`; the same seed gives the
        same result.
    warmup_fraction : float
        Leading fraction of requests discarded before measuring, in [0, 0.9].
    n_batches : int
        Number of batches for the batch-means confidence intervals.
    return_records : bool
        Attach the per-request :class:`pandas.DataFrame` to the result.
    service : Distribution, optional
        Service-time distribution (seconds).
    arrivals : ArrivalProcess or Distribution, optional
        Arrival process, or the distribution of the gaps between arrivals.
    outages : sequence of (server, start_s, end_s), optional
        Periods during which a server is down (see the module notes).

    Returns
    -------
    SimulationResult
        Means with 95 % half-widths, the measured samples and optionally records.

    Notes
    -----
    Cost is :math:`O(n \\log c)` without outages and :math:`O(nc)` with them.
    """
    c = check_integer(servers, "servers", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    n, warm, nb = _common_checks(n_requests, warmup_fraction, n_batches)
    svc_dist = _resolve_service(service_rate, service)
    arr_proc = _resolve_arrivals(arrival_rate, arrivals)
    ptr, t0s, t1s, has_out = _outage_table(outages, c, 1, "server")
    rng = np.random.default_rng(seed)
    arr = np.ascontiguousarray(arr_proc.times(rng, n), dtype=float)
    svc = np.ascontiguousarray(svc_dist.sample(rng, n), dtype=float)
    if has_out:
        # one station whose c servers are the slots; the router never chooses
        start, finish, _, server = _router_kernel(arr, svc, 1, c, 0, 1, np.zeros(n), np.zeros((1, 1)),
                                                  ptr, t0s, t1s, True)
    else:
        start, server = fcfs_start_times(arr, svc, c)
        finish = start + svc
    return _summarize(arr, svc, start, finish, server, None, 1, c, warm, nb, return_records)


ROUTING_POLICIES = ("random", "round_robin", "jsq", "least_work", "power_of_d")


def simulate_pool(arrival_rate: float | None, service: Distribution, servers: int, policy: str = "jsq", *,
                  d: int = 2, workers_per_server: int = 1,
                  n_requests: int = 200_000, seed: int | None = 0,
                  warmup_fraction: float = 0.1, n_batches: int = 30,
                  return_records: bool = False,
                  arrivals: ArrivalProcess | Distribution | None = None,
                  outages=None) -> SimulationResult:
    """Simulate a pool of ``servers`` FCFS stations behind a load-balancing router.

    Each request is routed on arrival and never moves afterwards.  Policies:

    * ``"random"`` — a station chosen uniformly at random;
    * ``"round_robin"`` — stations in turn;
    * ``"jsq"`` — join the shortest queue (fewest requests present, ties at random);
    * ``"least_work"`` — the station with the least unfinished work (knows
      service times already assigned: the ideal "least loaded");
    * ``"power_of_d"`` — the shortest queue among ``d`` stations sampled
      without replacement (Mitzenmacher's power of two choices for d = 2).

    Parameters
    ----------
    arrival_rate : float or None
        Total arrival rate :math:`\\lambda` to the pool, requests per second
        (Poisson unless ``arrivals`` is given).
    service : Distribution
        Service time of one request at one server (seconds).
    servers : int
        Number of stations behind the router.
    policy : str
        One of :data:`ROUTING_POLICIES`.
    d : int
        Stations sampled by ``"power_of_d"`` (>= 1; capped at the stations up).
    workers_per_server : int
        Servers (workers) inside each station, sharing its FCFS queue.
    n_requests, seed, warmup_fraction, n_batches, return_records, arrivals
        As in :func:`simulate_queue`.
    outages : sequence of (station, start_s, end_s), optional
        A station is down (all its servers freeze) and the router skips it.

    Returns
    -------
    SimulationResult
        With ``policy`` set and ``utilization`` per station.

    References
    ----------
    Harchol-Balter (2013), ch. 24; Mitzenmacher (2001); W. Winston, *Optimality
    of the shortest line discipline*, J. Appl. Prob. 14 (1977).
    """
    k = check_integer(servers, "servers", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    c = check_integer(workers_per_server, "workers_per_server", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    d = check_integer(d, "d", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    if policy not in ROUTING_POLICIES:
        raise ValueError(f"policy must be one of {ROUTING_POLICIES}, got {policy!r}")
    n, warm, nb = _common_checks(n_requests, warmup_fraction, n_batches)
    svc_dist = check_distribution(service, "service")
    arr_proc = _resolve_arrivals(arrival_rate, arrivals)
    ptr, t0s, t1s, has_out = _outage_table(outages, k, c, "station")
    rng = np.random.default_rng(seed)
    arr = np.ascontiguousarray(arr_proc.times(rng, n), dtype=float)
    svc = np.ascontiguousarray(svc_dist.sample(rng, n), dtype=float)
    code = ROUTING_POLICIES.index(policy)
    tie_u = rng.random(n) if code in (0, 2, 3) else np.zeros(n)
    pick_u = rng.random((n, min(d, k))) if code == 4 else np.zeros((1, 1))
    start, finish, station, server = _router_kernel(arr, svc, k, c, code, d, tie_u, pick_u,
                                                    ptr, t0s, t1s, has_out)
    return _summarize(arr, svc, start, finish, server, station, k, c, warm, nb, return_records, policy)




def simulate_closed_network(demands_s, think_time_s: float, users: int, *,
                            n_cycles: int = 100_000, seed: int | None = 0,
                            warmup_fraction: float = 0.1, n_batches: int = 30) -> ClosedSimulationResult:
    """Simulate ``users`` users who think, then visit each station once in order, forever.

    Station :math:`k` is a single FCFS server with exponential service of mean
    ``demands_s[k]`` seconds; think times are exponential with mean
    ``think_time_s`` (0 allowed: a batch workload).  This is the product-form
    network that exact Mean Value Analysis (:func:`scaling_lab.network.mva`) solves.

    Parameters
    ----------
    demands_s : array of float
        Mean service demand per cycle at each station, seconds (> 0).
    think_time_s : float
        Mean think time between a response and the next request, seconds (>= 0).
    users : int
        Number of users circulating :math:`N \\ge 1`.
    n_cycles : int
        Request cycles completed, including the warm-up.

    Returns
    -------
    ClosedSimulationResult
        Throughput :math:`X` and mean response :math:`R` (think time excluded).
    """
    demands = np.atleast_1d(check_positive(demands_s, "demands_s")).astype(float)
    if demands.ndim != 1:
        raise ValueError(f"demands_s must be 1-D, got shape {demands.shape}")
    think = check_nonnegative(think_time_s, "think_time_s", scalar=True)
    users = check_integer(users, "users", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    n, warm, nb = _common_checks(n_cycles, warmup_fraction, n_batches, "n_cycles")
    _check_span(demands, "demands_s", n, "n_cycles")
    _check_span(think, "think_time_s", n, "n_cycles")
    rng = np.random.default_rng(seed)
    draws = rng.exponential(1.0, (n + users) * (len(demands) + 1) + users)
    ends, resp = _closed_kernel(demands, float(think), users, n, draws)
    skip = int(n * warm)
    ends, resp = ends[skip:], resp[skip:]
    mr, mr_ci = batch_means_ci(resp, nb)
    size = len(ends) // nb
    edges = np.concatenate(([ends[0]], ends[size - 1: size * nb: size]))
    # batch b covers cycles (b*size, (b+1)*size]; the first batch starts at its first completion
    durations = np.diff(edges)
    counts = np.full(nb, size, dtype=float)
    counts[0] = size - 1
    xs = counts / durations
    x = (len(ends) - 1) / (ends[-1] - ends[0])
    x_ci = special.stdtrit(nb - 1, 0.975) * xs.std(ddof=1) / np.sqrt(nb)
    return ClosedSimulationResult(float(x), float(x_ci), mr, mr_ci, len(resp))




def simulate_tandem(arrival_rate: float, stages, *, n_requests: int = 200_000, seed: int | None = 0,
                    warmup_fraction: float = 0.1, n_batches: int = 30) -> TandemSimulationResult:
    """Simulate requests that pass through FCFS stations in series (web tier, then database...).

    Requests arrive as a Poisson stream at ``arrival_rate``; stage :math:`k`
    has :math:`c_k` servers sharing one FCFS queue and service times drawn
    from its distribution.  A request joins stage :math:`k+1` the moment it
    leaves stage :math:`k`, so each stage is run by the Kiefer–Wolfowitz
    recursion on the departures of the previous one, sorted in time.  With
    exponential service this is the tandem Jackson network that
    :class:`scaling_lab.network.OpenNetwork` solves exactly (visits all 1):
    by Burke's theorem every stage is an independent M/M/c queue and
    :math:`R = \\sum_k T_k`.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda`, requests per second (> 0).
    stages : sequence of (servers, Distribution)
        For each stage in visiting order, its number of servers (>= 1) and
        the service time of one request there (seconds).
    n_requests, seed, warmup_fraction, n_batches
        As in :func:`simulate_queue`.

    Returns
    -------
    TandemSimulationResult

    References
    ----------
    P. J. Burke, *The output of a queuing system*, Operations Research 4 (1956);
    J. R. Jackson, *Jobshop-like queueing systems*, Management Science 10 (1963).
    """
    lam = check_invertible(arrival_rate, "arrival_rate", scalar=True)  # Poisson gaps of mean 1 / lam
    n, warm, nb = _common_checks(n_requests, warmup_fraction, n_batches)
    parsed = []
    for i, stage in enumerate(stages):
        try:
            c, dist = stage
        except (TypeError, ValueError):
            raise ValueError(f"stages[{i}] must be a (servers, Distribution) pair, got {stage!r}") from None
        parsed.append((check_integer(c, f"stages[{i}] servers", minimum=1, maximum=MAX_ELEMENTS),
                       check_distribution(dist, f"stages[{i}] service")))
    if not parsed:
        raise ValueError("stages must hold at least one (servers, Distribution) pair, got none")
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / lam, n))
    t = arrivals.copy()
    per_stage = np.empty((len(parsed), n))
    busy = np.empty(len(parsed))
    skip = int(n * warm)
    for k, (c, dist) in enumerate(parsed):
        order = np.argsort(t, kind="stable")
        svc = np.ascontiguousarray(dist.sample(rng, n), dtype=float)
        start, _ = fcfs_start_times(t[order], svc, c)
        done = np.empty(n)
        done[order] = start + svc
        own = np.empty(n)
        own[order] = svc
        per_stage[k] = done - t
        busy[k] = own[skip:].sum() / c
        t = done
    responses = (t - arrivals)[skip:]
    span = float(t[skip:].max() - arrivals[skip])
    mr, mr_ci = batch_means_ci(responses, nb)
    cis = [batch_means_ci(per_stage[k, skip:], nb) for k in range(len(parsed))]
    return TandemSimulationResult(mr, mr_ci, np.array([m for m, _ in cis]), np.array([h for _, h in cis]),
                                  busy / span, len(responses), responses)
