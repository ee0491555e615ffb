"""Small models the planner's steps share that belong to no one chapter's module.

:func:`zipf_cache_items` sizes a cache for a hit ratio over a Zipf catalogue;
the cached helpers memoise the placement of sites and the capacities that the
steps ask for again and again during a sweep.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from .. import geography
from ..availability import primary_failover
from ..capacity import max_arrival_rate
from ..core.validation import MAX_INT, check_in_range, check_open_probability, check_positive
from ..sharding import expected_skew

__all__ = ["zipf_cache_items"]


def _generalized_harmonic(n, alpha: float):
    """:math:`H_{n,\\alpha} = \\sum_{i=1}^{n} i^{-\\alpha}`: exact below 1000, Euler-Maclaurin above."""
    n = np.asarray(n, dtype=float)
    small = n < 1000
    out = np.empty(n.shape)
    if small.any():
        terms = np.cumsum(np.arange(1, 1001, dtype=float) ** -alpha)
        out[small] = terms[np.maximum(n[small].astype(int), 1) - 1]
    big = ~small
    if big.any():
        m = n[big]
        if abs(alpha - 1.0) < 1e-12:
            core = np.log(m) + np.euler_gamma
        else:
            core = special.zeta(alpha) + m ** (1.0 - alpha) / (1.0 - alpha)
        out[big] = core + 0.5 * m ** -alpha - alpha * m ** (-alpha - 1.0) / 12.0
    return out
def zipf_cache_items(n_items: float, alpha: float, hit_ratio: float) -> int:
    """Objects a cache must hold to reach ``hit_ratio`` on Zipf(``alpha``) requests over ``n_items`` objects.

    A cache holding the :math:`C` most popular objects (perfect LFU, the best
    any policy does under independent requests; the cache chapter) hits with
    probability :math:`h(C) = H_{C,\\alpha} / H_{N,\\alpha}`, with the
    generalized harmonic number :math:`H_{n,\\alpha} = \\sum_{i \\le n} i^{-\\alpha}`
    (Euler-Maclaurin for :math:`n \\ge 1000`, so catalogues of :math:`10^{12}`
    objects cost nothing; at most :math:`2^{53}`).  Returns the least :math:`C` with
    :math:`h(C) \\ge` ``hit_ratio``.

    References
    ----------
    L. Breslau, P. Cao, L. Fan, G. Phillips and S. Shenker, *Web caching and
    Zipf-like distributions: evidence and implications*, INFOCOM 1999.
    """
    # at most 2^53 objects: every count is an exact float, so the bisection ends (53 steps at most)
    n = check_in_range(n_items, "n_items", 0.0, float(MAX_INT), low_open=True, scalar=True)
    a = check_positive(alpha, "alpha", scalar=True)
    h = check_open_probability(hit_ratio, "hit_ratio", scalar=True)
    n = max(1.0, math.floor(n))
    target = h * float(_generalized_harmonic(n, a))
    lo, hi = 0.0, n  # h(lo) < target <= h(hi)
    while hi - lo > 1:
        mid = math.floor((lo + hi) / 2)
        if float(_generalized_harmonic(mid, a)) >= target:
            hi = mid
        else:
            lo = mid
    return int(hi)


@lru_cache(maxsize=256)
def site_placement(user_regions: tuple, max_rtt_ms: float, route_factor: float, min_sites: int):
    """Greedy placement: add the cloud region that most lowers the worst user RTT until it is <= max_rtt_ms.

    Returns the chosen region codes (in the order chosen) and the worst user RTT in ms.
    """
    cities = geography.load_cities()
    users = cities[cities["region"].isin(user_regions)]
    regions = geography.load_cloud_regions()
    chosen: list[int] = []
    worst = math.inf
    while len(chosen) < len(regions) and (worst > max_rtt_ms or len(chosen) < min_sites):
        best = None
        for j in range(len(regions)):
            if j in chosen:
                continue
            trial = chosen + [j]
            _, rtt, _ = geography.nearest_datacenter(
                users["lat"].to_numpy(), users["lon"].to_numpy(), regions["lat"].to_numpy()[trial],
                regions["lon"].to_numpy()[trial], route_factor=route_factor)
            score = (float(rtt.max()), float(rtt.mean()))
            if best is None or score < best[0]:
                best = (score, j)
        chosen.append(best[1])
        worst = best[0][0]
    return tuple(regions["region"].to_numpy()[chosen]), worst


@lru_cache(maxsize=256)
def pool_capacity(service_time_s: float, workers: int, q: float, max_response_s: float) -> float:
    """Largest arrival rate at which ``workers`` M/M/c workers keep the ``q``-quantile response within ``max_response_s``."""
    return max_arrival_rate(1.0 / service_time_s, workers, max_response_quantile=(q, max_response_s))


@lru_cache(maxsize=4096)
def skew(n_keys: int, shards: int) -> float:
    """Expected fullest-shard load over the mean (balls into bins), 1 for one shard."""
    return expected_skew(n_keys, shards) if shards > 1 else 1.0


@lru_cache(maxsize=256)
def shard_unavailability(mttf_h: float, mttr_h: float, failover_s: float, replicas: int) -> float:
    """A lone primary is down while repaired; with a replica, only while failing over."""
    if replicas == 0:
        return mttr_h / (mttf_h + mttr_h)
    return primary_failover(mttf_h, mttr_h, failover_s).unavailability
