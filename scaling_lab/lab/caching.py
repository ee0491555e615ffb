"""Chapter 6 in the lab: a real Redis as an eviction cache, against exact simulation and Che.

A Redis server (:class:`~scaling_lab.lab.redis_server.Redis`) with a memory
limit and an eviction policy answers an IRM request stream of Zipf
popularity (:func:`scaling_lab.cache.irm_trace`).  Every request is one
``SET key value NX GET`` (Redis ≥ 7.0): it returns the cached value (a hit,
and the key's recency/frequency is updated) or nil after storing the value
(a miss filled at once, cache-aside in one round trip).

Cache size.  ``maxmemory`` is in bytes; it is set to the memory of the empty
server plus :math:`C` times the measured cost of one key (``INFO memory`` with
and without ``n`` keys loaded).  Client buffers and allocator slack count
against the limit too, so the number of keys Redis actually holds
(``DBSIZE``, sampled while counting) is recorded and the exact simulation is
run at that size as well as at :math:`C`.

Models, on the same request stream: the exact hit ratio of true LRU, LFU and
RANDOM replacement (:func:`scaling_lab.cache.simulate_hit_ratio`), and the
analytic ones (:func:`scaling_lab.cache.hit_ratio`: Che's approximation for
LRU, Fricker–Robert–Roberts for RANDOM, the ideal LFU).

Redis does not run true LRU: it samples ``maxmemory-samples`` keys and evicts
the one idle longest by its LRU clock, which has a resolution of one second.
When the cache turns over in well under a second (the *characteristic time*
:math:`T_C/\\lambda` of :func:`scaling_lab.cache.characteristic_time`, in
seconds at request rate :math:`\\lambda`), all sampled keys look equally old
and ``allkeys-lru`` evicts like RANDOM; paced so that :math:`T_C/\\lambda` is
many seconds, it approaches true LRU.  Both regimes are measured.

References
----------
Redis documentation, "Key eviction" (approximated LRU, LFU, ``maxmemory-samples``)
and the ``SET`` command; Che, Tung and Wang (2002); Fricker, Robert and
Roberts (2012).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..cache import characteristic_time, hit_ratio, irm_trace, simulate_hit_ratio, zipf_popularity
from ._checks import check_in_range, check_integer
from .redis_server import Redis

__all__ = ["REDIS_POLICIES", "measure_key_bytes", "measure_hit_ratio", "run_redis_hit_ratio"]

#: (Redis policy, maxmemory-samples, the exact policy it imitates)
REDIS_POLICIES = (("allkeys-lru", 5, "lru"), ("allkeys-lru", 10, "lru"), ("allkeys-lfu", 5, "lfu"),
                  ("allkeys-random", 5, "random"))
VALUE = b"v" * 100
BATCH = 500


def _key(i: int) -> str:
    return f"item:{i}"


def measure_key_bytes(n_keys: int = 20_000) -> tuple[float, int]:
    """(bytes of memory per cached key, bytes used by the empty server) from ``INFO memory``."""
    n_keys = check_integer(n_keys, "n_keys", minimum=100, maximum=10**7)
    with Redis() as r, r.client() as c:
        base = int(c.info("memory")["used_memory"])
        pipe = c.pipeline(transaction=False)
        for i in range(n_keys):
            pipe.set(_key(i), VALUE)
            if (i + 1) % BATCH == 0:
                pipe.execute()
        pipe.execute()
        full = int(c.info("memory")["used_memory"])
    return (full - base) / n_keys, base


def measure_hit_ratio(trace: np.ndarray, maxmemory_bytes: int, *, policy: str = "allkeys-lru", samples: int = 5,
                      warmup_fraction: float = 0.3, pace_rate: float | None = None,
                      max_duration_s: float = 600.0) -> dict:
    """Replay ``trace`` (item ids) against a fresh Redis; hit ratio after the warm-up and the keys it held.

    ``pace_rate`` None sends pipelined batches as fast as the client can;
    otherwise requests go out at ``pace_rate`` per second (batches every 20 ms).
    The run is cut after ``max_duration_s`` (then ``complete`` is False).
    """
    trace = np.asarray(trace)
    warm = check_in_range(warmup_fraction, "warmup_fraction", 0.0, 0.9)
    if pace_rate is not None:
        pace_rate = check_in_range(pace_rate, "pace_rate", 1.0, 10**7)
    max_duration_s = check_in_range(max_duration_s, "max_duration_s", 0.0, 7200.0, low_open=True)
    skip = int(len(trace) * warm)
    step = BATCH if pace_rate is None else max(1, int(round(pace_rate * 0.02)))
    hits, counted, held = 0, 0, []
    with Redis(maxmemory_bytes=maxmemory_bytes, policy=policy, samples=samples) as r, r.client() as c:
        pipe = c.pipeline(transaction=False)
        t0 = time.monotonic()
        t_count = None
        done = 0
        for b0 in range(0, len(trace), step):
            if pace_rate is not None:
                rest = t0 + b0 / pace_rate - time.monotonic()
                if rest > 0:
                    time.sleep(rest)
            if time.monotonic() - t0 > max_duration_s:
                break
            chunk = trace[b0:b0 + step]
            for i in chunk:
                pipe.set(_key(int(i)), VALUE, nx=True, get=True)
            replies = pipe.execute()
            if b0 + len(chunk) > skip:
                if t_count is None:
                    t_count = time.monotonic()
                keep = replies[max(0, skip - b0):]
                hits += sum(x is not None for x in keep)
                counted += len(keep)
                if (b0 // step) % 20 == 0:
                    held.append(int(c.dbsize()))
            done = b0 + len(chunk)
        elapsed = time.monotonic() - (t_count or t0)
        stats = c.info("stats")
    return {"policy": policy, "samples": samples, "maxmemory_bytes": int(maxmemory_bytes),
            "hit_ratio": hits / counted if counted else np.nan, "counted": counted,
            "keys_held": float(np.mean(held)) if held else np.nan, "evicted": int(stats["evicted_keys"]),
            "request_rate": counted / elapsed if elapsed > 0 else np.nan, "complete": done == len(trace)}


def run_redis_hit_ratio(quick: bool, seed: int) -> dict:
    """Experiment ``redis-hit-ratio``: Redis policies against exact simulation and the analytic models."""
    alpha, warm = 0.8, 0.3
    if quick:
        n_items, fractions, n_req, policies = 20_000, (0.05,), 150_000, (REDIS_POLICIES[0], REDIS_POLICIES[3])
        paced = ()
    else:
        n_items, fractions, n_req, policies = 100_000, (0.01, 0.02, 0.05, 0.1, 0.2), 500_000, REDIS_POLICIES
        paced = ((0.05, REDIS_POLICIES[0]), (0.05, REDIS_POLICIES[3]))
    pop = zipf_popularity(n_items, alpha)
    per_key, base = measure_key_bytes(20_000)
    rows = []

    def one(frac, pol, trace, pace):
        name, samples, exact = pol
        size = int(round(frac * n_items))
        m = measure_hit_ratio(trace, int(base + size * per_key), policy=name, samples=samples,
                              warmup_fraction=warm, pace_rate=pace)
        held = int(round(m["keys_held"]))
        row = {"regime": "fast (pipelined)" if pace is None else "paced", "cache_fraction": frac, "cache_items": size,
               "alpha": alpha, "n_items": n_items, **m, "imitates": exact,
               "turnover_s": characteristic_time(pop, size, "lru") / m["request_rate"]}
        # RANDOM's eviction draws get their own seed: drawn from the trace's seed they would replay the
        # very uniforms that picked the requested items, and evict in step with the requests
        sim_seed = seed + 10_007
        for p in ("lru", "lfu", "random"):
            row[f"exact_{p}"] = simulate_hit_ratio(p, size, trace=trace, seed=sim_seed, warmup_fraction=warm)
            row[f"exact_{p}_held"] = simulate_hit_ratio(p, max(1, held), trace=trace, seed=sim_seed,
                                                        warmup_fraction=warm)
        row["che_lru"] = hit_ratio(pop, size, "lru")
        row["frr_random"] = hit_ratio(pop, size, "random")
        row["ideal_lfu"] = hit_ratio(pop, size, "lfu")
        row["model"] = {"lru": row["che_lru"], "random": row["frr_random"], "lfu": row["ideal_lfu"]}[exact]
        rows.append(row)

    for k, frac in enumerate(fractions):
        trace = irm_trace(pop, n_req, seed=seed + k)
        for pol in policies:
            one(frac, pol, trace, None)
    for frac, pol in paced:
        size = int(round(frac * n_items))
        # pace so that the cache turns over in about 8 s (>> the 1 s LRU clock); 12 turnovers long
        tc = characteristic_time(pop, size, "lru")
        rate = tc / 8.0
        trace = irm_trace(pop, int(12 * tc), seed=seed + 99)
        one(frac, pol, trace, rate)
    runs = pd.DataFrame(rows)
    setup = pd.DataFrame([{"bytes_per_key": per_key, "empty_server_bytes": base, "value_bytes": len(VALUE),
                           "alpha": alpha, "n_items": n_items, "warmup_fraction": warm}])
    return {"runs": runs, "setup": setup}
