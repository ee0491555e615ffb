"""Several data centers: where to put them, how hot each may run, how often the service is up.

Users are geo-routed to the nearest of :math:`k` data centers.  This module
answers the questions that follow, on top of :mod:`scaling_lab.geography`
(distances and the fibre round-trip floor) and :mod:`scaling_lab.availability`
(k-of-n availability):

* which :math:`k` of a set of candidate sites minimise the users' mean RTT
  (:func:`best_sites`, exact by enumeration);
* how the traffic splits between data centers, and where a failed one's users
  go (:func:`failover_shares`);
* how busy each data center may run so that the survivors absorb a lost one
  (:func:`failover_utilization_limit` for an even split,
  :func:`max_utilization_for_failover` for a real, uneven one);
* the availability of a service that needs :math:`m` of :math:`k` data centers
  up, :math:`m` set by their utilization (:func:`service_availability`),
  checked by :func:`simulate_datacenter_availability`;
* the least delay with which a write can reach another region
  (:func:`replication_delay_floor_ms`).

References
----------
A. Xu, *System Design Interview*, 2020, ch. 1 (data centers, geoDNS, failover).
L. A. Barroso, U. Hölzle and P. Ranganathan, *The Datacenter as a Computer*,
3rd ed., Morgan & Claypool, 2018, ch. 7 (failures and availability).
M. Rausand and A. Høyland, *System Reliability Theory*, 2nd ed., Wiley, 2004.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .core.validation import (MAX_COUNT, MAX_ELEMENTS, MAX_INT, check_in_range, check_integer, check_nonnegative,
                              check_positive, check_probability)
from .availability import k_of_n_unavailability
from .geography import check_coordinates, haversine_km, rtt_floor_ms
from .core.statistics import batch_means_ci
from .core.arrays import scalar_or_array

__all__ = [
    "best_sites",
    "failover_shares",
    "failover_utilization_limit",
    "max_utilization_for_failover",
    "datacenters_needed",
    "service_availability",
    "simulate_datacenter_availability",
    "replication_delay_floor_ms",
    "geo_failover_unavailability",
    "DNSFailover",
    "dns_failover",
    "writes_at_risk",
]


def _weights(weights, n):
    w = np.ones(n) if weights is None else np.asarray(check_nonnegative(weights, "weights"), dtype=float)
    if w.shape != (n,) or w.sum() <= 0:
        raise ValueError(f"weights must hold {n} non-negative values, not all zero")
    return w / w.sum()


def best_sites(user_lat, user_lon, site_lat, site_lon, k: int, *, weights=None,
               route_factor: float = 1.0) -> tuple[tuple[int, ...], float]:
    """The ``k`` candidate sites that minimise the users' mean RTT to their nearest site.

    .. math:: \\min_{J \\subseteq \\{1..n\\},\\ |J| = k}\\ \\sum_u w_u \\min_{j \\in J} \\frac{2 r D(u, j)}{v}

    (the *k-median* problem), solved exactly by trying all
    :math:`\\binom{n}{k}` subsets, which is fast for the handful of cloud
    regions a service can choose from (at most 200,000 subsets).

    Parameters
    ----------
    user_lat, user_lon : array
        User locations, degrees.
    site_lat, site_lon : array
        Candidate data-center locations, degrees.
    k : int
        Sites to open, 1 <= k <= number of candidates.
    weights : array, optional
        Users per location (default equal).
    route_factor : float
        :math:`r \\ge 1` (see :func:`scaling_lab.geography.rtt_floor_ms`).

    Returns
    -------
    (sites, mean_rtt_ms)
        Indices of the chosen sites (ascending) and the weighted mean RTT in ms.

    References
    ----------
    O. Kariv and S. L. Hakimi, *An algorithmic approach to network location
    problems II: the p-medians*, SIAM J. Appl. Math. 37(3), 1979.
    """
    ula, ulo = check_coordinates(user_lat, user_lon, "user_lat", "user_lon")
    sla, slo = check_coordinates(site_lat, site_lon, "site_lat", "site_lon")
    n = len(sla)
    k = check_integer(k, "k", minimum=1, maximum=MAX_COUNT, scalar=True)
    if k > n:
        raise ValueError(f"k must be in [1, {n}] (the number of candidate sites), got {k}")
    if math.comb(n, k) > 200_000:
        raise ValueError(f"k = {k} of {n} sites gives C({n}, {k}) = {math.comb(n, k)} subsets, too many to "
                         "enumerate (max 200,000)")
    w = _weights(weights, len(ula))
    rtt = np.asarray(rtt_floor_ms(haversine_km(ula[:, None], ulo[:, None], sla[None, :], slo[None, :]),
                                  route_factor))
    best, best_cost = None, np.inf
    for combo in itertools.combinations(range(n), k):
        cost = float(w @ rtt[:, combo].min(axis=1))
        if best is None or cost < best_cost - 1e-12:
            best, best_cost = combo, cost
    return tuple(int(i) for i in best), best_cost


def failover_shares(user_lat, user_lon, dc_lat, dc_lon, *, weights=None) -> np.ndarray:
    """Share of all traffic each data center serves, normally and with each one down.

    Every user goes to the nearest data center that is up.  Row 0 is the
    normal split :math:`s_j`; row :math:`i + 1` the split
    :math:`s^{(i)}_j` while data center :math:`i` is down (its own entry 0):
    its users move to their second-nearest site, not evenly to all survivors.

    Returns
    -------
    numpy.ndarray
        Shape ``(k + 1, k)``; every row sums to 1 (for ``k = 1`` the failure row is all zero).
    """
    ula, ulo = check_coordinates(user_lat, user_lon, "user_lat", "user_lon")
    dla, dlo = check_coordinates(dc_lat, dc_lon, "dc_lat", "dc_lon")
    k = check_integer(len(dla), "number of data centers", minimum=1, maximum=MAX_COUNT)
    w = _weights(weights, len(ula))
    d = np.asarray(haversine_km(ula[:, None], ulo[:, None], dla[None, :], dlo[None, :]))
    out = np.zeros((k + 1, k))
    out[0] = np.bincount(d.argmin(axis=1), weights=w, minlength=k)
    for i in range(k):
        if k == 1:
            break
        di = d.copy()
        di[:, i] = np.inf
        out[i + 1] = np.bincount(di.argmin(axis=1), weights=w, minlength=k)
    return out


def failover_utilization_limit(datacenters, failed: int = 1, max_utilization=1.0):
    """Highest normal utilization of ``k`` equal data centers so that ``k - f`` survivors absorb the load.

    With load spread evenly, the survivors of :math:`f` failures carry
    :math:`k/(k-f)` times their normal load, so

    .. math:: u \\le u_{\\max}\\,\\frac{k - f}{k}.

    Parameters
    ----------
    datacenters : int or array of int
        :math:`k \\ge 1`.
    failed : int
        :math:`0 \\le f < k`.
    max_utilization : float
        :math:`u_{\\max}` in (0, 1], the utilization the survivors may reach
        (below 1 when a latency SLO must still hold).
    """
    k = np.asarray(check_integer(datacenters, "datacenters", minimum=1, maximum=MAX_COUNT))
    f = check_integer(failed, "failed", minimum=0, maximum=MAX_COUNT, scalar=True)
    if np.any(f >= k):
        raise ValueError(f"failed must be in [0, datacenters - 1], got failed={f} for datacenters={datacenters!r}")
    um = check_in_range(max_utilization, "max_utilization", 0.0, 1.0, low_open=True)
    out = um * (k - f) / k
    return float(out) if np.ndim(out) == 0 else out.astype(float)


def max_utilization_for_failover(shares, max_utilization: float = 1.0) -> float:
    """Highest normal utilization when each data center is sized for its normal share and must absorb any one failure.

    Each data center :math:`j` gets capacity proportional to its normal share
    :math:`s_j`, so all run at the same utilization :math:`u`.  When :math:`i`
    fails, :math:`j` runs at :math:`u\\,s^{(i)}_j / s_j`; this must stay at
    most :math:`u_{\\max}` for every :math:`i \\ne j`:

    .. math:: u \\le u_{\\max} \\min_{i \\ne j,\\ s^{(i)}_j > 0} \\frac{s_j}{s^{(i)}_j}.

    For an even split whose load spreads evenly this is :math:`u_{\\max}(k-1)/k`;
    geography usually makes it lower, because a failed site's users all move
    to one neighbour.

    Parameters
    ----------
    shares : array, shape (k + 1, k)
        As returned by :func:`failover_shares`.
    max_utilization : float
        :math:`u_{\\max}` in (0, 1].

    Returns
    -------
    float
        The limit, 0 when a single data center carries all traffic (nothing can absorb it).
    """
    s = np.asarray(check_nonnegative(shares, "shares"), dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1] + 1:
        raise ValueError(f"shares must have shape (k + 1, k), got {s.shape}")
    um = check_in_range(max_utilization, "max_utilization", 0.0, 1.0, low_open=True, scalar=True)
    k = s.shape[1]
    normal = s[0]
    worst = 1.0
    for i in range(k):
        if normal[i] <= 0:
            continue  # a site nobody uses can fail without moving anyone
        after = s[i + 1]
        if k == 1 or not after.max() > 0:  # shares are >= 0: none positive means a zero sum
            return 0.0  # nothing left to absorb the load
        moved = np.arange(k) != i
        moved &= after > 0
        worst = min(worst, float(np.min(normal[moved] / after[moved])))
    return float(um * worst)


def datacenters_needed(datacenters, utilization, max_utilization=1.0):
    """Least number of the ``k`` data centers that can carry the load: :math:`m = \\lceil k u / u_{\\max} \\rceil`.

    Parameters
    ----------
    datacenters : int or array of int
        :math:`k \\ge 1` equal data centers, each normally at utilization :math:`u`.
    utilization : float or array
        :math:`u` in [0, 1].
    max_utilization : float
        :math:`u_{\\max}` in (0, 1].
    """
    k = np.asarray(check_integer(datacenters, "datacenters", minimum=1, maximum=MAX_COUNT))
    u = np.asarray(check_probability(utilization, "utilization"), dtype=float)
    um = check_in_range(max_utilization, "max_utilization", 0.0, 1.0, low_open=True)
    with np.errstate(over="ignore"):
        need = np.ceil(k * u / um - 1e-9)
    if np.any(need > MAX_INT):  # a count of data centers an int64 holds exactly
        raise ValueError(f"datacenters * utilization / max_utilization must be at most 2^53 data centers, got "
                         f"{np.max(need):.3g}")
    m = np.maximum(1, need).astype(np.int64)
    return scalar_or_array(m, int)


def service_availability(datacenters: int, utilization: float, dc_unavailability, *,
                         max_utilization: float = 1.0):
    """Unavailability of a service on ``k`` data centers that needs :math:`m` of them up.

    The service is up while at least :math:`m` = :func:`datacenters_needed`
    data centers are up (independent failures, each down a fraction
    :math:`q` of the time):

    .. math:: U = P\\big(\\mathrm{Binomial}(k, q) \\ge k - m + 1\\big).

    At :math:`u \\le u_{\\max}/k` one data center suffices (1-of-k,
    :math:`U = q^k`); at :math:`u \\le u_{\\max}(k-1)/k` the service survives
    any single failure (:math:`U \\approx \\binom{k}{2} q^2`); above that, every
    single failure is an outage (:math:`U \\approx kq`).  Returns the
    *unavailability*, exact at many nines (see :mod:`scaling_lab.availability`).

    Parameters
    ----------
    datacenters : int
        :math:`k \\ge 1`, at most 10^8 (``MAX_ELEMENTS``: the k-of-n sum has a term per data center).
    utilization : float
        Normal utilization of each data center, in [0, 1].
    dc_unavailability : float or array
        :math:`q` of one data center, in [0, 1].
    max_utilization : float
        :math:`u_{\\max}` in (0, 1].
    """
    k = check_integer(datacenters, "datacenters", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    u = check_probability(utilization, "utilization", scalar=True)
    um = check_in_range(max_utilization, "max_utilization", 0.0, 1.0, low_open=True, scalar=True)
    check_probability(dc_unavailability, "dc_unavailability")
    m = datacenters_needed(k, u, um)
    if m > datacenters:
        return 1.0 if np.ndim(dc_unavailability) == 0 else np.ones_like(np.asarray(dc_unavailability, float))
    return k_of_n_unavailability(m, datacenters, dc_unavailability)


def simulate_datacenter_availability(datacenters: int, needed: int, mttf_h: float, mttr_h: float, *,
                                     horizon_h: float = 1e7, n_batches: int = 30,
                                     seed: int | None = 0) -> tuple[float, float]:
    """Fraction of time fewer than ``needed`` of ``datacenters`` are up, by simulation.

    Each data center alternates independently between up periods
    (exponential, mean ``mttf_h``) and repairs (exponential, mean ``mttr_h``)
    and starts up.  The up-count is integrated exactly between events; the
    95 % half-width comes from ``n_batches`` equal slices of the horizon
    (batch means).

    Returns
    -------
    (unavailability, half_width)
    """
    k = check_integer(datacenters, "datacenters", minimum=1, maximum=MAX_COUNT, scalar=True)
    m = check_integer(needed, "needed", minimum=1, maximum=MAX_COUNT, scalar=True)
    if m > k:
        raise ValueError(f"needed must be in [1, datacenters={k}], got {m}")
    f = check_positive(mttf_h, "mttf_h", scalar=True)
    r = check_positive(mttr_h, "mttr_h", scalar=True)
    horizon = check_positive(horizon_h, "horizon_h", scalar=True)
    nb = check_integer(n_batches, "n_batches", minimum=2, maximum=MAX_ELEMENTS, scalar=True)
    cycles = 1.2 * horizon / (f + r)  # up/down cycles drawn per data center, + 50 (inf past the float range)
    if not 2 * k * (cycles + 50) <= MAX_ELEMENTS:
        raise ValueError(f"datacenters * 2 (1.2 horizon_h / (mttf_h + mttr_h) + 50) events must be at most "
                         f"10^8, got {2 * k * (cycles + 50):.3g} (datacenters={k}, horizon_h={horizon:g})")
    if not horizon / nb > 0:  # each batch a slice of positive length (not below the float range)
        raise ValueError(f"horizon_h / n_batches must be a positive number of hours, got {horizon:g} / {nb}")
    rng = np.random.default_rng(seed)
    n_cycles = int(cycles) + 50

    def draw():  # periods beyond the horizon end past it whatever their length: capped, sums stay finite
        return np.minimum(rng.exponential(f, n_cycles), horizon), np.minimum(rng.exponential(r, n_cycles), horizon)

    times, steps = [], []
    for _ in range(k):
        up, down = draw()
        with np.errstate(over="ignore"):  # a cycle that starts past the float range starts past the horizon
            fail = np.cumsum(up + down) - down          # end of each up period
            repair = fail + down
        while repair[-1] < horizon:                  # extremely rare: extend
            more_up, more_down = draw()
            with np.errstate(over="ignore"):
                extra_fail = repair[-1] + np.cumsum(more_up + more_down) - more_down
            fail = np.concatenate((fail, extra_fail))
            repair = np.concatenate((repair, extra_fail + more_down))
        times += [fail, repair]
        steps += [np.full(len(fail), -1), np.full(len(repair), 1)]
    t = np.concatenate(times)
    s = np.concatenate(steps)
    order = np.argsort(t, kind="stable")
    t, s = t[order], s[order]
    keep = t < horizon
    t, s = t[keep], s[keep]
    up_count = k + np.cumsum(s)                     # after each event
    edges = np.concatenate(([0.0], t, [horizon]))
    counts = np.concatenate(([k], up_count))
    down = (counts < m).astype(float)
    # integrate the indicator over each batch slice
    batch_edges = np.linspace(0.0, horizon, nb + 1)
    cum = np.concatenate(([0.0], np.cumsum(down * np.diff(edges))))
    at = np.interp(batch_edges, edges, cum)
    per_batch = np.diff(at) / np.diff(batch_edges)
    mean, half = batch_means_ci(per_batch, nb)
    return mean, half


def replication_delay_floor_ms(distance_km, route_factor: float = 1.0, *, synchronous: bool = False):
    """Least time for a write committed in one region to reach (or be acknowledged by) another.

    Asynchronous replication ships the write one way, so its lag is at
    least half a round trip; synchronous replication waits for the remote
    acknowledgement, adding a full round trip to every commit:

    .. math:: L_{\\text{async}} \\ge \\frac{r D}{v}, \\qquad
              \\Delta T_{\\text{sync}} \\ge \\frac{2 r D}{v}

    with :math:`v \\approx 204` km/ms in fibre (see
    :func:`scaling_lab.geography.rtt_floor_ms`).  No amount of hardware
    lowers it.

    Parameters
    ----------
    distance_km : float or array
        Great-circle distance between the regions, >= 0.
    route_factor : float
        :math:`r \\ge 1`.
    synchronous : bool
        Whether the commit waits for the remote region.
    """
    rtt = rtt_floor_ms(distance_km, route_factor)
    return rtt if synchronous else rtt / 2.0


_MAX_SITES_ENUMERATED = 16


def geo_failover_unavailability(user_lat, user_lon, site_lat, site_lon, utilization: float,
                                dc_unavailability: float, *, max_utilization: float = 1.0, weights=None) -> float:
    """Unavailability of geo-routed data centers whose failed users move to the nearest survivor.

    Every data center :math:`j` is sized for its normal share :math:`s_j` of
    the traffic and runs at utilization :math:`u`.  In an up/down state
    :math:`D` (the set of failed data centers) each user goes to the nearest
    data center that is up, which gives survivor :math:`j` the share
    :math:`s^{(D)}_j` and the utilization :math:`u\\,s^{(D)}_j/s_j`.  The
    service is down in the states where every data center is down or some
    survivor would exceed :math:`u_{\\max}`; with independent failures, each
    data center down a fraction :math:`q` of the time,

    .. math:: U = \\sum_{D:\\ \\text{overloaded}} q^{|D|} (1 - q)^{k - |D|},

    summed exactly over all :math:`2^k` states.  When every data center's
    users spread evenly over the others this is the binomial
    :func:`service_availability`; geography makes it larger, since one
    neighbour takes most of a failed data center's users.

    Parameters
    ----------
    user_lat, user_lon : array
        User (city) coordinates, degrees.
    site_lat, site_lon : array
        The :math:`k` data centers' coordinates, degrees (1 <= k <= 16).
    utilization : float
        Normal utilization :math:`u` of every data center, in [0, 1].
    dc_unavailability : float
        :math:`q` in [0, 1].
    max_utilization : float
        :math:`u_{\\max}` in (0, 1].
    weights : array, optional
        Traffic per user location (default equal).

    Returns
    -------
    float
        The unavailability :math:`U`.

    References
    ----------
    M. Rausand and A. Høyland, *System Reliability Theory*, 2nd ed., 2004 (state enumeration).
    """
    ula, ulo = check_coordinates(user_lat, user_lon, "user_lat", "user_lon")
    sla, slo = check_coordinates(site_lat, site_lon, "site_lat", "site_lon")
    k = len(sla)
    if k > _MAX_SITES_ENUMERATED:
        raise ValueError(f"site_lat must hold at most {_MAX_SITES_ENUMERATED} data centers, got {k}")
    u = check_probability(utilization, "utilization", scalar=True)
    q = check_probability(dc_unavailability, "dc_unavailability", scalar=True)
    u_max = check_in_range(max_utilization, "max_utilization", 0.0, 1.0, low_open=True, scalar=True)
    w = _weights(weights, len(ula))
    d = np.asarray(haversine_km(ula[:, None], ulo[:, None], sla[None, :], slo[None, :]))
    normal = np.bincount(d.argmin(axis=1), weights=w, minlength=k) / w.sum()
    total = 0.0
    for down in itertools.product((False, True), repeat=k):
        down = np.array(down)
        n_down = int(down.sum())
        if n_down == k:
            overloaded = True
        else:
            nearest = np.where(down[None, :], np.inf, d).argmin(axis=1)
            share = np.bincount(nearest, weights=w, minlength=k) / w.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                load = np.where(share > 0, u * share / np.where(normal > 0, normal, 1.0), 0.0)
            load = np.where((normal == 0) & (share > 0), np.inf, load)
            overloaded = bool((load > u_max * (1 + 1e-12)).any())
        if overloaded:
            total += q ** n_down * (1.0 - q) ** (k - n_down)
    return float(min(total, 1.0))


@dataclass(frozen=True)
class DNSFailover:
    """How long clients keep going to a failed data center when geoDNS moves them.

    Health checks notice the failure after ``detection_s``; the DNS answer
    changes then, and each resolver keeps serving its cached answer until it
    expires.  A resolver that refreshes a busy name holds an answer of age
    uniform on [0, TTL] at any moment, so its clients move at a uniformly
    distributed time within one TTL after the change.  A fraction
    ``stale_fraction`` of resolvers ignores the TTL and holds answers for
    ``stale_hold_s`` instead.  The fraction of clients still sent to the
    failed site :math:`t` seconds after the failure is

    .. math:: f(t) = (1 - \\varepsilon)\\Big(1 - \\frac{t - d}{T}\\Big)^+
                     + \\varepsilon\\Big(1 - \\frac{t - d}{H}\\Big)^+ \\quad (t \\ge d),
              \\qquad f(t) = 1 \\quad (t < d),

    and the mean time a client keeps trying the failed site is
    :math:`\\int_0^\\infty f = d + (1-\\varepsilon) T/2 + \\varepsilon H/2`.

    References
    ----------
    P. Mockapetris, RFC 1034 (TTL semantics), 1987; P. Bhowmick, M. I. Ashiq,
    C. Deccio and T. Chung, *TTL violation of DNS resolvers in the wild*, PAM 2023
    (8.7 % of the measured resolvers extended TTLs).
    """

    ttl_s: float
    detection_s: float
    stale_fraction: float
    stale_hold_s: float

    @property
    def mean_exposure_s(self) -> float:
        """Mean seconds a client keeps being sent to the failed site, :math:`d + (1-\\varepsilon)T/2 + \\varepsilon H/2`."""
        e = self.stale_fraction
        return self.detection_s + (1.0 - e) * self.ttl_s / 2.0 + e * self.stale_hold_s / 2.0

    def fraction_on_failed(self, t_s):
        """Fraction of clients still sent to the failed site ``t_s`` seconds after it failed."""
        t = np.asarray(check_nonnegative(t_s, "t_s"), dtype=float)
        after = t - self.detection_s
        e = self.stale_fraction

        def left(hold):
            if hold == 0:
                return (after < 0).astype(float)
            return np.clip(1.0 - after / hold, 0.0, 1.0)

        out = np.where(after < 0, 1.0, (1.0 - e) * left(self.ttl_s) + e * left(self.stale_hold_s))
        return scalar_or_array(out)

    def time_to_move(self, fraction: float = 0.99) -> float:
        """Seconds after the failure until ``fraction`` of the clients have moved (in [0, 1])."""
        p = check_probability(fraction, "fraction", scalar=True)
        target = 1.0 - p                              # fraction still on the failed site
        holds = sorted({self.ttl_s, self.stale_hold_s})
        # f is piecewise linear in t - d with breakpoints at the two holding times
        points = [0.0] + [h for h in holds if h > 0]
        values = [float(self.fraction_on_failed(self.detection_s + x)) for x in points]
        if target >= values[0]:
            return self.detection_s
        for (x0, v0), (x1, v1) in zip(zip(points, values), zip(points[1:], values[1:])):
            if v1 <= target:
                return float(self.detection_s + x0 + (v0 - target) / (v0 - v1) * (x1 - x0))
        return float(self.detection_s + points[-1])


def dns_failover(ttl_s: float, *, detection_s: float = 30.0, stale_fraction: float = 0.0,
                 stale_hold_s: float = 3600.0) -> DNSFailover:
    """The geoDNS failover of :class:`DNSFailover`: detection, then one TTL of cached answers.

    Parameters
    ----------
    ttl_s : float
        Time to live of the DNS answer :math:`T`, seconds, in [0, 10^7].
    detection_s : float
        Seconds :math:`d` until the health checks remove the failed site and
        the answer changes, in [0, 10^7] (see :func:`scaling_lab.healthcheck.detection_time`).
    stale_fraction : float
        :math:`\\varepsilon`, fraction of clients behind resolvers that ignore the TTL, in [0, 1].
    stale_hold_s : float
        Seconds :math:`H` such resolvers hold an answer, in [0, 10^7].
    """
    ttl = check_in_range(ttl_s, "ttl_s", 0.0, 1e7, scalar=True)
    d = check_in_range(detection_s, "detection_s", 0.0, 1e7, scalar=True)
    e = check_probability(stale_fraction, "stale_fraction", scalar=True)
    hold = check_in_range(stale_hold_s, "stale_hold_s", 0.0, 1e7, scalar=True)
    return DNSFailover(float(ttl), float(d), float(e), float(hold))


def writes_at_risk(write_rate: float, lag_s: float = 0.1) -> float:
    """Writes committed in one region but not yet applied in another, on average.

    By Little's law the number of writes in transit is the write rate times
    the mean time a write spends in transit:

    .. math:: N = \\lambda_w\\,E[L].

    They are the writes an asynchronous failover loses (its recovery point
    objective in writes), and the window in which a write in the other region
    can conflict with them.

    Parameters
    ----------
    write_rate : float
        :math:`\\lambda_w`, writes per second, in [0, 10^12].
    lag_s : float
        Mean replication lag :math:`E[L]` in [0, 10^6] seconds (at least half
        a round trip, :func:`replication_delay_floor_ms`).

    References
    ----------
    J. D. C. Little, *A proof for the queuing formula L = λW*, Operations Research 9(3), 1961.
    """
    rate = check_in_range(write_rate, "write_rate", 0.0, 1e12, scalar=True)
    lag = check_in_range(lag_s, "lag_s", 0.0, 1e6, scalar=True)
    return float(rate) * float(lag)
