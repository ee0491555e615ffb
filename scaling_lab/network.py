"""Networks of queues: tiers of a web service, open (Jackson) and closed (MVA).

* :class:`OpenNetwork` — requests arrive from outside at rate :math:`\\lambda`
  and visit stations (load balancer, web tier, cache, database...) according
  to visit ratios or a routing matrix.  Each station is an M/M/c queue; by
  Jackson's theorem the stations behave as independent M/M/c queues fed at
  :math:`\\lambda_k = \\lambda V_k`, so per-station and end-to-end mean
  response times are exact.
* :func:`mva` — a closed network of :math:`N` users who think for :math:`Z`
  seconds between requests; exact Mean Value Analysis gives throughput and
  response time for every :math:`N`, with the asymptotic bounds and the knee
  :math:`N^*` where the bottleneck saturates.

Units: rates in requests per second, times and demands in seconds.

References
----------
J. R. Jackson, *Jobshop-like queueing systems*, Management Science 10 (1963).
M. Reiser and S. S. Lavenberg, *Mean-value analysis of closed multichain
queueing networks*, J. ACM 27 (1980).  E. D. Lazowska, J. Zahorjan, G. S.
Graham and K. C. Sevcik, *Quantitative System Performance*, Prentice-Hall,
1984, ch. 5-6 (bounds, MVA).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from .core.validation import (MAX_COUNT, check_fields, check_in_range, check_integer, check_nonnegative, check_positive,
                              check_probability)
from .queueing import MMc
from .core.arrays import scalar_or_array

__all__ = ["Station", "OpenNetwork", "MVAResult", "mva", "pool_throughput", "HeldPool", "held_pool", "DataModelDemand",
           "data_model_demands"]


@dataclass(frozen=True)
class Station:
    """A tier: ``servers`` identical servers, each completing ``service_rate`` requests per second."""

    name: str
    servers: int
    service_rate: float

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        check_fields(self, scalar=True, prefix=f"{self.name}.",
                     servers=partial(check_integer, minimum=1, maximum=MAX_COUNT), service_rate=check_positive)


def _as_station(s, i: int) -> Station:
    if isinstance(s, Station):
        return s
    try:
        name, servers, rate = s
    except (TypeError, ValueError):
        raise ValueError(f"stations[{i}] must be a Station or (name, servers, service_rate), got {s!r}") from None
    return Station(str(name), servers, rate)


class OpenNetwork:
    """An open Jackson network of M/M/c stations.

    Parameters
    ----------
    arrival_rate : float or 1-D array
        External arrival rate :math:`\\lambda`, requests per second (> 0).  An
        array gives a sweep: per-station results then have shape ``(len(arrival_rate), K)``.
    stations : sequence of Station or (name, servers, service_rate)
        The :math:`K` stations.
    visits : array of K floats, optional
        Mean visits :math:`V_k \\ge 0` of one request to each station
        (0.3 for a database behind a 70 % cache hit rate).
    routing : K x K array, optional
        :math:`P_{jk}`, probability that a request leaving station :math:`j`
        goes to :math:`k`; the rest of row :math:`j` leaves the system.  The
        visit ratios solve :math:`V = e + V P` (traffic equations).
    entry : array of K floats, optional
        Where external requests enter (:math:`e`, sums to 1); default station 0.

    Notes
    -----
    Exactly one of ``visits`` and ``routing`` is given.  With
    :math:`\\lambda_k = \\lambda V_k`, :math:`T_k` the M/M/c response time of
    station :math:`k` per visit,

    .. math:: R = \\sum_k V_k T_k, \\qquad
              \\lambda_{max} = \\min_k \\frac{c_k \\mu_k}{V_k},

    and the bottleneck is the station with the largest :math:`V_k/(c_k\\mu_k)`.
    Overloaded stations give ``inf`` responses (``stable`` False), never errors.

    References
    ----------
    Jackson (1963); Harchol-Balter (2013), ch. 18; Lazowska et al. (1984), ch. 3.
    """

    def __init__(self, arrival_rate, stations, *, visits=None, routing=None, entry=None):
        self.arrival_rate = check_positive(arrival_rate, "arrival_rate")
        self.stations = tuple(_as_station(s, i) for i, s in enumerate(stations))
        k = len(self.stations)
        if k == 0:
            raise ValueError("stations must hold at least one station, got none")
        if (visits is None) == (routing is None):
            raise ValueError("give exactly one of visits and routing, got " + ("both" if visits is not None else "neither"))
        if visits is not None:
            v = np.atleast_1d(check_nonnegative(visits, "visits")).astype(float)
            if v.shape != (k,):
                raise ValueError(f"visits must have one entry per station ({k}), got shape {v.shape}")
        else:
            p = np.asarray(check_probability(routing, "routing"), dtype=float)
            if p.shape != (k, k):
                raise ValueError(f"routing must be {k} x {k}, got shape {p.shape}")
            if (p.sum(axis=1) > 1 + 1e-12).any():
                raise ValueError(f"routing rows must sum to at most 1, got sums {p.sum(axis=1)}")
            if entry is None:
                e = np.zeros(k)
                e[0] = 1.0
            else:
                e = np.atleast_1d(check_probability(entry, "entry")).astype(float)
                if e.shape != (k,) or not np.isclose(e.sum(), 1.0):
                    raise ValueError(f"entry must hold {k} probabilities summing to 1, got {entry!r}")
            a = np.eye(k) - p.T
            try:
                v = np.linalg.solve(a, e)
            except np.linalg.LinAlgError:
                raise ValueError("routing never lets requests leave (I - P is singular)") from None
            if (v < -1e-9).any() or not np.isfinite(v).all() or np.linalg.cond(a) > 1e12:
                raise ValueError("routing never lets requests leave (I - P is singular)")
            v = np.maximum(v, 0.0)
            self.routing = p
        if not (v > 0).any():
            raise ValueError("visits must send requests to at least one station")
        with np.errstate(over="ignore"):
            station_rates = np.multiply.outer(np.asarray(self.arrival_rate), v)
        if not np.isfinite(station_rates).all():
            raise ValueError("arrival_rate * visits (the stations' arrival rates) must be finite, got "
                             f"{np.max(self.arrival_rate):g} * {v.max():g}")
        self.visits = v
        self._servers = np.array([s.servers for s in self.stations], dtype=np.int64)
        self._mu = np.array([s.service_rate for s in self.stations], dtype=float)

    # -- per-station ----------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stations]

    @property
    def station_arrival_rates(self) -> np.ndarray:
        """:math:`\\lambda_k = \\lambda V_k`, requests per second at each station."""
        return np.multiply.outer(np.asarray(self.arrival_rate), self.visits)

    @property
    def utilization(self) -> np.ndarray:
        """:math:`\\rho_k = \\lambda V_k/(c_k \\mu_k)`; >= 1 means station k is overloaded."""
        return self.station_arrival_rates / (self._servers * self._mu)

    @property
    def stable(self):
        """True where every station has :math:`\\rho_k < 1`."""
        s = (self.utilization < 1.0).all(axis=-1)
        return scalar_or_array(s, bool)

    @property
    def station_response(self) -> np.ndarray:
        """Mean M/M/c response time per visit :math:`T_k`, seconds (``1/mu`` at unvisited stations)."""
        lam = self.station_arrival_rates
        out = np.broadcast_to(1.0 / self._mu, lam.shape).copy()
        used = lam > 0
        lam_b, mu_b, c_b = np.broadcast_arrays(lam, self._mu, self._servers)
        out[used] = np.asarray(MMc(lam_b[used], mu_b[used], c_b[used]).mean_response)
        return out

    @property
    def station_residence(self) -> np.ndarray:
        """:math:`V_k T_k`: seconds one request spends at station k over all its visits."""
        return self.visits * self.station_response

    # -- end to end -------------------------------------------------------------
    @property
    def mean_response(self):
        """End-to-end mean response time :math:`R = \\sum_k V_k T_k`, seconds."""
        r = self.station_residence.sum(axis=-1)
        return scalar_or_array(r)

    @property
    def mean_in_system(self):
        """Requests in the whole network, :math:`\\lambda R` (Little's law)."""
        return self.arrival_rate * self.mean_response

    @property
    def bottleneck(self) -> str:
        """Name of the station with the largest demand per server :math:`V_k/(c_k\\mu_k)`."""
        return self.stations[int(np.argmax(self.visits / (self._servers * self._mu)))].name

    @property
    def max_throughput(self) -> float:
        """:math:`\\min_k c_k\\mu_k/V_k`: the external rate at which the bottleneck saturates."""
        used = self.visits > 0
        with np.errstate(over="ignore"):  # visits below the float range: a station that never saturates, inf
            return float(np.min(self._servers[used] * self._mu[used] / self.visits[used]))

    def summary(self) -> pd.DataFrame:
        """One row per station: servers, service rate, visits, arrival rate, utilization, response, residence."""
        if np.ndim(self.arrival_rate) != 0:
            raise ValueError("summary() needs a scalar arrival_rate")
        return pd.DataFrame({
            "servers": self._servers, "service_rate": self._mu, "visits": self.visits,
            "arrival_rate": self.station_arrival_rates, "utilization": self.utilization,
            "response_per_visit": self.station_response, "residence": self.station_residence,
        }, index=pd.Index(self.names, name="station"))

    def __repr__(self) -> str:
        return f"OpenNetwork(arrival_rate={self.arrival_rate!r}, stations={list(self.stations)!r}, visits={self.visits.tolist()!r})"


@dataclass(frozen=True)
class MVAResult:
    """Exact MVA of a closed network, for 1..N users (index ``n - 1``).

    Attributes
    ----------
    users : array of int
        1, 2, ..., N.
    throughput : array
        :math:`X(n)`, requests per second.
    response : array
        :math:`R(n)`, seconds (think time excluded).
    queue_lengths, utilization, residence : arrays of shape (N, K)
        Mean requests at each station, its utilization :math:`X D_k`, and
        seconds per request spent there.
    demands_s : array of K floats
        :math:`D_k`, seconds.
    think_time_s : float
        :math:`Z`, seconds.
    """

    users: np.ndarray
    throughput: np.ndarray
    response: np.ndarray
    queue_lengths: np.ndarray
    utilization: np.ndarray
    residence: np.ndarray
    demands_s: np.ndarray
    think_time_s: float

    @property
    def total_demand(self) -> float:
        """:math:`D = \\sum_k D_k`: response time of a lone user (inf past the float range)."""
        with np.errstate(over="ignore"):
            return float(self.demands_s.sum())

    @property
    def max_throughput(self) -> float:
        """:math:`1/D_{max}`: the bottleneck's capacity (inf for demands below the float range)."""
        with np.errstate(over="ignore"):
            return float(1.0 / self.demands_s.max())

    @property
    def bottleneck(self) -> int:
        """Index of the station with the largest demand."""
        return int(np.argmax(self.demands_s))

    @property
    def knee(self) -> float:
        """:math:`N^* = (D + Z)/D_{max}`, where the two asymptotes cross."""
        return (self.total_demand + self.think_time_s) / float(self.demands_s.max())

    @property
    def throughput_bound(self) -> np.ndarray:
        """Asymptotic upper bound :math:`\\min(n/(D + Z), 1/D_{max})`."""
        return np.minimum(self.users / (self.total_demand + self.think_time_s), self.max_throughput)

    @property
    def response_bound(self) -> np.ndarray:
        """Asymptotic lower bound :math:`\\max(D, n D_{max} - Z)` (inf past the float range)."""
        with np.errstate(over="ignore"):
            return np.maximum(self.total_demand, self.users * float(self.demands_s.max()) - self.think_time_s)


MVA_MAX_USERS = 10**6
"""Largest population :func:`mva` solves: the exact recursion visits every population up to it, a few
seconds for a million (a judgement: far past the knee :math:`N^*` of any network measured here, where
the throughput sits on its bound :math:`1/D_{max}`)."""


def mva(demands_s, think_time_s: float, users: int) -> MVAResult:
    """Exact Mean Value Analysis of a closed product-form network.

    :math:`N` users alternate between thinking (a delay of mean :math:`Z`) and
    one request that needs :math:`D_k` seconds of service at each of
    :math:`K` single-server FCFS stations (:math:`D_k = V_k S_k`).  For
    :math:`n = 1..N`:

    .. math::
        R_k(n) = D_k\\,[1 + Q_k(n-1)], \\quad
        X(n) = \\frac{n}{Z + \\sum_k R_k(n)}, \\quad
        Q_k(n) = X(n)\\,R_k(n)

    (the arrival theorem: an arriving user sees the network with one user
    fewer in equilibrium).  Exact for exponential FCFS stations (and for any
    service distribution under processor sharing), :math:`O(NK)`.

    Parameters
    ----------
    demands_s : array of float
        Service demand per request at each station, seconds (> 0).
    think_time_s : float
        Mean think time :math:`Z`, seconds (>= 0).
    users : int
        Largest population :math:`N \\ge 1`, at most :data:`MVA_MAX_USERS`; results are for every n up to it.

    Returns
    -------
    MVAResult

    References
    ----------
    Reiser and Lavenberg (1980); Lazowska et al. (1984), §6.3.
    """
    d = np.atleast_1d(check_positive(demands_s, "demands_s")).astype(float)
    if d.ndim != 1:
        raise ValueError(f"demands_s must be 1-D, got shape {d.shape}")
    z = check_nonnegative(think_time_s, "think_time_s", scalar=True)
    n_max = check_integer(users, "users", minimum=1, maximum=MVA_MAX_USERS, scalar=True)
    # R_k(n) <= n D_k: where n (D + Z) could leave the float range, the recursion runs in a time unit
    # 2^e times longer (exact: a power of two) and the results are converted back, inf past the range
    top = max(float(d.max()), z)
    scale = 2.0 ** -math.frexp(top)[1] if n_max * (len(d) + 1) * top >= 2.0**996 else 1.0
    ds, zs = d * scale, z * scale
    x = np.empty(n_max)
    r = np.empty(n_max)
    q_all = np.empty((n_max, len(d)))
    res = np.empty((n_max, len(d)))
    q = np.zeros(len(d))
    for n in range(1, n_max + 1):
        rk = ds * (1.0 + q)
        rt = rk.sum()
        xn = n / (zs + rt)
        q = xn * rk
        x[n - 1], r[n - 1] = xn, rt
        q_all[n - 1], res[n - 1] = q, rk
    utilization = x[:, None] * ds
    if scale != 1.0:
        with np.errstate(over="ignore"):
            x, r, res = x * scale, r / scale, res / scale
    return MVAResult(np.arange(1, n_max + 1), x, r, q_all, utilization, res, d, float(z))


# -- a pool of tokens held for the whole request -------------------------------------
def pool_throughput(pool_size: int, stations) -> np.ndarray:
    """Throughput :math:`X(n)` of the stations with :math:`n = 1..P` requests circulating, no think time.

    A request that holds a token of a pool (a blocking web worker, a database
    connection) from its start to its end keeps at most :math:`P` requests
    inside the stations it visits.  With exactly :math:`n` inside, they form a
    closed product-form network of multi-server FCFS stations
    (station :math:`k`: :math:`c_k` servers, demand :math:`D_k = 1/\\mu_k`),
    solved exactly by the convolution algorithm:

    .. math:: f_k(j) = \\frac{D_k^{\\,j}}{\\prod_{i=1}^{j} \\min(i, c_k)}, \\qquad
              G = f_1 * \\dots * f_K, \\qquad X(n) = \\frac{G(n-1)}{G(n)},

    evaluated in logarithms so that large pools do not overflow.

    Parameters
    ----------
    pool_size : int
        :math:`P \\ge 1` tokens.
    stations : sequence of Station or (name, servers, service_rate)
        What a request visits (once each) while it holds its token.

    Returns
    -------
    numpy.ndarray
        :math:`X(1), \\dots, X(P)`, requests per second.

    References
    ----------
    J. P. Buzen, *Computational algorithms for closed queueing networks with
    exponential servers*, Comm. ACM 16(9), 1973; Lazowska et al. (1984), ch. 8 and 20.
    """
    p = check_integer(pool_size, "pool_size", minimum=1, maximum=2_000, scalar=True)
    sts = [_as_station(s, i) for i, s in enumerate(stations)]
    if not sts:
        raise ValueError("stations must hold at least one station, got none")
    j = np.arange(p + 1)
    log_g = np.full(p + 1, -np.inf)
    log_g[0] = 0.0
    for s in sts:
        log_f = j * -np.log(s.service_rate) - np.concatenate(([0.0], np.cumsum(np.log(np.minimum(j[1:], s.servers)))))
        # log G'(n) = logsumexp_m (log f(m) + log G(n - m))
        pairs = log_f[None, :] + np.where(j[:, None] - j[None, :] >= 0,
                                          log_g[np.clip(j[:, None] - j[None, :], 0, p)], -np.inf)
        top = pairs.max(axis=1)
        log_g = top + np.log(np.exp(pairs - top[:, None]).sum(axis=1))
    return np.exp(log_g[:-1] - log_g[1:])


@dataclass(frozen=True)
class HeldPool:
    """Result of :func:`held_pool` (rates per second, times in seconds).

    Attributes
    ----------
    arrival_rate : float or array
    pool_size : int
    max_throughput : float
        :math:`X(P)`: the rate at which the pool saturates.
    stable : bool or array
        :math:`\\lambda < X(P)`.
    mean_response : float or array
        From arrival to the end of the request, waiting for a token included (``inf`` if unstable).
    mean_wait : float or array
        Mean wait for a free token.
    prob_wait : float or array
        Probability that an arriving request finds every token taken.
    utilization : float or array
        Mean fraction of the tokens in use.
    """

    arrival_rate: object
    pool_size: int
    max_throughput: float
    stable: object
    mean_response: object
    mean_wait: object
    prob_wait: object
    utilization: object


def held_pool(arrival_rate, pool_size: int, stations, *, tail_tolerance: float = 1e-10) -> HeldPool:
    """Requests that hold one of ``pool_size`` tokens while they visit ``stations`` in order: exact means.

    Poisson arrivals at rate :math:`\\lambda` take a free token or wait for one
    (FCFS), then visit the stations one after the other (station :math:`k`:
    :math:`c_k` FCFS servers, exponential service of rate :math:`\\mu_k`) and
    free the token when the last one is done.  A web tier of blocking workers
    (the worker waits while the database runs) is this model with the web
    compute and the database as stations; a database connection pool is the
    same with the database alone.

    The state is the number at each station, :math:`n_1 + \\dots + n_K \\le P`,
    and the number waiting for a token :math:`q` (positive only when every
    token is held).  This continuous-time Markov chain is solved exactly
    (sparse linear system), with the waiting line truncated where the
    stationary probability of a longer one is below ``tail_tolerance``.  Then
    by Little's law

    .. math:: R = \\frac{E[q] + E[\\textstyle\\sum_k n_k]}{\\lambda}, \\qquad
              W = \\frac{E[q]}{\\lambda}, \\qquad
              P(\\text{wait}) = P\\big(\\textstyle\\sum_k n_k = P\\big) \\;\\text{(PASTA)}.

    It is stable iff :math:`\\lambda < X(P)` of :func:`pool_throughput`, the
    throughput of the stations with every token held; beyond that the result
    is ``stable`` False with ``inf`` times, not an error.  (Replacing the
    stations by one flow-equivalent server of rates :math:`X(n)` gives the
    same capacity but overstates the waits, by 12 % at 91 % of capacity in
    the database-tier chapter's example.)

    Parameters
    ----------
    arrival_rate : float or array
        :math:`\\lambda > 0`, requests per second.
    pool_size : int
        :math:`P \\ge 1` tokens (workers, connections).
    stations : sequence of Station or (name, servers, service_rate)
        Visited once each, in order, while the token is held.
    tail_tolerance : float
        Truncation of the waiting line, in (0, 1e-3].

    Notes
    -----
    The chain has one state per way of placing up to :math:`P` requests on
    the stations: at most 50,000 of them (a pool of 300 tokens around two
    stations).

    References
    ----------
    Lazowska et al. (1984), ch. 9 (memory constraints); W. J. Stewart,
    *Probability, Markov Chains, Queues, and Simulation*, Princeton, 2009,
    ch. 10 (numerical solution of Markov chains).
    """
    lam = np.atleast_1d(np.asarray(check_positive(arrival_rate, "arrival_rate"), dtype=float))
    tol = check_in_range(tail_tolerance, "tail_tolerance", 0.0, 1e-3, low_open=True, scalar=True)
    x = pool_throughput(pool_size, stations)
    p = len(x)
    sts = [_as_station(s, i) for i, s in enumerate(stations)]
    if math.comb(p + len(sts), len(sts)) > 50_000:
        raise ValueError(f"pool_size must keep the chain within 50,000 states for {len(sts)} stations, got {p}")
    cap = float(x[-1])
    fields = {k: np.empty(len(lam)) for k in ("response", "wait", "prob_wait", "util")}
    for i, rate in enumerate(lam):
        if rate >= cap:
            fields["response"][i] = fields["wait"][i] = np.inf
            fields["prob_wait"][i] = fields["util"][i] = 1.0
            continue
        boundary = math.comb(p + len(sts) - 1, len(sts) - 1)  # states with every token held
        with np.errstate(divide="ignore"):  # rate / cap below the float range: log -inf, the fewest levels
            levels = int(min(max(np.ceil(2 * np.log(tol) / np.log(rate / cap)), 50), 300_000 // boundary))
        mean_q, mean_in, full = _held_pool_chain(float(rate), p, sts, levels)
        fields["response"][i] = (mean_q + mean_in) / rate
        fields["wait"][i] = mean_q / rate
        fields["prob_wait"][i] = full
        fields["util"][i] = mean_in / p
    shape = np.shape(arrival_rate)
    out = {k: scalar_or_array(v.reshape(shape)) for k, v in fields.items()}
    return HeldPool(scalar_or_array(lam.reshape(shape)), p, cap, scalar_or_array((lam < cap).reshape(shape), bool),
                    out["response"], out["wait"], out["prob_wait"], out["util"])


def _held_pool_chain(rate: float, pool: int, stations, levels: int) -> tuple[float, float, float]:
    """E[q], E[sum n] and P(sum n = P) of the held-pool chain, waiting line truncated at ``levels``."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    k = len(stations)
    inside = [n for n in itertools.product(range(pool + 1), repeat=k) if sum(n) <= pool]
    index = {(n, 0): j for j, n in enumerate(inside)}
    for q in range(1, levels + 1):
        for n in inside:
            if sum(n) == pool:
                index[(n, q)] = len(index)
    rows, cols, vals = [], [], []

    def add(src, dst, r):
        if dst in index:  # arrivals beyond the truncation are dropped
            rows.append(index[src]), cols.append(index[dst]), vals.append(r)

    for (n, q) in index:
        full = sum(n) == pool
        if full:
            add((n, q), (n, q + 1), rate)
        else:
            add((n, q), ((n[0] + 1,) + n[1:], 0), rate)
        for s, st in enumerate(stations):
            if n[s] == 0:
                continue
            r = min(n[s], st.servers) * st.service_rate
            m = list(n)
            m[s] -= 1
            if s + 1 < k:
                m[s + 1] += 1
                add((n, q), (tuple(m), q), r)
            elif q > 0:  # the freed token goes to the first in line
                m[0] += 1
                add((n, q), (tuple(m), q - 1), r)
            else:
                add((n, q), (tuple(m), 0), r)
    size = len(index)
    gen = sparse.coo_matrix((vals, (rows, cols)), shape=(size, size)).tocsr()
    gen = gen - sparse.diags(np.asarray(gen.sum(axis=1)).ravel())
    a = gen.T.tolil()
    a[0, :] = np.ones(size)  # one balance equation replaced by the normalization
    b = np.zeros(size)
    b[0] = 1.0
    pi = np.clip(spsolve(a.tocsc(), b), 0.0, None)
    pi /= pi.sum()
    keys = list(index)
    q = np.array([key[1] for key in keys], dtype=float)
    n_in = np.array([sum(key[0]) for key in keys], dtype=float)
    return float(pi @ q), float(pi @ n_in), float(pi[n_in == pool].sum())


# -- data models: a relational join against a denormalized document ------------------
@dataclass(frozen=True)
class DataModelDemand:
    """Result of :func:`data_model_demands` (seconds of database time per request).

    Attributes
    ----------
    normalized_s : float
        :math:`f\\,S_{join} + (1 - f)\\,S_w`: reads join the tables, writes change one row.
    denormalized_s : float
        :math:`f\\,S_{get} + (1 - f)\\,m\\,S_w`: reads fetch one document, writes update its ``copies``.
    breakeven_read_fraction : float
        :math:`f^*`, the read fraction above which the denormalized model needs less database time.
    """

    normalized_s: float
    denormalized_s: float
    breakeven_read_fraction: float

    @property
    def better(self) -> str:
        """``"denormalized"`` or ``"normalized"``: the model with the smaller demand."""
        return "denormalized" if self.denormalized_s < self.normalized_s else "normalized"


def data_model_demands(read_fraction: float, *, join_s: float, get_s: float, write_s: float,
                       copies: int) -> DataModelDemand:
    """Database demand per request of a normalized (relational) and a denormalized (document) data model.

    A page shows an aggregate (a user with their posts, an order with its
    lines).  Normalized, the aggregate is spread over tables: a read joins
    them (:math:`S_{join}` seconds of database time), a write changes one row
    (:math:`S_w`).  Denormalized, as a key-value or document store keeps it,
    the aggregate is one document: a read is one lookup (:math:`S_{get}`), but
    a row embedded in :math:`m` documents costs :math:`m` writes.  With a read
    fraction :math:`f`:

    .. math:: D_{norm} = f S_{join} + (1 - f) S_w, \\qquad
              D_{denorm} = f S_{get} + (1 - f)\\, m\\, S_w, \\qquad
              f^* = \\frac{(m - 1) S_w}{(m - 1) S_w + S_{join} - S_{get}}.

    The denormalized model wins above :math:`f^*` (never when
    :math:`S_{join} \\le S_{get}`: then :math:`f^* = 1`).  Demands feed the
    bottleneck law :math:`X_{max} = c/D` and :class:`OpenNetwork`.

    Parameters
    ----------
    read_fraction : float
        :math:`f` in [0, 1].
    join_s, get_s, write_s : float
        Database seconds of a join read, a document lookup and a one-row write (>= 0).
    copies : int
        :math:`m \\ge 1`: documents that embed one written row.

    References
    ----------
    Kleppmann (2017), ch. 2 (relational against document models, normalization);
    Denning and Buzen (1978) (service demands).
    """
    f = check_probability(read_fraction, "read_fraction", scalar=True)
    s_join = check_nonnegative(join_s, "join_s", scalar=True)
    s_get = check_nonnegative(get_s, "get_s", scalar=True)
    s_w = check_nonnegative(write_s, "write_s", scalar=True)
    m = check_integer(copies, "copies", minimum=1, maximum=MAX_COUNT, scalar=True)
    norm = f * s_join + (1 - f) * s_w
    denorm = f * s_get + (1 - f) * m * s_w
    extra_writes, saved_reads = (m - 1) * s_w, s_join - s_get
    if saved_reads <= 0:
        f_star = 1.0
    elif extra_writes + saved_reads == 0:
        f_star = 0.0
    else:
        f_star = extra_writes / (extra_writes + saved_reads)
    return DataModelDemand(float(norm), float(denorm), float(f_star))
