"""Discrete-event simulation of queues, used to validate the analytic models.

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

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._validation import (
    check_in_range,
    check_integer,
    check_nonnegative,
    check_positive,
)

try:  # numba is optional: the kernels below are also valid plain Python.
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

__all__ = [
    "HAVE_NUMBA",
    "Distribution", "Exponential", "Deterministic", "LogNormal", "HyperExponential", "Gamma",
    "ArrivalProcess", "PoissonArrivals", "RenewalArrivals", "OnOffArrivals", "PiecewisePoissonArrivals",
    "POLICIES", "SimulationResult", "ClosedSimulationResult",
    "simulate_queue", "simulate_pool", "simulate_closed_network",
    "batch_means_ci", "fcfs_start_times",
    "TandemSimulationResult", "simulate_tandem",
]


# ---------------------------------------------------------------------------
# Service-time distributions
# ---------------------------------------------------------------------------
class Distribution:
    """A non-negative random duration (seconds) with known mean and squared coefficient of variation.

    Subclasses define ``mean``, ``scv`` (:math:`c^2 = \\mathrm{Var}/\\mathrm{mean}^2`)
    and ``sample(rng, n)``; ``rng`` is a :class:`numpy.random.Generator` or a seed.
    """

    mean: float
    scv: float

    @property
    def variance(self) -> float:
        """:math:`\\mathrm{Var}[S] = c^2 E[S]^2` in seconds squared."""
        return self.scv * self.mean**2

    @property
    def second_moment(self) -> float:
        """:math:`E[S^2] = (1 + c^2) E[S]^2`, the quantity Pollaczek–Khinchine needs."""
        return (1.0 + self.scv) * self.mean**2

    @property
    def rate(self) -> float:
        """:math:`1/E[S]`, e.g. the service rate of a server with this service time."""
        return 1.0 / self.mean

    def sample(self, rng, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential duration with the given mean (seconds); :math:`c^2 = 1`."""

    mean: float

    def __post_init__(self):
        object.__setattr__(self, "mean", check_positive(self.mean, "mean"))

    @property
    def scv(self) -> float:
        return 1.0

    def sample(self, rng, n: int) -> np.ndarray:
        return np.random.default_rng(rng).exponential(self.mean, check_integer(n, "n", minimum=0))


