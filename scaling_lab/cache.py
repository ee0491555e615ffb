"""Caches: popularity, hit ratios (analytic and exact), and what a hit ratio buys.

A cache in front of a backend answers a fraction :math:`h` of requests (the hit
ratio); the backend sees the rest, :math:`(1-h)\\lambda`.  The hit ratio
depends on what is requested (the popularity of the items) and on what the
cache keeps (its size and replacement policy).

Popularity is modelled as Zipf, :math:`p_i \\propto i^{-\\alpha}`, or taken
from observed counts or a request trace.  Under the independent reference
model (IRM: every request picks item :math:`i` with probability :math:`p_i`,
independently) the hit ratio of an LRU cache of :math:`C` items follows from
Che's characteristic time :math:`T_C`, the time an item survives in the cache
without being requested:

.. math:: \\sum_i \\left(1 - e^{-p_i T_C}\\right) = C, \\qquad
          h_{\\mathrm{LRU}} = \\sum_i p_i \\left(1 - e^{-p_i T_C}\\right).

FIFO and RANDOM replacement obey the same equation with
:math:`1 - e^{-p T}` replaced by :math:`pT/(1 + pT)` (Fricker, Robert and
Roberts 2012), and perfect LFU keeps the :math:`C` most popular items.

Exact answers come from simulating a trace: :func:`simulate_hit_ratio` for
LRU, LFU, FIFO and RANDOM, and :func:`lru_hit_ratio_curve` for the LRU hit
ratio at *every* cache size from one pass over the trace (Mattson's stack
algorithm: a request hits an LRU cache of size :math:`C` exactly when fewer
than :math:`C` distinct items were requested since the previous request for
the same item).  The inner loops are compiled with numba when it is installed;
without it the stack distances are computed by a vectorized merge sort and
the other policies by plain Python loops.

References
----------
H. Che, Y. Tung and Z. Wang, *Hierarchical Web caching systems: modeling,
design and experimental results*, IEEE JSAC 20(7), 2002.
C. Fricker, P. Robert and J. Roberts, *A versatile and accurate approximation
for LRU cache performance*, ITC 24, 2012.
R. L. Mattson, J. Gecsei, D. R. Slutz and I. L. Traiger, *Evaluation
techniques for storage hierarchies*, IBM Systems Journal 9(2), 1970.
B. T. Bennett and V. J. Kruskal, *LRU stack processing*, IBM J. Res. Dev.
19(4), 1975 (stack distances with a tree over last-access times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .core.validation import (MAX_COUNT, MAX_ELEMENTS, check_in_range, check_integer, check_nonnegative, check_popularity,
                              check_positive, check_probability)
from .queueing import MMc
from .capacity import servers_needed
from .core.compiled import HAVE_NUMBA, njit
from .core.arrays import proportions, scalar_or_array

__all__ = [
    "CACHE_POLICIES",
    "zipf_popularity",
    "popularity_from_counts",
    "popularity_from_trace",
    "irm_trace",
    "characteristic_time",
    "hit_ratio",
    "ttl_hit_ratio",
    "ttl_stale_hit_probability",
    "stack_distances",
    "lru_hit_ratio_curve",
    "simulate_hit_ratio",
    "backend_rate",
    "mean_latency",
    "backend_mean_latency",
    "CacheFailure",
    "cache_failure",
    "ttl_cache_items",
    "effective_ttl_s",
    "bounded_ttl_hit_ratio",
    "CONSISTENCY_STRATEGIES",
    "staleness_window",
    "ExpiryStampede",
    "expiry_stampede",
    "slab_chunk_bytes",
    "cache_memory_bytes",
]

CACHE_POLICIES = ("lru", "lfu", "fifo", "random")


# ---------------------------------------------------------------------------
# Popularity
# ---------------------------------------------------------------------------
def zipf_popularity(n_items: int, alpha: float) -> np.ndarray:
    """Zipf popularity of ``n_items`` items ranked by popularity.

    .. math:: p_i = \\frac{i^{-\\alpha}}{\\sum_{j=1}^{n} j^{-\\alpha}},
              \\qquad i = 1, \\dots, n.

    Computed as :math:`\\exp(-\\alpha \\ln i)` and normalized with numpy's
    pairwise summation, so it is accurate (relative error ~1e-15 per item, sum
    1 to ~1e-15) for :math:`10^7` items and any :math:`\\alpha \\ge 0`,
    including :math:`\\alpha = 1` where no closed form of the normalizer exists.

    Parameters
    ----------
    n_items : int
        Catalogue size :math:`n \\ge 1`.
    alpha : float
        Skew :math:`\\alpha \\ge 0` (0 is uniform; web objects are typically
        0.6-1.0).

    Returns
    -------
    numpy.ndarray
        :math:`p_1 \\ge p_2 \\ge \\dots \\ge p_n`, summing to 1.

    References
    ----------
    L. Breslau, P. Cao, L. Fan, G. Phillips and S. Shenker, *Web caching and
    Zipf-like distributions: evidence and implications*, INFOCOM 1999.
    """
    n = check_integer(n_items, "n_items", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    a = check_nonnegative(alpha, "alpha", scalar=True)
    with np.errstate(over="ignore"):  # alpha ln k past the float range: weight 0, the limit alpha -> inf
        w = np.exp(-a * np.log(np.arange(1, n + 1, dtype=float)))
    # Sum from the smallest term up: the tail is summed before the large head.
    return w / np.sum(w[::-1])


def popularity_from_counts(counts) -> np.ndarray:
    """Empirical popularity from request counts per item, sorted in decreasing order.

    .. math:: \\hat p_i = n_i / \\sum_j n_j

    Items never requested (count 0) are dropped: under the IRM they are never
    cached and never requested.

    Parameters
    ----------
    counts : array of int or float
        Non-negative request counts, at least one positive.
    """
    c = np.asarray(check_nonnegative(counts, "counts"), dtype=float).ravel()
    if not c.max() > 0:
        raise ValueError("counts must contain at least one positive count")
    return np.sort(proportions(c)[c > 0])[::-1]


def popularity_from_trace(trace) -> np.ndarray:
    """Empirical popularity of the items of a request trace (sequence of item ids >= 0)."""
    t = _check_trace(trace)
    return popularity_from_counts(np.bincount(t))


def irm_trace(popularity, n_requests: int, *, seed: int | None = 0) -> np.ndarray:
    """A request trace from the independent reference model.

    Request :math:`k` is item :math:`i` (0-based rank) with probability
    :math:`p_i`, independently of all other requests.

    Parameters
    ----------
    popularity : array
        Item probabilities (normalized here if they do not sum to 1).
    n_requests : int
        Length of the trace.
    seed : int or None
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray of int64
        Item ids.
    """
    p = check_popularity(popularity)
    n = check_integer(n_requests, "n_requests", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(idx, len(p) - 1).astype(np.int64)


# ---------------------------------------------------------------------------
# Analytic hit ratios (IRM)
# ---------------------------------------------------------------------------
def _occupancy(policy: str):
    """Probability that an item of popularity p is cached, as a function of x = p T."""
    if policy == "lru":
        return lambda x: -np.expm1(-x)

    def fifo(x):  # and random; x = inf (p T past the float range) is cached for sure
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(x), 1.0, x / (1.0 + x))
    return fifo


def characteristic_time(popularity, cache_size: int, policy: str = "lru") -> float:
    """Che's characteristic time :math:`T_C` of an LRU (or FIFO / RANDOM) cache.

    Solves, for :math:`T > 0`,

    .. math:: \\sum_i \\left(1 - e^{-p_i T}\\right) = C \\quad\\text{(LRU)}, \\qquad
              \\sum_i \\frac{p_i T}{1 + p_i T} = C \\quad\\text{(FIFO, RANDOM)}.

    The left side increases from 0 to the number of items with
    :math:`p_i > 0`, so the root is unique; it is bracketed between
    :math:`T = C` (where the left side is at most :math:`C`) and a doubling
    upper bound, and found by Brent's method on :math:`\\ln T`.  :math:`T` is
    measured in requests (divide by the request rate for seconds).

    Parameters
    ----------
    popularity : array
        Item probabilities (normalized here).
    cache_size : int
        :math:`C`, items, smaller than the number of items with
        :math:`p_i > 0` (a cache that holds every item has :math:`T = \\infty`).
    policy : {"lru", "fifo", "random"}

    References
    ----------
    Che, Tung and Wang (2002); Fricker, Robert and Roberts (2012).
    """
    p = check_popularity(popularity)
    c = _check_cache_size(cache_size, len(p), scalar=True)
    if policy not in ("lru", "fifo", "random"):
        raise ValueError(f"policy must be 'lru', 'fifo' or 'random', got {policy!r}")
    return _solve_t(p[p > 0], c, policy)


def _solve_t(p: np.ndarray, c: int, policy: str) -> float:
    if c >= len(p):
        return np.inf
    occ = _occupancy(policy)

    def g(log_t: float) -> float:
        with np.errstate(over="ignore"):  # T past the float range: every item with p > 0 is cached
            x = p * np.exp(log_t)
        return float(np.sum(occ(x))) - c

    lo = np.log(c)  # sum occ(p T) <= sum p T = T, so g(ln C) <= 0
    hi = lo + 1.0
    while g(hi) < 0:
        hi += max(1.0, hi - lo)
    if g(lo) >= 0:
        return float(c)
    root = optimize.brentq(g, lo, hi, xtol=1e-13, rtol=1e-14, maxiter=500)
    with np.errstate(over="ignore"):  # a root past the float range is T = inf
        return float(np.exp(root))


def hit_ratio(popularity, cache_size, policy: str = "lru"):
    """Steady-state hit ratio of a cache under the independent reference model.

    * ``"lru"``: Che's approximation,
      :math:`h = \\sum_i p_i (1 - e^{-p_i T_C})` with :math:`T_C` from
      :func:`characteristic_time`;
    * ``"fifo"``, ``"random"``: :math:`h = \\sum_i p_i \\frac{p_i T_C}{1 + p_i T_C}`
      (Fricker, Robert and Roberts 2012; FIFO and RANDOM have the same
      stationary hit ratio under the IRM, Gelenbe 1973);
    * ``"lfu"``: perfect LFU keeps the :math:`C` most popular items,
      :math:`h = \\sum_{i \\le C} p_{(i)}`, the best any policy can do under
      the IRM.

    A cache as large as the catalogue has :math:`h = 1` (after warm-up).

    Parameters
    ----------
    popularity : array
        Item probabilities (normalized here; order does not matter).
    cache_size : int or array of int
        :math:`C` in items, :math:`1 \\le C \\le n`; an array gives the curve.
    policy : {"lru", "lfu", "fifo", "random"}

    Returns
    -------
    float or numpy.ndarray
        Hit ratio in [0, 1].

    References
    ----------
    Che, Tung and Wang (2002); Fricker, Robert and Roberts (2012);
    E. Gelenbe, *A unified approach to the evaluation of a class of replacement
    algorithms*, IEEE Trans. Computers C-22(6), 1973.
    """
    p = check_popularity(popularity)
    sizes = _check_cache_size(cache_size, len(p))
    if policy not in CACHE_POLICIES:
        raise ValueError(f"policy must be one of {CACHE_POLICIES}, got {policy!r}")
    p = np.sort(p[p > 0])[::-1]
    flat = np.atleast_1d(sizes).ravel()
    out = np.empty(flat.shape, dtype=float)
    if policy == "lfu":
        head = np.concatenate(([0.0], np.cumsum(p)))
        out[:] = np.minimum(head[np.minimum(flat, len(p))], 1.0)
    else:
        occ = _occupancy(policy)
        for k, c in enumerate(flat):
            t = _solve_t(p, int(c), policy)
            out[k] = 1.0 if np.isinf(t) else float(np.sum(p * occ(p * t)))
    out = np.clip(out, 0.0, 1.0)
    return float(out[0]) if np.ndim(sizes) == 0 else out.reshape(np.shape(sizes))


def ttl_hit_ratio(arrival_rate, ttl_s, *, reset_on_hit: bool = False):
    """Hit ratio of one object in a TTL cache fed by Poisson requests.

    Without reset (HTTP ``max-age``: the copy expires ``ttl_s`` after it was
    fetched), each miss starts a period of length :math:`T` in which every
    request hits, so by renewal-reward

    .. math:: h = \\frac{\\lambda T}{1 + \\lambda T}.

    With ``reset_on_hit`` (the timer restarts at every request, the TTL
    analogue of LRU) an item is cached iff it was requested in the last
    :math:`T`, so :math:`h = 1 - e^{-\\lambda T}`.  For a whole catalogue
    weight per-object hit ratios by request rate:
    :math:`h = \\sum_i \\lambda_i h_i / \\sum_i \\lambda_i`.

    Parameters
    ----------
    arrival_rate : float or array
        :math:`\\lambda`, requests per second for this object, >= 0.
    ttl_s : float or array
        :math:`T`, seconds, >= 0.
    reset_on_hit : bool

    References
    ----------
    N. C. Fofack, P. Nain, G. Neglia and D. Towsley, *Analysis of TTL-based
    cache networks*, VALUETOOLS 2012.
    """
    lam = np.asarray(check_nonnegative(arrival_rate, "arrival_rate"), dtype=float)
    t = np.asarray(check_nonnegative(ttl_s, "ttl_s"), dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # lambda*T past the float range is the limit inf: h = 1
        x = lam * t
        h = -np.expm1(-x) if reset_on_hit else np.where(np.isinf(x), 1.0, x / (1.0 + x))
    return scalar_or_array(h)


def ttl_stale_hit_probability(arrival_rate, ttl_s, update_rate, *,
                              reset_on_hit: bool = False):
    """Probability that a hit in a TTL cache returns a stale copy.

    The origin updates the object as a Poisson process of rate :math:`\\mu`
    and does not invalidate the cache; a hit is stale if an update happened
    between the fetch of the cached copy and the hit.

    Without reset, a hit's age is uniform on :math:`(0, T)` (Poisson arrivals
    in the TTL period), so

    .. math:: P(\\text{stale} \\mid \\text{hit}) = 1 - \\frac{1 - e^{-\\mu T}}{\\mu T}.

    With reset on hit, the copy keeps living while gaps between requests are
    shorter than :math:`T`; with :math:`q = 1 - e^{-\\lambda T}` and
    :math:`r = \\frac{\\lambda}{\\lambda + \\mu}(1 - e^{-(\\lambda + \\mu) T})`
    (the probability, resp. the Laplace transform at :math:`\\mu`, of a gap
    below :math:`T`), summing over the geometric number of hits per fetch gives

    .. math:: P(\\text{stale} \\mid \\text{hit}) = 1 - \\frac{r (1 - q)}{q (1 - r)}.

    Parameters
    ----------
    arrival_rate : float or array
        :math:`\\lambda` > 0.
    ttl_s : float or array
        :math:`T` > 0 seconds.
    update_rate : float or array
        :math:`\\mu` >= 0 updates per second at the origin.
    reset_on_hit : bool

    References
    ----------
    Fofack et al. (2012); S. M. Ross, *Introduction to Probability Models*,
    renewal-reward theorem.
    """
    lam = np.asarray(check_positive(arrival_rate, "arrival_rate"), dtype=float)
    t = np.asarray(check_positive(ttl_s, "ttl_s"), dtype=float)
    mu = np.asarray(check_nonnegative(update_rate, "update_rate"), dtype=float)
    if not reset_on_hit:
        with np.errstate(over="ignore"):  # mu T past the float range: fresh -> 0, the limit
            x = mu * t
        with np.errstate(invalid="ignore", divide="ignore"):
            fresh = np.where(x > 1e-12, -np.expm1(-x) / np.where(x > 1e-12, x, 1.0), 1.0 - x / 2.0)
        s = 1.0 - fresh
    else:
        q = -np.expm1(-lam * t)
        r = lam / (lam + mu) * -np.expm1(-(lam + mu) * t)
        s = (q - r) / (q * (1.0 - r))  # = 1 - r(1-q)/(q(1-r))
    s = np.clip(s, 0.0, 1.0)
    return scalar_or_array(s)


# ---------------------------------------------------------------------------
# Exact trace simulation
# ---------------------------------------------------------------------------
@njit(cache=True)
def _stack_distance_kernel(trace, n_items, n_distinct):  # pragma: no cover - compiled
    """Bennett-Kruskal: a Fenwick tree marks each item's last-access slot.

    The distance of a re-reference is the number of marks after the item's
    own slot.  Slots are handed out in time order from a tree of 2M + 1
    positions (M distinct items); when they run out the marks are renumbered
    0..M-1 in order and the tree rebuilt, so the tree stays small (cache
    friendly) whatever the trace length.
    """
    n = trace.shape[0]
    cap = 2 * n_distinct + 1
    tree = np.zeros(cap + 1, dtype=np.int32)
    slot = np.full(n_items, -1, dtype=np.int64)
    owner = np.full(cap, -1, dtype=np.int64)
    out = np.full(n, -1, dtype=np.int64)
    marks = 0
    nxt = 0
    for t in range(n):
        x = trace[t]
        s = slot[x]
        if s >= 0:
            below = 0  # marks at slots <= s
            i = s + 1
            while i > 0:
                below += tree[i]
                i -= i & (-i)
            out[t] = marks - below
            i = s + 1
            while i <= cap:
                tree[i] -= 1
                i += i & (-i)
            owner[s] = -1
            marks -= 1
        if nxt == cap:  # renumber live slots 0..marks-1 in order, rebuild the tree
            k = 0
            for j in range(cap):
                y = owner[j]
                if y >= 0:
                    owner[j] = -1
                    owner[k] = y
                    slot[y] = k
                    k += 1
            nxt = k
            tree[:] = 0
            for j in range(1, cap + 1):  # linear-time Fenwick build
                if j <= k:
                    tree[j] += 1
                parent = j + (j & (-j))
                if parent <= cap:
                    tree[parent] += tree[j]
        slot[x] = nxt
        owner[nxt] = x
        i = nxt + 1
        while i <= cap:
            tree[i] += 1
            i += i & (-i)
        nxt += 1
        marks += 1
    return out


def _count_earlier_smaller(v: np.ndarray) -> np.ndarray:
    """c[i] = #{j < i : v[j] < v[i]} for a permutation v of 0..m-1 (vectorized merge sort).

    Level k merges consecutive time blocks of 2^k elements, each kept sorted by
    value; an element of the right block gains the number of left-block
    elements that precede it in the merged order.
    """
    m = v.size
    val = v.astype(np.int64)
    cnt = np.zeros(m, dtype=np.int64)
    pos = np.arange(m, dtype=np.int64)
    k = 0
    while (1 << k) < m:
        h = 1 << k
        order = np.argsort((pos >> (k + 1)) * m + val, kind="stable")
        from_right = (order >> k) & 1
        cnt = cnt[order] + from_right * (pos - order + h)
        val = val[order]
        k += 1
    return cnt[v]


def _stack_distances_numpy(prev: np.ndarray) -> np.ndarray:
    """Stack distances without compiled code.

    With s = prev[t], the distance is the number of j in (s, t) with
    prev[j] < s (first references in the window), which equals
    #{j < t : prev[j] < s} - (s + 1).  The first term is the number of
    first references before t plus a count of earlier-smaller values among
    re-references, done by :func:`_count_earlier_smaller`.
    """
    n = prev.size
    out = np.full(n, -1, dtype=np.int64)
    rep = np.flatnonzero(prev >= 0)
    if rep.size == 0:
        return out
    first_before = np.cumsum(prev < 0) - (prev < 0)  # first references strictly before t
    s = prev[rep]
    is_prev = np.zeros(n, dtype=np.int64)
    is_prev[s] = 1
    rank = np.cumsum(is_prev)[s] - 1  # s -> 0..m-1 preserving order
    earlier = _count_earlier_smaller(rank)
    out[rep] = first_before[rep] + earlier - (s + 1)
    return out


def _previous_reference(t: np.ndarray) -> np.ndarray:
    n = t.size
    key = t * n + np.arange(n, dtype=np.int64)
    key.sort()
    item = key // n
    when = key - item * n
    prev = np.full(n, -1, dtype=np.int64)
    same = item[1:] == item[:-1]
    prev[when[1:][same]] = when[:-1][same]
    return prev


def stack_distances(trace, *, compiled: bool | None = None) -> np.ndarray:
    """LRU stack distance of every request of a trace.

    The stack distance of a request is the number of *distinct* other items
    requested since the previous request for the same item (``-1`` for a
    first request: infinite distance).  The request hits an LRU cache of
    :math:`C` items iff its distance is below :math:`C` (Mattson et al. 1970).

    Parameters
    ----------
    trace : array of int
        Item ids >= 0.
    compiled : bool, optional
        Force the numba Fenwick-tree kernel (True) or the numpy merge-sort
        path (False); by default the kernel when numba is installed.
        Both are exact, :math:`O(n \\log n)`.

    References
    ----------
    Mattson et al. (1970); Bennett and Kruskal (1975).
    """
    t = _check_trace(trace)
    use_kernel = HAVE_NUMBA if compiled is None else bool(compiled)
    if use_kernel:
        counts = np.bincount(t)
        return _stack_distance_kernel(t, len(counts), int(np.count_nonzero(counts)))
    return _stack_distances_numpy(_previous_reference(t))


def lru_hit_ratio_curve(trace, *, warmup_fraction: float = 0.0,
                        compiled: bool | None = None) -> np.ndarray:
    """Exact LRU hit ratio of a trace for every cache size, from one pass.

    .. math:: h(C) = \\frac{1}{N}\\,\\#\\{\\text{requests with stack distance} < C\\}

    Parameters
    ----------
    trace : array of int
        Item ids >= 0.
    warmup_fraction : float
        Leading fraction of requests not counted (their references still fill
        the cache), in [0, 0.9]; use it to compare with steady-state models.
    compiled : bool, optional
        See :func:`stack_distances`.

    Returns
    -------
    numpy.ndarray
        ``curve[C]`` is the hit ratio of an LRU cache of ``C`` items, for
        ``C = 0, ..., n_distinct`` (``curve[0] = 0``).

    References
    ----------
    Mattson et al. (1970).
    """
    warm = check_in_range(warmup_fraction, "warmup_fraction", 0.0, 0.9, scalar=True)
    t = _check_trace(trace)
    d = stack_distances(t, compiled=compiled)
    n_distinct = int(np.count_nonzero(np.bincount(t)))
    skip = int(len(t) * warm)
    measured = d[skip:]
    hist = np.bincount(measured[measured >= 0], minlength=n_distinct)
    return np.concatenate(([0.0], np.cumsum(hist) / len(measured)))


@njit(cache=True)
def _replacement_kernel(trace, n_items, c, skip, draws):  # pragma: no cover - compiled
    """FIFO (``draws`` empty: evict the oldest insertion) or RANDOM (evict slot ``int(draws[k] * c)``).

    Both ignore hits; they differ only in which slot a miss overwrites.
    """
    cached = np.zeros(n_items, dtype=np.bool_)
    slots = np.empty(c, dtype=np.int64)
    fifo = draws.shape[0] == 0
    head = 0
    filled = 0
    hits = 0
    for k in range(trace.shape[0]):
        x = trace[k]
        if cached[x]:
            if k >= skip:
                hits += 1
        else:
            if filled < c:
                slots[filled] = x
                filled += 1
            else:
                if fifo:
                    j = head
                    head += 1
                    if head == c:
                        head = 0
                else:
                    j = int(draws[k] * c)
                cached[slots[j]] = False
                slots[j] = x
            cached[x] = True
    return hits


@njit(cache=True)
def _lfu_before(a, b, count, last):  # pragma: no cover - compiled
    """Item ``a`` leaves an LFU cache before ``b``: fewer requests, or as many and an older last one."""
    return count[a] < count[b] or (count[a] == count[b] and last[a] < last[b])


@njit(cache=True)
def _heap_swap(heap, where, i, j):  # pragma: no cover - compiled
    """Swap heap slots i and j of an indexed heap (``where`` maps an item to its slot)."""
    a, b = heap[i], heap[j]
    heap[i], heap[j] = b, a
    where[a], where[b] = j, i


@njit(cache=True)
def _lfu_kernel(trace, n_items, c, skip):  # pragma: no cover - compiled
    """Perfect LFU: the cache holds the C items with the most requests so far.

    Indexed binary min-heap of cached items keyed by (request count, time of
    last request), i.e. ties go to the least recently used; a missed item
    replaces the heap top only if its count is strictly larger.
    """
    count = np.zeros(n_items, dtype=np.int64)
    last = np.zeros(n_items, dtype=np.int64)
    where = np.full(n_items, -1, dtype=np.int64)
    heap = np.empty(c, dtype=np.int64)
    size = 0
    hits = 0
    for k in range(trace.shape[0]):
        x = trace[k]
        count[x] += 1
        last[x] = k
        if where[x] >= 0:
            if k >= skip:
                hits += 1
            pos = where[x]
        elif size < c:
            pos = size
            heap[pos] = x
            where[x] = pos
            size += 1
            while pos > 0:  # sift up
                parent = (pos - 1) >> 1
                if _lfu_before(heap[parent], heap[pos], count, last):
                    break
                _heap_swap(heap, where, parent, pos)
                pos = parent
            continue
        elif count[x] > count[heap[0]]:
            where[heap[0]] = -1
            heap[0] = x
            where[x] = 0
            pos = 0
        else:
            continue
        while True:  # sift down from pos (its key grew)
            child = 2 * pos + 1
            if child >= size:
                break
            if child + 1 < size and _lfu_before(heap[child + 1], heap[child], count, last):
                child += 1
            if _lfu_before(heap[pos], heap[child], count, last):
                break
            _heap_swap(heap, where, pos, child)
            pos = child
    return hits


def simulate_hit_ratio(policy: str, cache_size: int, *, trace=None, popularity=None,
                       n_requests: int | None = None, seed: int | None = 0,
                       warmup_fraction: float = 0.0) -> float:
    """Exact hit ratio of a cache replaying a trace.

    Policies: ``"lru"`` (evict the least recently used), ``"lfu"`` (perfect
    LFU: keep the items with the most requests so far, counting evicted
    items too; a missed item enters only if its count beats the least
    counted cached item, ties among cached items going to the least recently
    used), ``"fifo"`` (evict the oldest insertion, hits do not
    reorder) and ``"random"`` (evict a uniformly random cached item).  The
    cache starts empty.

    Parameters
    ----------
    policy : {"lru", "lfu", "fifo", "random"}
    cache_size : int
        Items the cache holds, >= 1 and at most the number of distinct items
        (of the trace, or of ``popularity``).
    trace : array of int, optional
        Item ids >= 0.  Either this or ``popularity`` with ``n_requests``.
    popularity : array, optional
        Draw an IRM trace of ``n_requests`` requests (:func:`irm_trace`).
    seed : int or None
        Seeds the IRM trace and the RANDOM evictions.
    warmup_fraction : float
        Leading fraction of requests not counted, in [0, 0.9].

    Returns
    -------
    float
        Hits / counted requests.
    """
    if policy not in CACHE_POLICIES:
        raise ValueError(f"policy must be one of {CACHE_POLICIES}, got {policy!r}")
    warm = check_in_range(warmup_fraction, "warmup_fraction", 0.0, 0.9, scalar=True)
    if (trace is None) == (popularity is None):
        raise ValueError("give exactly one of trace or popularity (with n_requests)")
    rng = np.random.default_rng(seed)
    if trace is None:
        if n_requests is None:
            raise ValueError("n_requests is required with popularity")
        p = check_popularity(popularity)
        n_catalogue = int(np.count_nonzero(p))
        t = irm_trace(p, n_requests, seed=rng)
    else:
        t = _check_trace(trace)
        n_catalogue = int(np.count_nonzero(np.bincount(t)))
    c = _check_cache_size(cache_size, n_catalogue, scalar=True, items="popularity" if trace is None else "trace")
    skip = int(len(t) * warm)
    counted = len(t) - skip
    if policy == "lru":
        curve = lru_hit_ratio_curve(t, warmup_fraction=warm)
        return float(curve[min(c, len(curve) - 1)])
    n_items = int(t.max()) + 1
    if policy == "fifo":
        hits = _replacement_kernel(t, n_items, c, skip, np.empty(0))
    elif policy == "random":
        hits = _replacement_kernel(t, n_items, c, skip, rng.random(len(t)))
    else:
        hits = _lfu_kernel(t, n_items, c, skip)
    return float(hits) / counted


# ---------------------------------------------------------------------------
# Consequences for the backend
# ---------------------------------------------------------------------------
def backend_rate(arrival_rate, hit_ratio):
    """Request rate reaching the backend behind a cache: :math:`(1 - h)\\lambda`."""
    lam = check_nonnegative(arrival_rate, "arrival_rate")
    h = check_probability(hit_ratio, "hit_ratio")
    out = np.asarray(lam) * (1.0 - np.asarray(h))
    return scalar_or_array(out)


def mean_latency(hit_ratio, hit_latency_s, miss_latency_s):
    """Mean latency of a cached service: :math:`h\\,t_{hit} + (1 - h)\\,t_{miss}` seconds.

    ``miss_latency_s`` is the whole time of a miss (cache lookup plus backend).
    """
    h = np.asarray(check_probability(hit_ratio, "hit_ratio"))
    th = np.asarray(check_nonnegative(hit_latency_s, "hit_latency_s"))
    tm = np.asarray(check_nonnegative(miss_latency_s, "miss_latency_s"))
    out = h * th + (1.0 - h) * tm
    return scalar_or_array(out)


def backend_mean_latency(arrival_rate, hit_ratio, *, cache_latency_s: float,
                         backend_service_rate: float, backend_servers: int):
    """Mean latency when misses queue at an M/M/c backend.

    .. math:: E[T] = t_{cache} + (1 - h)\\,E[T_{M/M/c}]\\big((1-h)\\lambda, \\mu, c\\big)

    Every request pays the cache lookup; misses also pay the backend's mean
    response time (:class:`~scaling_lab.queueing.MMc`).  ``inf`` when the
    backend is overloaded.  Broadcasts over ``hit_ratio`` and the rate.

    References
    ----------
    Kleinrock (1975), §3.5 for the M/M/c response time.
    """
    lam = np.asarray(check_positive(arrival_rate, "arrival_rate"), dtype=float)
    h = np.asarray(check_probability(hit_ratio, "hit_ratio"), dtype=float)
    tc = check_nonnegative(cache_latency_s, "cache_latency_s", scalar=True)
    mu = check_positive(backend_service_rate, "backend_service_rate", scalar=True)
    c = check_integer(backend_servers, "backend_servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    lam, h = np.broadcast_arrays(lam, h)
    miss = lam * (1.0 - h)
    out = np.full(lam.shape, tc, dtype=float)
    some = miss > 0
    if some.any():
        resp = np.asarray(MMc(miss[some], mu, c).mean_response, dtype=float)
        out[some] = tc + (1.0 - h[some]) * resp
    return scalar_or_array(out)


@dataclass(frozen=True)
class CacheFailure:
    """What the backend faces when the cache is lost (cold start or cache outage).

    Attributes
    ----------
    backend_rate_normal, backend_rate_cold : float
        Requests per second reaching the backend with the warm cache and with
        no cache (the full rate).
    load_multiplier : float
        :math:`1/(1-h)`, the factor by which backend load jumps.
    servers_normal, servers_cold : int
        Backend servers needed (least stable count, or meeting
        ``max_mean_wait_s`` if given) in each case.
    utilization_cold_with_normal_servers : float
        Utilization of the normally sized backend at the full rate (>= 1
        means it collapses).
    """

    backend_rate_normal: float
    backend_rate_cold: float
    load_multiplier: float
    servers_normal: int
    servers_cold: int
    utilization_cold_with_normal_servers: float

    @property
    def headroom_servers(self) -> int:
        """Extra servers the backend needs to survive losing the cache."""
        return self.servers_cold - self.servers_normal


def cache_failure(arrival_rate: float, hit_ratio: float, backend_service_rate: float,
                  *, max_mean_wait_s: float | None = None) -> CacheFailure:
    """Backend sizing for the day the cache is empty.

    With the cache, the backend sees :math:`(1-h)\\lambda`; after a cache
    restart or outage it sees :math:`\\lambda`, :math:`1/(1-h)` times more
    (10x for :math:`h = 0.9`).  Servers are sized with
    :func:`~scaling_lab.capacity.servers_needed` for both rates.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda` > 0.
    hit_ratio : float
        :math:`h` in [0, 1).
    backend_service_rate : float
        :math:`\\mu` per backend server.
    max_mean_wait_s : float, optional
        Mean-wait target for sizing; without it the least stable count.
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    h = check_in_range(hit_ratio, "hit_ratio", 0.0, 1.0, high_open=True, scalar=True)
    mu = check_positive(backend_service_rate, "backend_service_rate", scalar=True)
    if not lam / mu < MAX_COUNT:  # the cold backend's least stable count is past the counts of a model
        raise ValueError(f"arrival_rate / backend_service_rate must be below 10^9 (the most servers a model "
                         f"counts), got {lam:g} / {mu:g}")
    kw = {} if max_mean_wait_s is None else {"max_mean_wait_s": max_mean_wait_s}
    normal = lam * (1.0 - h)
    c_normal = servers_needed(normal, mu, **kw) if normal > 0 else 1
    c_cold = servers_needed(lam, mu, **kw)
    return CacheFailure(normal, lam, 1.0 / (1.0 - h), int(c_normal), int(c_cold), lam / (mu * c_normal))


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
def _check_trace(trace) -> np.ndarray:
    t = np.asarray(trace)
    if t.ndim != 1 or t.size == 0:
        raise ValueError("trace must be a non-empty 1-d sequence of item ids")
    if np.issubdtype(t.dtype, np.integer) and t.dtype != np.uint64:
        if t.min() < 0:
            raise ValueError("trace must hold item ids >= 0")
        return t.astype(np.int64, copy=False)
    return np.asarray(check_integer(t, "trace", minimum=0, maximum=MAX_ELEMENTS), dtype=np.int64)


def _check_cache_size(cache_size, n_items: int, *, scalar: bool = False, items: str = "popularity"):
    c = check_integer(cache_size, "cache_size", minimum=1, maximum=MAX_ELEMENTS, scalar=scalar)
    if np.any(np.asarray(c) > n_items):
        raise ValueError(f"cache_size must be in [1, {n_items}] (the number of items in {items}), got {cache_size!r}")
    return c


# ---------------------------------------------------------------------------
# TTL caches of bounded size, consistency on writes, stampedes, bytes
# ---------------------------------------------------------------------------
def ttl_cache_items(popularity, arrival_rate: float, ttl_s: float) -> float:
    """Mean number of live copies in a TTL cache with unbounded memory.

    Item :math:`i`, requested at :math:`\\lambda_i = p_i\\lambda`, is cached
    for :math:`T` after each miss and absent for a mean :math:`1/\\lambda_i`
    after, so by renewal-reward it is cached a fraction
    :math:`\\lambda_i T/(1 + \\lambda_i T)` of the time, and the cache holds

    .. math:: \\bar N = \\sum_i \\frac{\\lambda_i T}{1 + \\lambda_i T}

    items on average: the memory the TTL hit ratio :func:`ttl_hit_ratio` assumes.

    Parameters
    ----------
    popularity : array
        Item probabilities (normalized here).
    arrival_rate : float
        :math:`\\lambda > 0`, requests per second for the whole catalogue.
    ttl_s : float
        :math:`T \\ge 0`, seconds.

    References
    ----------
    Fofack et al. (2012).
    """
    p = check_popularity(popularity)
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    t = check_nonnegative(ttl_s, "ttl_s", scalar=True)
    with np.errstate(over="ignore"):  # lambda_i T past the float range: the item is always cached
        x = p * lam * t
    return float(np.sum(_occupancy("fifo")(x)))


def effective_ttl_s(popularity, arrival_rate: float, ttl_s: float, cache_size: int) -> float:
    """Seconds a copy lives in a cache of ``cache_size`` items with a TTL and FIFO eviction.

    A copy leaves at the first of two clocks started when it is inserted: its
    TTL :math:`T`, and its eviction by FIFO (or RANDOM) replacement, which
    under Che's approximation happens a characteristic time :math:`T_C` after
    insertion (:func:`characteristic_time`, here in seconds: requests divided
    by :math:`\\lambda`).  If the TTL cache would fit
    (:func:`ttl_cache_items` :math:`\\le C`) the TTL decides; otherwise the
    memory does, and every copy lives

    .. math:: T_{eff} = \\min\\big(T,\\ T_C^{\\text{FIFO}}(C)/\\lambda\\big).

    Parameters
    ----------
    popularity : array
    arrival_rate : float
        :math:`\\lambda > 0`, requests per second.
    ttl_s : float
        :math:`T \\ge 0`, seconds.
    cache_size : int
        :math:`C`, items.

    References
    ----------
    Fricker, Robert and Roberts (2012); Fofack et al. (2012).
    """
    p = check_popularity(popularity)
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    t = check_nonnegative(ttl_s, "ttl_s", scalar=True)
    c = _check_cache_size(check_integer(cache_size, "cache_size", minimum=1, maximum=MAX_COUNT, scalar=True), len(p))
    if ttl_cache_items(p, lam, t) <= c:
        return float(t)
    return float(min(t, characteristic_time(p, c, "fifo") / lam))


def bounded_ttl_hit_ratio(popularity, arrival_rate: float, ttl_s: float, cache_size: int) -> float:
    """Hit ratio of a cache with both a TTL and a size limit (FIFO eviction).

    .. math:: h = \\sum_i p_i \\frac{\\lambda_i T_{eff}}{1 + \\lambda_i T_{eff}}

    with :math:`T_{eff}` from :func:`effective_ttl_s`.  It equals
    :func:`ttl_hit_ratio` summed over the catalogue when memory holds every
    live copy, and :func:`hit_ratio` with policy ``"fifo"`` when the TTL is
    longer than the eviction time.  (An LRU cache keeps popular items a
    little longer; its hit ratio is a few points higher.)
    """
    p = check_popularity(popularity)
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    t_eff = effective_ttl_s(p, lam, ttl_s, cache_size)
    with np.errstate(over="ignore", invalid="ignore"):  # lambda_i T past the float range: always a hit
        x = p * lam * t_eff
        return float(np.sum(np.where(np.isinf(x), p, p * x / (1.0 + x))))


CONSISTENCY_STRATEGIES = ("ttl", "invalidate", "write_through")


def staleness_window(strategy: str, *, arrival_rate: float, ttl_s: float, update_rate: float,
                     update_delay_s: float = 0.0, fetch_s: float = 0.0) -> float:
    """Mean seconds of stale cache after one write to a key, for three consistency strategies.

    One key is read at :math:`\\lambda` per second (Poisson), written at
    :math:`\\mu` per second, and cached with a TTL :math:`T` (no reset); it is
    cached a fraction :math:`h = \\lambda T/(1 + \\lambda T)` of the time and
    missed at :math:`\\lambda_m = \\lambda/(1 + \\lambda T)` per second.  A
    miss reads the database and fills the cache :math:`t_f` later with a
    set-if-absent (``add``); a write reaches the cache :math:`d` after its
    commit.  The expected time :math:`W` after a write during which a read
    returns the old value is, to first order in the small probabilities:

    * ``"ttl"`` (no action on write): the cached copy lives out its TTL,
      :math:`W = h\\,T/2`;
    * ``"write_through"`` (the writer sets the new value):
      :math:`W = h\\,d`; a fill in flight cannot overwrite it, ``add`` fails;
    * ``"invalidate"`` (the writer deletes the key): :math:`W = h\\,d +
      \\lambda_m (t_f - d)^+ \\cdot E[\\min(T, \\mathrm{Exp}(\\mu))]`: a fill that
      read the old value before the commit and lands after the delete puts the
      old value back until it expires or the next write deletes it, with
      :math:`E[\\min(T, \\mathrm{Exp}(\\mu))] = (1 - e^{-\\mu T})/\\mu`.

    Reads are Poisson, so the fraction of reads that are stale is :math:`\\mu W`
    (for ``"ttl"`` this is the first-order term of :func:`ttl_stale_hit_probability`
    times :math:`h`).  Leases (Nishtala et al. 2013) remove the invalidation race.

    Parameters
    ----------
    strategy : {"ttl", "invalidate", "write_through"}
    arrival_rate : float
        :math:`\\lambda > 0`, reads of the key per second.
    ttl_s : float
        :math:`T > 0`, seconds.
    update_rate : float
        :math:`\\mu \\ge 0`, writes of the key per second.
    update_delay_s : float
        :math:`d \\ge 0`, seconds from the commit until the set or delete reaches the cache.
    fetch_s : float
        :math:`t_f \\ge 0`, seconds from a miss's database read until its fill reaches the cache.

    References
    ----------
    R. Nishtala et al., *Scaling Memcache at Facebook*, NSDI 2013, §3.2.1 (stale
    sets, leases); Fofack et al. (2012).
    """
    if strategy not in CONSISTENCY_STRATEGIES:
        raise ValueError(f"strategy must be one of {CONSISTENCY_STRATEGIES}, got {strategy!r}")
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    t = check_positive(ttl_s, "ttl_s", scalar=True)
    mu = check_nonnegative(update_rate, "update_rate", scalar=True)
    d = check_nonnegative(update_delay_s, "update_delay_s", scalar=True)
    tf = check_nonnegative(fetch_s, "fetch_s", scalar=True)
    h = 1.0 / (1.0 + 1.0 / (lam * t))  # lambda T / (1 + lambda T), finite for huge values
    if strategy == "ttl":
        return float(h * t / 2)
    if strategy == "write_through":
        return float(h * d)
    miss_rate = 1.0 / (1.0 / lam + t)
    stale_life = t if mu == 0 else -np.expm1(-mu * t) / mu
    return float(h * d + miss_rate * max(tf - d, 0.0) * stale_life)


@dataclass(frozen=True)
class ExpiryStampede:
    """Result of :func:`expiry_stampede` for one key (rates per second).

    Attributes
    ----------
    misses_per_expiry : float
        :math:`1 + \\lambda t_f`: the miss that starts the fetch and those arriving during it.
    fetch_rate, fetch_rate_coalesced : float
        Database queries per second for the key without and with request coalescing.
    hit_ratio : float
        :math:`\\lambda T / (1 + \\lambda t_f + \\lambda T)`.
    mean_coalesced_wait_s : float
        :math:`t_f/2`: how long a coalesced request waits for the fetch in flight.
    """

    misses_per_expiry: float
    fetch_rate: float
    fetch_rate_coalesced: float
    hit_ratio: float
    mean_coalesced_wait_s: float


def expiry_stampede(arrival_rate: float, ttl_s: float, fetch_s: float) -> ExpiryStampede:
    """The stampede on one key when its copy expires, with and without request coalescing.

    After the copy expires, the next request misses and fetches the value,
    which takes :math:`t_f`; every request arriving meanwhile misses too
    (Poisson: :math:`\\lambda t_f` of them on average) and, without
    coalescing, sends its own query.  The value then lives :math:`T`.  One
    cycle lasts :math:`t_f + T + 1/\\lambda`, so

    .. math:: \\text{fetches/s} = \\frac{1 + \\lambda t_f}{t_f + T + 1/\\lambda}, \\qquad
              \\text{coalesced} = \\frac{1}{t_f + T + 1/\\lambda}, \\qquad
              h = \\frac{\\lambda T}{1 + \\lambda t_f + \\lambda T}.

    With coalescing (one fetch per key in flight, the others wait for it) the
    database sees one query per expiry, and each waiting request waits
    :math:`t_f/2` on average (its arrival is uniform within the fetch).

    Parameters
    ----------
    arrival_rate : float
        :math:`\\lambda > 0`, requests per second for the key.
    ttl_s : float
        :math:`T \\ge 0`, seconds.
    fetch_s : float
        :math:`t_f \\ge 0`, seconds one fetch takes (query or computation).

    References
    ----------
    Nishtala et al. (2013), §3.2.1 (thundering herds, leases); A. Vattani,
    F. Chierichetti and K. Lowenstein, *Optimal probabilistic cache stampede
    prevention*, PVLDB 8(8), 2015.
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    t = check_nonnegative(ttl_s, "ttl_s", scalar=True)
    tf = check_nonnegative(fetch_s, "fetch_s", scalar=True)
    cycle = tf + t + 1.0 / lam
    misses = 1.0 + lam * tf
    return ExpiryStampede(float(misses), float(misses / cycle), float(1.0 / cycle),
                          float(t / cycle), float(tf / 2))


def slab_chunk_bytes(item_bytes, *, growth_factor: float = 1.25, min_chunk_bytes: int = 96,
                     page_bytes: int = 1 << 20):
    """Bytes memcached's slab allocator reserves for an item of ``item_bytes`` (header, key and value included).

    Slab classes start at ``min_chunk_bytes`` and grow by ``growth_factor``,
    each size rounded up to a multiple of 8, until half a page; the last
    class is a whole page.  An item takes a chunk of the smallest class that
    holds it, so memory per item is up to ``growth_factor`` times its size.

    Parameters
    ----------
    item_bytes : int or array of int
        Stored size of each item, 1 to ``page_bytes``.
    growth_factor : float
        Memcached's ``-f``, > 1 (default 1.25).
    min_chunk_bytes : int
        Smallest chunk (96 bytes with the default ``-n 48``).
    page_bytes : int
        Slab page (``-I``, 1 MiB).

    References
    ----------
    memcached ``slabs.c`` (``slabs_init``) and its ``-vv`` start-up listing of
    slab classes: 96, 120, 152, 192, 240, 304, 384, 480, 600, 752, 944, 1184 ... bytes.
    """
    f = check_in_range(growth_factor, "growth_factor", 1.0, 4.0, low_open=True, scalar=True)
    page = check_integer(page_bytes, "page_bytes", minimum=1024, maximum=1 << 30, scalar=True)
    smallest = check_integer(min_chunk_bytes, "min_chunk_bytes", minimum=8, maximum=page // 2, scalar=True)
    size = np.asarray(check_integer(item_bytes, "item_bytes", minimum=1, maximum=page), dtype=np.int64)
    sizes, s = [], smallest
    while s <= page // 2:
        sizes.append(s)
        s = int(math.ceil(s * f / 8.0) * 8) if int(math.ceil(s * f / 8.0) * 8) > s else s + 8
    sizes.append(page)
    classes = np.array(sizes, dtype=np.int64)
    out = classes[np.searchsorted(classes, size)]
    return int(out) if out.ndim == 0 else out


def cache_memory_bytes(n_items: int, value_bytes: float, *, key_bytes: int = 40, header_bytes: int = 56,
                       growth_factor: float = 1.25) -> float:
    """Memory a memcached-like cache needs for ``n_items`` items: chunks, not only values.

    .. math:: M = n \\cdot \\text{chunk}(h + k + v)

    with :math:`h` the item header (56 bytes in memcached with CAS), :math:`k`
    the key and :math:`v` the value, rounded up to a slab chunk by
    :func:`slab_chunk_bytes`.

    Parameters
    ----------
    n_items : int
        Items to hold, >= 1.
    value_bytes : float
        Mean value size, bytes (> 0); rounded up to whole bytes.
    key_bytes, header_bytes : int
        Per-item key and header bytes.
    growth_factor : float
        Slab growth factor.
    """
    n = check_integer(n_items, "n_items", minimum=1, maximum=MAX_COUNT, scalar=True)
    v = check_positive(value_bytes, "value_bytes", scalar=True)
    k = check_integer(key_bytes, "key_bytes", minimum=1, maximum=250, scalar=True)
    h = check_integer(header_bytes, "header_bytes", minimum=0, maximum=1024, scalar=True)
    item = int(math.ceil(v)) + k + h
    if item > (1 << 20):
        raise ValueError(f"value_bytes must keep an item within one 1 MiB slab page, got {value_bytes!r}")
    return float(n * slab_chunk_bytes(item, growth_factor=growth_factor))
