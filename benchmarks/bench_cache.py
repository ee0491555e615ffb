"""Cache simulation timings: scaling_lab.cache on a Zipf trace, and libCacheSim on the same trace.

Run:  .venv/bin/python benchmarks/bench_cache.py            (10^7 requests over 10^6 items)
      .venv/bin/python benchmarks/bench_cache.py --quick    (10^6 requests over 10^5 items)
      add --numpy to also time the numpy (no-numba) stack-distance path.

libCacheSim's Python bindings (``pip install libcachesim==0.3.5``) are optional;
without them that part prints "not installed".  Its LFU is in-cache LFU (counts
are forgotten on eviction) whereas scaling_lab's is perfect LFU, so only LRU and
FIFO hit ratios must agree exactly; RANDOM differs by the random stream.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from scaling_lab import cache
from scaling_lab.simulation import HAVE_NUMBA


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^6 requests over 10^5 items")
    ap.add_argument("--requests", type=int, default=None)
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--alpha", type=float, default=0.8)
    ap.add_argument("--numpy", action="store_true", help="also time the numpy stack-distance path")
    args = ap.parse_args()
    n_req = args.requests or (10**6 if args.quick else 10**7)
    n_items = args.items or (10**5 if args.quick else 10**6)
    sizes = [n_items // 100, n_items // 10]

    print(f"Zipf(alpha={args.alpha}) IRM trace: {n_req:,} requests over {n_items:,} items; "
          f"numba: {'yes' if HAVE_NUMBA else 'no'}")
    # warm the compiled kernels on a tiny trace so timings exclude compilation
    tiny = cache.irm_trace(cache.zipf_popularity(50, 0.8), 500, seed=0)
    cache.lru_hit_ratio_curve(tiny)
    for pol in ("fifo", "random", "lfu"):
        cache.simulate_hit_ratio(pol, 5, trace=tiny)

    p, t_pop = timed(cache.zipf_popularity, n_items, args.alpha)
    trace, t_gen = timed(cache.irm_trace, p, n_req, seed=1)
    print(f"  zipf_popularity                  {t_pop:8.2f} s")
    print(f"  irm_trace                        {t_gen:8.2f} s")
    curve, t_curve = timed(cache.lru_hit_ratio_curve, trace)
    print(f"  lru_hit_ratio_curve (all sizes)  {t_curve:8.2f} s   "
          f"({len(curve) - 1:,} sizes; {n_req / t_curve / 1e6:.1f} M requests/s)")
    if args.numpy:
        curve_np, t_np = timed(cache.lru_hit_ratio_curve, trace, compiled=False)
        same = np.array_equal(curve, curve_np)
        print(f"  lru_hit_ratio_curve, numpy path  {t_np:8.2f} s   (identical: {same})")

    ours = {}
    print(f"\n  {'policy':<7}{'size':>10}{'hit ratio':>11}{'model':>9}{'time s':>9}")
    for c in sizes:
        for pol in cache.CACHE_POLICIES:
            if pol == "lru":
                h, t = float(curve[c]), float("nan")
            else:
                h, t = timed(cache.simulate_hit_ratio, pol, c, trace=trace, seed=2)
            model, _ = timed(cache.hit_ratio, p, c, pol)
            ours[pol, c] = h
            t_txt = "  (curve)" if pol == "lru" else f"{t:9.2f}"
            print(f"  {pol:<7}{c:>10,}{h:>11.4f}{model:>9.4f}{t_txt}")
    _, t_che = timed(cache.hit_ratio, p, np.array(sizes), "lru")
    print(f"  Che approximation for {len(sizes)} sizes    {t_che:6.2f} s")

    print("\nlibCacheSim (Python bindings) on the same trace:")
    try:
        import libcachesim as lcs
    except ImportError:
        print("  not installed (pip install libcachesim==0.3.5)")
        return
    print(f"  version {getattr(lcs, '__version__', '?')}")
    rec = np.zeros(n_req, dtype=[("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    rec["t"] = np.arange(n_req, dtype=np.uint32)
    rec["id"] = trace + 1
    rec["size"] = 1
    rec["next"] = -1
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.oracleGeneral")
        _, t_write = timed(rec.tofile, path)
        print(f"  write oracleGeneral trace file   {t_write:8.2f} s")
        classes = {"lru": lcs.LRU, "lfu": lcs.LFU, "fifo": lcs.FIFO, "random": lcs.Random}
        print(f"  {'policy':<7}{'size':>10}{'hit ratio':>11}{'ours':>9}{'time s':>9}")
        for c in sizes:
            for pol, cls in classes.items():
                reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
                res, t = timed(cls(c).process_trace, reader)
                h = 1.0 - res[0]
                print(f"  {pol:<7}{c:>10,}{h:>11.4f}{ours[pol, c]:>9.4f}{t:9.2f}")


if __name__ == "__main__":
    main()