@dataclass(frozen=True)
class Deterministic(Distribution):
    """A constant duration ``value`` seconds; :math:`c^2 = 0`."""

    value: float

    def __post_init__(self):
        object.__setattr__(self, "value", check_positive(self.value, "value"))

    @property
    def mean(self) -> float:
        return self.value

    @property
    def scv(self) -> float:
        return 0.0

    def sample(self, rng, n: int) -> np.ndarray:
        return np.full(check_integer(n, "n", minimum=0), self.value)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Lognormal duration with the given mean (seconds) and squared coefficient of variation.

    With :math:`s^2 = \\ln(1 + c^2)` and :math:`m = \\ln E[S] - s^2/2`,
    :math:`S = e^{m + sZ}`, :math:`Z \\sim N(0, 1)`.  Heavy-ish tail: a common
    fit to web request latencies.
    """

    mean: float
    scv: float

    def __post_init__(self):
        object.__setattr__(self, "mean", check_positive(self.mean, "mean"))
        object.__setattr__(self, "scv", check_positive(self.scv, "scv"))

    def sample(self, rng, n: int) -> np.ndarray:
        s2 = math.log1p(self.scv)
        return np.random.default_rng(rng).lognormal(math.log(self.mean) - s2 / 2, math.sqrt(s2),
                                                    check_integer(n, "n", minimum=0))


@dataclass(frozen=True)
class HyperExponential(Distribution):
    """Two-phase hyperexponential (H2) with balanced means, mean (seconds) and :math:`c^2 \\ge 1`.

    With probability :math:`p = \\tfrac12\\left(1 + \\sqrt{(c^2-1)/(c^2+1)}\\right)`
    the duration is exponential with rate :math:`2p/E[S]`, else with rate
    :math:`2(1-p)/E[S]`: many short requests and a few very long ones.

    References
    ----------
    W. Whitt, *Approximating a point process by a renewal process: two basic
    methods*, Operations Research 30 (1982) (balanced-means H2 fit).
    """

    mean: float
    scv: float

    def __post_init__(self):
        object.__setattr__(self, "mean", check_positive(self.mean, "mean"))
        object.__setattr__(self, "scv", check_in_range(self.scv, "scv", 1.0, np.inf, high_open=True))

    @property
    def p(self) -> float:
        """Probability of the fast phase."""
        return 0.5 * (1.0 + math.sqrt((self.scv - 1.0) / (self.scv + 1.0)))

    def sample(self, rng, n: int) -> np.ndarray:
        rng = np.random.default_rng(rng)
        n = check_integer(n, "n", minimum=0)
        p = self.p
        fast = rng.random(n) < p
        means = np.where(fast, self.mean / (2 * p), self.mean / (2 * (1 - p)))
        return rng.exponential(1.0, n) * means


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma duration with the given mean (seconds) and :math:`c^2` (shape :math:`1/c^2`).

    :math:`c^2 = 1/k` gives the Erlang-k distribution: less variable than exponential.
    """

    mean: float
    scv: float

    def __post_init__(self):
        object.__setattr__(self, "mean", check_positive(self.mean, "mean"))
        object.__setattr__(self, "scv", check_positive(self.scv, "scv"))

    def sample(self, rng, n: int) -> np.ndarray:
        return np.random.default_rng(rng).gamma(1.0 / self.scv, self.mean * self.scv,
                                                check_integer(n, "n", minimum=0))


# ---------------------------------------------------------------------------
# Arrival processes
# ---------------------------------------------------------------------------
class ArrivalProcess:
    """A stream of request arrival times; ``rate`` is its long-run mean rate per second."""

    rate: float

    def times(self, rng, n: int) -> np.ndarray:  # pragma: no cover - abstract
        """The first ``n`` arrival times (seconds, sorted, starting after 0)."""
        raise NotImplementedError


@dataclass(frozen=True)
class PoissonArrivals(ArrivalProcess):
    """Poisson arrivals at ``rate`` requests per second (exponential gaps)."""

    rate: float

    def __post_init__(self):
        object.__setattr__(self, "rate", check_positive(self.rate, "rate"))

    def times(self, rng, n: int) -> np.ndarray:
        return np.cumsum(np.random.default_rng(rng).exponential(1.0 / self.rate, n))


@dataclass(frozen=True)
class RenewalArrivals(ArrivalProcess):
    """Independent gaps drawn from ``interarrival`` (a :class:`Distribution`).

    ``RenewalArrivals(HyperExponential(mean=1/rate, scv=9))`` is a bursty stream
    with the same mean rate as Poisson; ``Deterministic`` gaps are a perfectly
    smooth one.
    """

    interarrival: Distribution

    def __post_init__(self):
        _check_distribution(self.interarrival, "interarrival")

    @property
    def rate(self) -> float:
        return 1.0 / self.interarrival.mean

    def times(self, rng, n: int) -> np.ndarray:
        return np.cumsum(self.interarrival.sample(rng, n))


