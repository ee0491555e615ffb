"""Sharding: how unevenly hashed keys and popular keys load the shards, and what resharding moves.

Keys hashed uniformly to :math:`k` shards give multinomial shard sizes; the
largest shard, not the average, sets the capacity needed.  Popular keys make
it worse: the shard that holds the hottest key carries at least that key's
share (the "celebrity" problem).  Consistent hashing with :math:`v` virtual
nodes per shard evens the ring out as :math:`1/\\sqrt{v}` and moves only
:math:`1/(n+1)` of the keys when a shard is added, where modulo hashing moves
:math:`n/(n+1)` of them.

Hashing here is SplitMix64 (a 64-bit finalizer with full avalanche) applied to
integer keys, salted by ``seed``, vectorized with numpy.

References
----------
G. H. Gonnet, *Expected length of the longest probe sequence in hash code
searching*, J. ACM 28(2), 1981; M. Raab and A. Steger, *"Balls into bins" —
a simple and tight analysis*, RANDOM 1998.
D. Karger, E. Lehman, T. Leighton, R. Panigrahy, M. Levine and D. Lewin,
*Consistent hashing and random trees*, STOC 1997.
D. G. Thaler and C. V. Ravishankar, *Using name-based mappings to increase hit
rates* (rendezvous hashing), IEEE/ACM Trans. Networking 6(1), 1998.
J. Lamping and E. Veach, *A fast, minimal memory, consistent hash algorithm*,
arXiv:1406.2294, 2014.
G. L. Steele, D. Lea and C. H. Flood, *Fast splittable pseudorandom number
generators* (SplitMix64), OOPSLA 2014.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

from .core.validation import (MAX_COUNT, MAX_ELEMENTS, MAX_INT, check_in_range, check_integer, check_nonnegative,
                              check_popularity)

__all__ = [
    "SCHEMES",
    "hash64",
    "expected_max_load",
    "expected_skew",
    "hot_shard_share",
    "simulate_shard_shares",
    "ConsistentHashRing",
    "consistent_hash_share_cv",
    "jump_hash",
    "rendezvous_hash",
    "assign_shards",
    "keys_moved_fraction",
    "simulate_keys_moved",
    "ReshardingCost",
    "resharding_cost",
    "HotKeySplit",
    "hot_key_split",
    "JoinCost",
    "join_cost",
]

SCHEMES = ("modulo", "consistent", "rendezvous", "jump")
_EXACT_LIMIT = 3000
RENDEZVOUS_MAX_SHARDS = 10**4


def _check_keys(keys, name: str) -> np.ndarray:
    """``keys`` as a uint64 array: integers (any integer dtype, taken modulo 2^64) or integer-valued floats."""
    k = np.asarray(keys) if not isinstance(keys, (str, bytes, bool)) else np.asarray(None)
    if k.dtype.kind in "iu":
        if k.size == 0:
            raise ValueError(f"{name} must hold at least one key, got an empty array")
        return k.astype(np.uint64)
    return np.asarray(check_integer(keys, name, minimum=0, maximum=MAX_INT), dtype=np.uint64)


def hash64(keys, seed: int = 0) -> np.ndarray:
    """SplitMix64 hash of integer keys (uint64), salted by ``seed``."""
    s = check_integer(seed, "seed", minimum=0, scalar=True)
    x = _check_keys(keys, "keys").copy().ravel()
    x += np.uint64((0x9E3779B97F4A7C15 * (s + 1)) & 0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x.reshape(np.shape(keys))


# ---------------------------------------------------------------------------
# Balls into bins
# ---------------------------------------------------------------------------
def _poly_pow_trunc(c: np.ndarray, k: int, deg: int) -> np.ndarray:
    result = np.array([1.0])
    base = c[: deg + 1]
    while k:
        if k & 1:
            result = np.convolve(result, base)[: deg + 1]
        k >>= 1
        if k:
            base = np.convolve(base, base)[: deg + 1]
    return result


def _prob_max_at_most(m: int, n: int, k: int) -> float:
    """P(max shard <= m) for n keys in k shards: Poissonize, then condition on the total.

    With independent Poisson(n/k) counts X_j, P(max <= m) = P(all X_j <= m, sum = n) / P(sum = n);
    the numerator is the x^n coefficient of (sum_{j<=m} p_j x^j)^k.
    """
    from scipy import stats  # imported here: it takes about 0.4 s, and only these exact sums need it

    lam = n / k
    pmf = stats.poisson.pmf(np.arange(m + 1), lam)
    coef = _poly_pow_trunc(pmf, k, n)
    if len(coef) <= n:
        return 0.0
    return float(min(1.0, coef[n] / stats.poisson.pmf(n, n)))


def expected_max_load(n_keys: int, shards: int, *, method: str = "auto") -> float:
    """Expected number of keys on the fullest shard when keys are hashed uniformly.

    .. math:: E[\\max_j X_j] = \\sum_{m \\ge 0} \\left(1 - P(\\max_j X_j \\le m)\\right),
              \\qquad (X_1, \\dots, X_k) \\sim \\mathrm{Multinomial}(n; 1/k, \\dots, 1/k)

    ``method="exact"`` computes :math:`P(\\max \\le m)` exactly by
    Poissonization: :math:`P(\\max \\le m) = [x^n]\\big(\\sum_{j\\le m}
    \\pi_j x^j\\big)^k / \\pi^{(n)}_n` with :math:`\\pi` the Poisson(:math:`n/k`)
    pmf and :math:`\\pi^{(n)}_n` the Poisson(:math:`n`) pmf at :math:`n` — a
    truncated polynomial power (used when :math:`n \\le 3000`).
    ``method="approx"`` treats the shards as independent binomials,
    :math:`P(\\max \\le m) \\approx F_{\\mathrm{Bin}(n, 1/k)}(m)^k`; the counts
    are negatively associated, so this is a lower bound on the exact value
    (Joag-Dev and Proschan 1983), low by a fraction of a key to a few keys
    (relative error below 1 % once :math:`n/k \\ge 10`).  For :math:`n \\gg k \\ln k` this behaves like
    :math:`n/k + \\sqrt{2 (n/k) \\ln k}` (Raab and Steger 1998).

    Parameters
    ----------
    n_keys : int
        :math:`n \\ge 1` keys.
    shards : int
        :math:`k \\ge 1` shards.
    method : {"auto", "exact", "approx"}

    References
    ----------
    Gonnet (1981); Raab and Steger (1998); K. Joag-Dev and F. Proschan,
    *Negative association of random variables with applications*, Annals of
    Statistics 11(1), 1983.
    """
    n = check_integer(n_keys, "n_keys", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    k = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    if method not in ("auto", "exact", "approx"):
        raise ValueError(f"method must be 'auto', 'exact' or 'approx', got {method!r}")
    if k == 1:
        return float(n)
    if method == "exact" and n > 20 * _EXACT_LIMIT:
        raise ValueError(f"n_keys must be <= {20 * _EXACT_LIMIT} for method='exact', got {n}")
    from scipy import stats  # imported here: it takes about 0.4 s, and only these sums need it

    low = -(-n // k)  # ceil(n/k): the max is at least this
    sd = np.sqrt(n / k * (1 - 1 / k))
    if method == "exact" or (method == "auto" and n <= _EXACT_LIMIT):
        total = float(low)
        m = low
        while m < n:
            tail = 1.0 - _prob_max_at_most(m, n, k)
            total += tail
            if tail < 1e-15 or k * stats.binom.sf(m, n, 1 / k) < 1e-16:
                break
            m += 1
        return total
    top = int(min(n, low + 20 * sd + 40 * np.log(k) + 50))
    m = np.arange(low, top + 1)
    log_cdf = stats.binom.logcdf(m, n, 1.0 / k)
    return float(low + np.sum(-np.expm1(k * log_cdf)))


def expected_skew(n_keys: int, shards: int, *, method: str = "auto") -> float:
    """Max/mean ratio of shard sizes, :math:`E[\\max_j X_j] / (n/k)`."""
    n = check_integer(n_keys, "n_keys", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    k = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    return expected_max_load(n, k, method=method) * k / n


def hot_shard_share(popularity, shards: int) -> float:
    """Expected traffic share of the shard that holds the most popular key.

    With key popularities :math:`p_i` hashed independently and uniformly to
    :math:`k` shards, the shard of key 1 also receives each other key with
    probability :math:`1/k`:

    .. math:: E[\\text{share}] = p_{1} + \\frac{1 - p_{1}}{k}

    a lower bound on the expected hottest-shard share (and its exact value
    when :math:`p_1` dominates).  Skew (max/mean) is :math:`k` times this.

    Parameters
    ----------
    popularity : array
        Key popularities (normalized here).
    shards : int
        :math:`k \\ge 1`.
    """
    p1 = check_popularity(popularity).max()
    k = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    return float(p1 + (1.0 - p1) / k)


def simulate_shard_shares(popularity, shards: int, *, n_trials: int = 100,
                          seed: int | None = 0) -> np.ndarray:
    """Traffic share of every shard in ``n_trials`` random placements of the keys.

    Returns an array of shape ``(n_trials, shards)``; ``.max(axis=1)`` is
    the hottest shard per placement.
    """
    p = check_popularity(popularity)
    k = check_integer(shards, "shards", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    t = check_integer(n_trials, "n_trials", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    rng = np.random.default_rng(seed)
    out = np.empty((t, k))
    for i in range(t):
        out[i] = np.bincount(rng.integers(0, k, p.size), weights=p, minlength=k)
    return out


# ---------------------------------------------------------------------------
# Consistent, rendezvous and jump hashing
# ---------------------------------------------------------------------------
class ConsistentHashRing:
    """A consistent-hashing ring with ``vnodes`` virtual nodes per shard.

    Virtual node :math:`j` of shard :math:`s` sits at ``hash64(hash64(s * 2^20 + j,
    seed), seed)`` on the :math:`2^{64}` ring; a key belongs to the first virtual node
    clockwise from its hash.  (Hashed twice so that the small integers that name
    virtual nodes never coincide with keys hashed by ``hash64(key, seed)``: hashed
    once, keys ``0 .. vnodes - 1`` would all sit exactly on shard 0's points.)
    Shard identities, not their count, set the positions, so adding shard
    :math:`n` leaves every other virtual node where it was.

    Parameters
    ----------
    shards : int
        Shards 0..n-1.
    vnodes : int
        Virtual nodes per shard, >= 1.
    seed : int
        Salt of the hash.

    References
    ----------
    Karger et al. (1997).
    """

    def __init__(self, shards: int, vnodes: int = 100, seed: int = 0):
        self.shards = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
        self.vnodes = check_integer(vnodes, "vnodes", minimum=1, maximum=2**20 - 1, scalar=True)
        if self.shards * self.vnodes > MAX_ELEMENTS:
            raise ValueError(f"shards * vnodes must be at most {MAX_ELEMENTS:.0e} ring points, got "
                             f"{self.shards} * {self.vnodes}")
        self.seed = check_integer(seed, "seed", minimum=0, scalar=True)
        ids = (np.arange(self.shards, dtype=np.uint64)[:, None] * np.uint64(2**20)
               + np.arange(self.vnodes, dtype=np.uint64)[None, :]).ravel()
        pos = hash64(hash64(ids, self.seed), self.seed)
        order = np.argsort(pos)
        self._points = pos[order]
        self._owner = np.repeat(np.arange(self.shards), self.vnodes)[order]

    def assign(self, key_hashes) -> np.ndarray:
        """Shard of each key, given the keys' 64-bit hashes (uint64)."""
        h = _check_keys(key_hashes, "key_hashes")
        idx = np.searchsorted(self._points, h, side="left") % len(self._points)
        return self._owner[idx]

    @property
    def shares(self) -> np.ndarray:
        """Fraction of the ring (of uniformly hashed keys) each shard owns."""
        pts = self._points.astype(np.float64) / 2.0**64
        arcs = np.diff(np.concatenate(([pts[-1] - 1.0], pts)))  # arc ending at each point
        return np.bincount(self._owner, weights=arcs, minlength=self.shards)

    def __repr__(self) -> str:
        return f"ConsistentHashRing(shards={self.shards}, vnodes={self.vnodes}, seed={self.seed})"


def consistent_hash_share_cv(shards: int, vnodes: int) -> float:
    """Coefficient of variation of a shard's ring share with ``vnodes`` random virtual nodes each.

    The :math:`nv` points cut the ring into Dirichlet(1, ..., 1) arcs, so a
    shard's share (the sum of its :math:`v` arcs) is
    :math:`\\mathrm{Beta}(v, (n-1)v)`, with

    .. math:: \\mathrm{CV} = \\sqrt{\\frac{n - 1}{nv + 1}} \\approx \\frac{1}{\\sqrt{v}}.

    References
    ----------
    Karger et al. (1997); the Dirichlet law of uniform spacings, e.g.
    H. A. David and H. N. Nagaraja, *Order Statistics*, 2003, §6.4.
    """
    n = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    v = check_integer(vnodes, "vnodes", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    return float(np.sqrt((n - 1) / (n * v + 1)))


def jump_hash(key_hashes, shards: int) -> np.ndarray:
    """Lamping–Veach jump consistent hash of 64-bit key hashes into ``shards`` buckets (vectorized)."""
    n = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    key = _check_keys(key_hashes, "key_hashes").ravel().copy()
    b = np.full(key.shape, -1, dtype=np.int64)
    j = np.zeros(key.shape, dtype=np.int64)
    active = np.ones(key.shape, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        b[idx] = j[idx]
        key[idx] = key[idx] * np.uint64(2862933555777941757) + np.uint64(1)
        r = ((key[idx] >> np.uint64(33)) + np.uint64(1)).astype(np.float64)
        j[idx] = np.floor((b[idx] + 1).astype(np.float64) * (2.0**31 / r)).astype(np.int64)
        active[idx] = j[idx] < n
    return b.reshape(np.shape(key_hashes))


def rendezvous_hash(key_hashes, shards: int, seed: int = 0) -> np.ndarray:
    """Highest-random-weight (rendezvous) hashing: the shard maximizing ``hash64(key ^ shard salt)``.

    Every key scores every shard, :math:`O(\\text{keys} \\times \\text{shards})`: ``shards`` is
    bounded by :data:`RENDEZVOUS_MAX_SHARDS` (10^4, a judgement: about a second per thousand keys).
    """
    n = check_integer(shards, "shards", minimum=1, maximum=RENDEZVOUS_MAX_SHARDS, scalar=True)
    h = _check_keys(key_hashes, "key_hashes").ravel()
    salts = hash64(np.arange(n), seed + 1)
    best = np.zeros(h.shape, dtype=np.uint64)
    owner = np.zeros(h.shape, dtype=np.int64)
    for s in range(n):
        w = hash64(h ^ salts[s], seed)
        better = w > best
        best[better] = w[better]
        owner[better] = s
    return owner.reshape(np.shape(key_hashes))


def assign_shards(key_hashes, shards: int, scheme: str, *, vnodes: int = 100, seed: int = 0) -> np.ndarray:
    """Shard of each key (given its 64-bit hash) under ``scheme`` (one of :data:`SCHEMES`)."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    n = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    check_integer(vnodes, "vnodes", minimum=1, maximum=2**20 - 1, scalar=True)
    h = _check_keys(key_hashes, "key_hashes")
    if scheme == "modulo":
        return (h % np.uint64(n)).astype(np.int64)
    if scheme == "consistent":
        return ConsistentHashRing(n, vnodes, seed).assign(h)
    if scheme == "rendezvous":
        return rendezvous_hash(h, n, seed)
    return jump_hash(h, n)


def keys_moved_fraction(old_shards: int, new_shards: int, scheme: str = "consistent") -> float:
    """Expected fraction of keys that change shard when resharding from ``old_shards`` to ``new_shards``.

    * ``"modulo"`` (``hash mod n``): a key stays iff
      :math:`h \\bmod n = h \\bmod m`, i.e. (Chinese remainder theorem)
      :math:`h \\bmod \\mathrm{lcm}(n, m) < \\min(n, m)`, so

      .. math:: \\text{moved} = 1 - \\frac{\\min(n, m)}{\\mathrm{lcm}(n, m)}

      — :math:`n/(n+1)` when adding one shard.
    * ``"consistent"``, ``"rendezvous"``, ``"jump"``: only the keys that must
      move do, in expectation :math:`|m - n| / \\max(n, m)` — :math:`1/(n+1)`
      when adding one shard.

    References
    ----------
    Karger et al. (1997); Thaler and Ravishankar (1998); Lamping and Veach (2014).
    """
    n = check_integer(old_shards, "old_shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    m = check_integer(new_shards, "new_shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if scheme == "modulo":
        lcm = n * m // gcd(n, m)
        return 1.0 - min(n, m) / lcm
    return abs(m - n) / max(n, m)


def simulate_keys_moved(old_shards: int, new_shards: int, scheme: str, *, n_keys: int = 100_000,
                        vnodes: int = 100, seed: int = 0) -> float:
    """Fraction of ``n_keys`` hashed keys whose shard changes, by actually hashing them.

    The shard counts are bounded as :func:`assign_shards` bounds them under
    ``scheme``: at most :data:`RENDEZVOUS_MAX_SHARDS` for rendezvous hashing, at
    most ``MAX_ELEMENTS // vnodes`` for a consistent-hash ring (one point per
    virtual node), else :data:`~scaling_lab.core.validation.MAX_COUNT`.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    v = check_integer(vnodes, "vnodes", minimum=1, maximum=2**20 - 1, scalar=True)
    top = {"rendezvous": RENDEZVOUS_MAX_SHARDS, "consistent": MAX_ELEMENTS // v}.get(scheme, MAX_COUNT)
    old_shards = check_integer(old_shards, "old_shards", minimum=1, maximum=top, scalar=True)
    new_shards = check_integer(new_shards, "new_shards", minimum=1, maximum=top, scalar=True)
    k = check_integer(n_keys, "n_keys", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    h = hash64(np.arange(k), seed)
    before = assign_shards(h, old_shards, scheme, vnodes=vnodes, seed=seed)
    after = assign_shards(h, new_shards, scheme, vnodes=vnodes, seed=seed)
    return float(np.mean(before != after))


# ---------------------------------------------------------------------------
# Operating a sharded store: resharding, hot keys, cross-shard joins
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ReshardingCost:
    """What moving keys between shards costs (see :func:`resharding_cost`).

    Attributes
    ----------
    moved_fraction : float
        Share of the keys (and bytes) that change shard.
    moved_gb : float
        Gigabytes copied.
    copy_time_s : float
        Seconds until the busiest receiving shard has ingested its part.
    double_writes : float
        Writes applied twice (old and new place) while the copy runs.
    write_load_factor : float
        Cluster write load during the copy relative to normal, :math:`1 + f`.
    """

    moved_fraction: float
    moved_gb: float
    copy_time_s: float
    double_writes: float
    write_load_factor: float


def resharding_cost(old_shards: int, new_shards: int, scheme: str = "consistent", *, data_gb: float = 8000.0,
                    copy_mb_per_s: float = 100.0, write_rate: float = 1000.0) -> ReshardingCost:
    """Copy time and double writes of resharding ``data_gb`` from ``old_shards`` to ``new_shards``.

    A fraction :math:`f` (:func:`keys_moved_fraction`) of the :math:`D`
    gigabytes changes shard.  The receiving shards copy in parallel, each
    ingesting at most :math:`r` MB/s (a throttle that protects live
    traffic), so the copy lasts as long as the busiest receiver needs for its
    share :math:`g` of the keys:

    .. math:: T_{\\text{copy}} = \\frac{1000\\,g D}{r}, \\qquad
              W_{\\text{double}} = \\lambda_w f\\, T_{\\text{copy}}, \\qquad
              \\text{write load} = 1 + f,

    since until a key's copy is complete its writes go to both places.  When
    growing (:math:`m > n`) every new shard receives its full share,
    :math:`g = 1/m`, under any scheme; modulo hashing moves far more data in
    total (every old shard also trades keys, :math:`g = (1 - m/\\mathrm{lcm}(n, m))/m`
    each) and so doubles far more writes.  When shrinking, consistent-style
    schemes spread the removed shards over the survivors,
    :math:`g = (n - m)/(nm)`.  Keys are assumed equal in size and write rate.

    Parameters
    ----------
    old_shards, new_shards : int
        :math:`n` and :math:`m` in [1, 10^9].
    scheme : str
        One of ``SCHEMES``.
    data_gb : float
        Total data :math:`D` in [0, 10^12] GB.
    copy_mb_per_s : float
        Ingest rate :math:`r` per receiving shard in (0, 10^9] MB/s.
    write_rate : float
        :math:`\\lambda_w` in [0, 10^12] writes per second over the cluster.

    References
    ----------
    DeCandia et al. (2007), sec. 4.9 (adding and removing nodes); Kleppmann (2017), ch. 6 (rebalancing).
    """
    moved = keys_moved_fraction(old_shards, new_shards, scheme)
    n, m = int(old_shards), int(new_shards)
    d = check_in_range(data_gb, "data_gb", 0.0, 1e12, scalar=True)
    rate = check_in_range(copy_mb_per_s, "copy_mb_per_s", 0.0, 1e9, low_open=True, scalar=True)
    w = check_in_range(write_rate, "write_rate", 0.0, 1e12, scalar=True)
    if m > n:
        busiest = 1.0 / m
    elif m == n:
        busiest = 0.0
    elif scheme == "modulo":
        busiest = (1.0 - m / (n * m // gcd(n, m))) / m
    else:
        busiest = (n - m) / (n * m)
    moved_gb = moved * float(d)
    copy_s = 1000.0 * busiest * float(d) / float(rate)
    return ReshardingCost(moved, moved_gb, copy_s, float(w) * moved * copy_s, 1.0 + moved)


@dataclass(frozen=True)
class HotKeySplit:
    """A hot key spread over ``splits`` places (see :func:`hot_key_split`).

    Attributes
    ----------
    hot_shard_ops : float
        Expected operations on the hottest shard per request (the bound of
        :func:`hot_shard_share` applied to operations, times their number);
        :math:`1/k` is a shard's fair share before the split.
    ops_amplification : float
        Operations per request over the cluster, relative to 1 without the split.
    read_fanout, write_fanout : int
        Places one read and one write of the hot key touch.
    """

    hot_shard_ops: float
    ops_amplification: float
    read_fanout: int
    write_fanout: int


def hot_key_split(popularity, shards: int, splits: int = 16, read_fraction: float = 0.9, *,
                  strategy: str = "copies") -> HotKeySplit:
    """The price of splitting the most popular key: a hot shard cooled by extra operations.

    Key 1 receives a share :math:`p_1` of the requests, a fraction
    :math:`\\rho` of them reads.  It is spread over :math:`m` places on
    different shards in one of two ways:

    * ``"copies"``: :math:`m` replicas; a read goes to one, a write to all
      :math:`m`.  Each place receives :math:`p_1(\\rho/m + 1 - \\rho)` and the
      cluster :math:`1 + p_1(1-\\rho)(m-1)` operations per request;
    * ``"suffixes"``: :math:`m` sub-keys (a random suffix on write); a write
      goes to one, a read gathers all :math:`m`.  Each place receives
      :math:`p_1(\\rho + (1-\\rho)/m)` and the cluster :math:`1 + p_1\\rho(m-1)`.

    Copies suit read-hot keys (a celebrity's profile), suffixes write-hot
    ones (a like counter); the wrong choice cools nothing, because every
    place still sees every operation of the dominant kind.

    Parameters
    ----------
    popularity : array
        Key popularities (normalized here); the largest is the hot key.
    shards : int
        :math:`k \\ge 1`.
    splits : int
        :math:`m` in [1, 10^6].
    read_fraction : float
        :math:`\\rho` in [0, 1].
    strategy : str
        ``"copies"`` or ``"suffixes"``.

    References
    ----------
    Kleppmann (2017), ch. 6 (skewed workloads and relieving hot spots);
    Nishtala et al. (2013) (replicating hot keys).
    """
    p = np.asarray(check_nonnegative(popularity, "popularity"), dtype=float).ravel()
    with np.errstate(over="ignore"):  # a sum past the float range is refused by name, without a warning
        total = p.sum()
    if not total > 0 or not np.isfinite(total):
        raise ValueError("popularity must contain a positive value and a finite sum")
    k = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    m = check_integer(splits, "splits", minimum=1, maximum=10**6, scalar=True)
    r = float(check_in_range(read_fraction, "read_fraction", 0.0, 1.0, scalar=True))
    if strategy not in ("copies", "suffixes"):
        raise ValueError(f"strategy must be 'copies' or 'suffixes', got {strategy!r}")
    p = p / p.sum()
    top = int(p.argmax())
    p1 = float(p[top])
    if strategy == "copies":
        per_place, total, fan_r, fan_w = p1 * (r / m + 1 - r), 1 + p1 * (1 - r) * (m - 1), 1, m
    else:
        per_place, total, fan_r, fan_w = p1 * (r + (1 - r) / m), 1 + p1 * r * (m - 1), m, 1
    ops = np.concatenate([np.full(m, per_place), np.delete(p, top)]) / total
    return HotKeySplit(hot_shard_share(ops, k) * float(total), float(total), fan_r, fan_w)


@dataclass(frozen=True)
class JoinCost:
    """Operations per request of a cross-shard join, answered by scatter-gather or by de-normalized copies.

    Attributes
    ----------
    scatter_ops_per_request : float
        :math:`\\rho k + (1 - \\rho)`.
    denormalized_ops_per_request : float
        :math:`\\rho + (1 - \\rho) d`.
    break_even_read_fraction : float
        :math:`\\rho^* = (d - 1)/(k + d - 2)`: de-normalizing costs fewer
        operations above it.
    """

    scatter_ops_per_request: float
    denormalized_ops_per_request: float
    break_even_read_fraction: float


def join_cost(shards: int, read_fraction: float = 0.9, copies: int = 2) -> JoinCost:
    """Scatter-gather join against de-normalization, counted in shard operations.

    A query joins rows that live on different shards (a user's orders,
    sharded by order id).  Normalized, a read must ask all :math:`k` shards
    and a write touches one; de-normalized, the joined rows are also stored
    with the key the query uses, :math:`d` copies in all, so a read touches
    one shard and a write all :math:`d` copies:

    .. math:: \\text{ops}_{\\text{scatter}} = \\rho k + (1 - \\rho), \\qquad
              \\text{ops}_{\\text{denorm}} = \\rho + (1 - \\rho) d,

    equal at :math:`\\rho^* = (d-1)/(k+d-2)`.  The scatter-gather read also
    pays the tail of the slowest of :math:`k` shards
    (:func:`scaling_lab.tails.max_of_k_quantile`); the de-normalized copy pays
    in storage and in copies that can disagree until every write has landed.

    Parameters
    ----------
    shards : int
        :math:`k` in [1, 10^9].
    read_fraction : float
        :math:`\\rho` in [0, 1].
    copies : int
        :math:`d` in [1, 10^6] places each joined row is written to.

    References
    ----------
    Kleppmann (2017), ch. 2-3 (joins, de-normalization) and ch. 6 (partitioning secondary indexes).
    """
    k = check_integer(shards, "shards", minimum=1, maximum=MAX_COUNT, scalar=True)
    r = float(check_in_range(read_fraction, "read_fraction", 0.0, 1.0, scalar=True))
    d = check_integer(copies, "copies", minimum=1, maximum=10**6, scalar=True)
    scatter = r * k + (1 - r)
    denorm = r + (1 - r) * d
    even = (d - 1) / (k + d - 2) if k + d > 2 else 0.0
    return JoinCost(float(scatter), float(denorm), float(even))