@dataclass(frozen=True)
class OnOffArrivals(ArrivalProcess):
    """Bursts: Poisson at ``rate_on`` during exponential ON periods, silence during OFF periods.

    An interrupted Poisson process (a two-state Markov-modulated Poisson
    process).  Long-run rate :math:`\\lambda_{on}\\,\\bar t_{on}/(\\bar t_{on} + \\bar t_{off})`.
    The stream starts at the beginning of an ON period.

    References
    ----------
    W. Fischer and K. Meier-Hellstern, *The Markov-modulated Poisson process
    (MMPP) cookbook*, Performance Evaluation 18 (1993).
    """

    rate_on: float
    mean_on_s: float
    mean_off_s: float

    def __post_init__(self):
        object.__setattr__(self, "rate_on", check_positive(self.rate_on, "rate_on"))
        object.__setattr__(self, "mean_on_s", check_positive(self.mean_on_s, "mean_on_s"))
        object.__setattr__(self, "mean_off_s", check_nonnegative(self.mean_off_s, "mean_off_s"))

    @property
    def rate(self) -> float:
        return self.rate_on * self.mean_on_s / (self.mean_on_s + self.mean_off_s)

    def times(self, rng, n: int) -> np.ndarray:
        rng = np.random.default_rng(rng)
        on_clock = np.cumsum(rng.exponential(1.0 / self.rate_on, n))  # time counted only while ON
        horizon = on_clock[-1] if n else 0.0
        k = max(16, int(1.2 * horizon / self.mean_on_s) + 16)
        ons = rng.exponential(self.mean_on_s, k)
        while ons.sum() <= horizon:
            ons = np.concatenate((ons, rng.exponential(self.mean_on_s, k)))
        offs = rng.exponential(self.mean_off_s, len(ons)) if self.mean_off_s > 0 else np.zeros(len(ons))
        period = np.searchsorted(np.cumsum(ons), on_clock, side="right")  # ON period index of each arrival
        off_before = np.concatenate(([0.0], np.cumsum(offs)))
        return on_clock + off_before[period]


@dataclass(frozen=True)
class PiecewisePoissonArrivals(ArrivalProcess):
    """Time-varying Poisson arrivals: rate ``rates[i]`` for ``durations_s[i]`` seconds, repeating.

    A non-homogeneous Poisson process with a periodic piecewise-constant rate
    (a daily traffic curve, a flash crowd).  Generated by inverting the
    cumulative intensity :math:`\\Lambda(t)` of unit-rate Poisson points.
    Zero rates are allowed (off hours); at least one rate must be positive.
    """

    rates: tuple
    durations_s: tuple

    def __post_init__(self):
        r = np.atleast_1d(check_nonnegative(self.rates, "rates"))
        d = np.atleast_1d(check_positive(self.durations_s, "durations_s"))
        if r.ndim != 1 or r.shape != d.shape:
            raise ValueError(f"rates and durations_s must be 1-D of equal length, got {r.shape} and {d.shape}")
        if not (r > 0).any():
            raise ValueError(f"rates must contain a positive rate, got {self.rates!r}")
        object.__setattr__(self, "rates", tuple(float(x) for x in r))
        object.__setattr__(self, "durations_s", tuple(float(x) for x in d))

    @property
    def period_s(self) -> float:
        return float(sum(self.durations_s))

    @property
    def rate(self) -> float:
        return float(np.dot(self.rates, self.durations_s)) / self.period_s

    def times(self, rng, n: int) -> np.ndarray:
        r, d = np.asarray(self.rates), np.asarray(self.durations_s)
        edges = np.concatenate(([0.0], np.cumsum(d)))
        cum = np.concatenate(([0.0], np.cumsum(r * d)))  # Λ at the edges of one period
        unit = np.cumsum(np.random.default_rng(rng).exponential(1.0, n))
        cycles, rem = np.divmod(unit, cum[-1])
        keep = r > 0  # drop flat pieces so that the inverse is single-valued
        xp = np.concatenate(([0.0], cum[1:][keep]))
        fp = np.concatenate(([0.0], edges[1:][keep]))
        # within a piece of rate r starting at (Λ0, t0): t = t0 + (Λ - Λ0)/r
        idx = np.searchsorted(xp, rem, side="right") - 1
        idx = np.minimum(idx, len(xp) - 2)
        piece_rates = r[keep]
        t = fp[idx + 1] - (xp[idx + 1] - rem) / piece_rates[idx]
        return cycles * self.period_s + t


def _check_distribution(obj, name: str) -> Distribution:
    if not isinstance(obj, Distribution):
        raise ValueError(f"{name} must be a Distribution (Exponential, Deterministic, LogNormal, "
                         f"HyperExponential, Gamma), got {obj!r}")
    return obj


def _resolve_service(service_rate, service, name="service") -> Distribution:
    if service is None:
        if service_rate is None:
            raise ValueError("service_rate must be in (0, inf) when no service distribution is given, got None")
        return Exponential(1.0 / check_positive(service_rate, "service_rate"))
    dist = _check_distribution(service, name)
    if service_rate is not None:
        mu = check_positive(service_rate, "service_rate")
        if not math.isclose(mu * dist.mean, 1.0, rel_tol=1e-9):
            raise ValueError(f"service_rate={service_rate!r} disagrees with {name}={dist!r} "
                             f"(whose rate is {dist.rate!r}); pass service_rate=None or a matching one")
    return dist


def _resolve_arrivals(arrival_rate, arrivals) -> ArrivalProcess:
    if arrivals is None:
        if arrival_rate is None:
            raise ValueError("arrival_rate must be in (0, inf) when no arrival process is given, got None")
        return PoissonArrivals(check_positive(arrival_rate, "arrival_rate"))
    if isinstance(arrivals, Distribution):
        arrivals = RenewalArrivals(arrivals)
    if not isinstance(arrivals, ArrivalProcess):
        raise ValueError(f"arrivals must be an ArrivalProcess or an interarrival Distribution, got {arrivals!r}")
    if arrival_rate is not None:
        lam = check_positive(arrival_rate, "arrival_rate")
        if not math.isclose(lam, arrivals.rate, rel_tol=1e-9):
            raise ValueError(f"arrival_rate={arrival_rate!r} disagrees with arrivals={arrivals!r} "
                             f"(mean rate {arrivals.rate!r}); pass arrival_rate=None or a matching one")
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
        unit = check_integer(unit, f"outage {unit_name}", minimum=0)
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
# Compiled kernels (plain Python when numba is missing)
# ---------------------------------------------------------------------------
@njit(cache=True)
def _sift_down(keys, vals, size, key, val):
    """Put (key, val) at the root of the binary min-heap keys[:size] and sift it down."""
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[pos] = keys[child]
        vals[pos] = vals[child]
        pos = child
    keys[pos] = key
    vals[pos] = val


@njit(cache=True)
def _fcfs_heap_kernel(arrivals, services, servers):
    """Kiefer–Wolfowitz with a binary heap of server free times (FCFS, c servers)."""
    n = arrivals.shape[0]
    free = np.zeros(servers)
    who = np.arange(servers)
    start = np.empty(n)
    server = np.empty(n, dtype=np.int64)
    for i in range(n):
        a = arrivals[i]
        t = free[0]
        s = a if a > t else t
        start[i] = s
        k = who[0]
        server[i] = k
        _sift_down(free, who, servers, s + services[i], k)  # the server's new free time
    return start, server


@njit(cache=True)
def _in_outage(t, lo, hi, t0s, t1s):
    for j in range(lo, hi):
        if t < t0s[j]:
            return False
        if t < t1s[j]:
            return True
    return False


@njit(cache=True)
def _push_past_outages(t, lo, hi, t0s, t1s):
    for j in range(lo, hi):
        if t < t0s[j]:
            break
        if t < t1s[j]:
            t = t1s[j]
    return t


@njit(cache=True)
def _finish_with_outages(start, service, lo, hi, t0s, t1s):
    f = start + service
    for j in range(lo, hi):
        if t0s[j] >= f:
            break
        if t0s[j] > start:  # the server freezes mid-request; the request resumes afterwards
            f += t1s[j] - t0s[j]
    return f


@njit(cache=True)
def _router_kernel(arrivals, services, n_st, c, policy, d, tie_u, pick_u, optr, ot0, ot1, has_out):
    """Route each arrival to a station, then FCFS among that station's c servers.

    policy: 0 random, 1 round robin, 2 join shortest queue, 3 least work, 4 power of d.
    A departure heap keeps the number of requests at each station current.
    """
    n = arrivals.shape[0]
    free = np.zeros(n_st * c)
    count = np.zeros(n_st, dtype=np.int64)
    hf = np.empty(n)
    hs = np.empty(n, dtype=np.int64)
    hsize = 0
    start = np.empty(n)
    finish = np.empty(n)
    station = np.empty(n, dtype=np.int64)
    server = np.empty(n, dtype=np.int64)
    up = np.arange(n_st)
    is_up = np.ones(n_st, dtype=np.bool_)
    tmp = np.empty(n_st, dtype=np.int64)
    rr = 0
    for i in range(n):
        a = arrivals[i]
        while hsize > 0 and hf[0] <= a:  # departures before this arrival
            count[hs[0]] -= 1
            hsize -= 1
            if hsize > 0:  # move the last entry to the root and restore the heap
                _sift_down(hf, hs, hsize, hf[hsize], hs[hsize])
        n_up = n_st
        if has_out:
            n_up = 0
            for k in range(n_st):
                down = True
                for s in range(c):
                    slot = k * c + s
                    if not _in_outage(a, optr[slot], optr[slot + 1], ot0, ot1):
                        down = False
                        break
                is_up[k] = not down
                if not down:
                    up[n_up] = k
                    n_up += 1
            if n_up == 0:  # everything is down: requests queue anywhere
                for k in range(n_st):
                    up[k] = k
                    is_up[k] = True
                n_up = n_st
        # -- pick a station --------------------------------------------------
        if policy == 0:
            j = int(tie_u[i] * n_up)
            k = up[j if j < n_up else n_up - 1]
        elif policy == 1:
            k = rr % n_st
            while not is_up[k]:
                k = (k + 1) % n_st
            rr = k + 1
        elif policy == 2 or policy == 3:
            off = int(tie_u[i] * n_up)
            k = -1
            best = np.inf
            for j in range(n_up):
                kk = up[(off + j) % n_up]
                if policy == 2:
                    m = float(count[kk])
                else:
                    m = 0.0
                    for s in range(c):
                        w = free[kk * c + s] - a
                        if w > 0:
                            m += w
                if m < best:
                    best = m
                    k = kk
        else:
            dd = d if d < n_up else n_up
            for j in range(n_up):
                tmp[j] = up[j]
            k = -1
            best = np.inf
            for j in range(dd):  # partial Fisher-Yates: d distinct stations
                r = j + int(pick_u[i, j] * (n_up - j))
                if r >= n_up:
                    r = n_up - 1
                kk = tmp[r]
                tmp[r] = tmp[j]
                tmp[j] = kk
                m = float(count[kk])
                if m < best:
                    best = m
                    k = kk
        # -- FCFS among the station's servers -------------------------------
        best_s = np.inf
        slot = k * c
        for s in range(c):
            sl = k * c + s
            t = free[sl] if free[sl] > a else a
            if has_out:
                t = _push_past_outages(t, optr[sl], optr[sl + 1], ot0, ot1)
            if t < best_s:
                best_s = t
                slot = sl
        if has_out:
            f = _finish_with_outages(best_s, services[i], optr[slot], optr[slot + 1], ot0, ot1)
        else:
            f = best_s + services[i]
        free[slot] = f
        start[i] = best_s
        finish[i] = f
        station[i] = k
        server[i] = slot - k * c
        count[k] += 1
        pos = hsize  # push the departure
        hsize += 1
        while pos > 0:
            parent = (pos - 1) // 2
            if hf[parent] <= f:
                break
            hf[pos] = hf[parent]
            hs[pos] = hs[parent]
            pos = parent
        hf[pos] = f
        hs[pos] = k
    return start, finish, station, server


@njit(cache=True)
def _closed_kernel(demands, think, users, n_cycles, draws):
    """Closed loop: think, then stations 0..K-1 in order (single-server FCFS), repeat."""
    K = demands.shape[0]
    free = np.zeros(K)
    ht = np.empty(users)
    hu = np.empty(users, dtype=np.int64)
    stage = np.zeros(users, dtype=np.int64)
    began = np.zeros(users)
    ends = np.empty(n_cycles)
    resp = np.empty(n_cycles)
    nd = 0
    for u in range(users):  # every user starts thinking; heap is built by sift-up
        t = think * draws[nd]
        nd += 1
        pos = u
        while pos > 0:
            parent = (pos - 1) // 2
            if ht[parent] <= t:
                break
            ht[pos] = ht[parent]
            hu[pos] = hu[parent]
            pos = parent
        ht[pos] = t
        hu[pos] = u
    done = 0
    while done < n_cycles:
        t = ht[0]
        u = hu[0]
        st = stage[u]
        if st == 0:
            began[u] = t
        if st < K:
            s = t if t > free[st] else free[st]
            nt = s + demands[st] * draws[nd]
            nd += 1
            free[st] = nt
            stage[u] = st + 1
        else:
            ends[done] = t
            resp[done] = t - began[u]
            done += 1
            stage[u] = 0
            nt = t + think * draws[nd]
            nd += 1
        _sift_down(ht, hu, users, nt, u)  # replace the root by (nt, u)
    return ends, resp


# ---------------------------------------------------------------------------
# Statistics helpers
# ---------------------------------------------------------------------------
def batch_means_ci(samples: np.ndarray, n_batches: int = 30, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of ``samples`` and the half-width of its confidence interval by batch means.

    The series is cut into ``n_batches`` consecutive batches; their means are
    treated as independent normal observations (Student t interval).
    """
    samples = np.asarray(samples, dtype=float)
    n_batches = check_integer(n_batches, "n_batches", minimum=2)
    size = len(samples) // n_batches
    if size < 1:
        raise ValueError(f"samples must hold at least n_batches={n_batches} values, got {len(samples)}")
    means = samples[: size * n_batches].reshape(n_batches, size).mean(axis=1)
    half = stats.t.ppf(0.5 + confidence / 2, n_batches - 1) * means.std(ddof=1) / np.sqrt(n_batches)
    return float(samples.mean()), float(half)


def _fcfs_heapq(arrivals, services, servers):
    free = [(0.0, k) for k in range(servers)]
    n = len(arrivals)
    start = np.empty(n)
    server = np.empty(n, dtype=np.int64)
    arr = arrivals.tolist()
    svc = services.tolist()
    heapreplace = heapq.heapreplace
    for i in range(n):
        t_free, k = free[0]
        a = arr[i]
        s = a if a > t_free else t_free
        start[i] = s
        server[i] = k
        heapreplace(free, (s + svc[i], k))
    return start, server


def fcfs_start_times(arrivals: np.ndarray, services: np.ndarray, servers: int) -> tuple[np.ndarray, np.ndarray]:
    """Start times and server indices of FCFS requests at a ``servers``-server station.

    ``arrivals`` must be sorted.  A request starts at
    :math:`\\max(A_n, \\min_k F_k)` where :math:`F_k` is the time server
    :math:`k` frees up (Kiefer–Wolfowitz); the earliest free server is kept in
    a binary heap.  For one server this is Lindley's recursion
    :math:`W_{n+1} = \\max(0, W_n + S_n - (A_{n+1} - A_n))`.
    """
    arrivals = np.ascontiguousarray(arrivals, dtype=float)
    services = np.ascontiguousarray(services, dtype=float)
    servers = check_integer(servers, "servers", minimum=1)
    if arrivals.shape != services.shape or arrivals.ndim != 1:
        raise ValueError(f"arrivals and services must be 1-D of equal length, got {arrivals.shape} "
                         f"and {services.shape}")
    if HAVE_NUMBA:
        return _fcfs_heap_kernel(arrivals, services, servers)
    return _fcfs_heapq(arrivals, services, servers)  # pragma: no cover


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
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


def _summarize(arrivals, services, start, finish, server, station, n_stations, servers_per_station,
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
    utilization = busy / (servers_per_station * span) if span > 0 else np.zeros(n_stations)
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


def _common_checks(n_requests, warmup_fraction, n_batches):
    n = check_integer(n_requests, "n_requests", minimum=100)
    warm = check_in_range(warmup_fraction, "warmup_fraction", 0.0, 0.9)
    nb = check_integer(n_batches, "n_batches", minimum=2)
    return n, warm, nb


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
    c = check_integer(servers, "servers", minimum=1)
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


POLICIES = ("random", "round_robin", "jsq", "least_work", "power_of_d")


def simulate_pool(arrival_rate: float | None, service: Distribution, n_servers: int, policy: str = "jsq", *,
                  d: int = 2, servers_per_station: int = 1,
                  n_requests: int = 200_000, seed: int | None = 0,
                  warmup_fraction: float = 0.1, n_batches: int = 30,
                  return_records: bool = False,
                  arrivals: ArrivalProcess | Distribution | None = None,
                  outages=None) -> SimulationResult:
    """Simulate a pool of ``n_servers`` FCFS stations behind a load-balancing router.

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
    n_servers : int
        Number of stations behind the router.
    policy : str
        One of :data:`POLICIES`.
    d : int
        Stations sampled by ``"power_of_d"`` (>= 1; capped at the stations up).
    servers_per_station : int
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
    k = check_integer(n_servers, "n_servers", minimum=1)
    c = check_integer(servers_per_station, "servers_per_station", minimum=1)
    d = check_integer(d, "d", minimum=1)
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    n, warm, nb = _common_checks(n_requests, warmup_fraction, n_batches)
    svc_dist = _check_distribution(service, "service")
    arr_proc = _resolve_arrivals(arrival_rate, arrivals)
    ptr, t0s, t1s, has_out = _outage_table(outages, k, c, "station")
    rng = np.random.default_rng(seed)
    arr = np.ascontiguousarray(arr_proc.times(rng, n), dtype=float)
    svc = np.ascontiguousarray(svc_dist.sample(rng, n), dtype=float)
    code = POLICIES.index(policy)
    tie_u = rng.random(n) if code in (0, 2, 3) else np.zeros(n)
    pick_u = rng.random((n, min(d, k))) if code == 4 else np.zeros((1, 1))
    start, finish, station, server = _router_kernel(arr, svc, k, c, code, d, tie_u, pick_u,
                                                    ptr, t0s, t1s, has_out)
    return _summarize(arr, svc, start, finish, server, station, k, c, warm, nb, return_records, policy)


@dataclass(frozen=True)
class ClosedSimulationResult:
    """Throughput (cycles per second) and mean response time (seconds) of a closed network, with 95 % half-widths."""

    throughput: float
    throughput_ci: float
    mean_response: float
    mean_response_ci: float
    n_measured: int


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
    think = check_nonnegative(think_time_s, "think_time_s")
    users = check_integer(users, "users", minimum=1)
    n, warm, nb = _common_checks(n_cycles, warmup_fraction, n_batches)
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
    x_ci = stats.t.ppf(0.975, nb - 1) * xs.std(ddof=1) / np.sqrt(nb)
    return ClosedSimulationResult(float(x), float(x_ci), mr, mr_ci, len(resp))


@dataclass(frozen=True)
class TandemSimulationResult:
    """Per-stage and end-to-end mean times (seconds) of :func:`simulate_tandem`, with 95 % half-widths.

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
    lam = check_positive(arrival_rate, "arrival_rate")
    n, warm, nb = _common_checks(n_requests, warmup_fraction, n_batches)
    parsed = []
    for i, stage in enumerate(stages):
        try:
            c, dist = stage
        except (TypeError, ValueError):
            raise ValueError(f"stages[{i}] must be a (servers, Distribution) pair, got {stage!r}") from None
        parsed.append((check_integer(c, f"stages[{i}] servers", minimum=1),
                       _check_distribution(dist, f"stages[{i}] service")))
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
