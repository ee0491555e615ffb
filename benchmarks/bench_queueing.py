"""Speed and accuracy of scaling_lab's queueing code against SimPy, Ciw and pyworkforce.

Run:  python benchmarks/bench_queueing.py

SimPy, Ciw and pyworkforce are the optional extra ``bench`` (``pip install
.[bench]``); a missing one is reported as "not installed".  Everything runs in
this one process on this machine, so the ratios compare like with like.

1. M/M/c, c = 8, rho = 0.9, 10^6 customers: scaling_lab's simulator (compiled
   kernel, and its pure-Python heap fallback), SimPy and Ciw on the same model.
   Ciw is timed on 10^5 customers and scaled linearly to 10^6 (its cost per
   customer is flat), as the table says.
2. Erlang C over a 10^6-point (servers, load) grid, servers 1..10^6 and
   utilization 0.01..1.2: scaling_lab's vectorized ``erlang_c`` on the whole
   grid, pyworkforce's ``ErlangC.waiting_probability`` on a random sample of the
   grid, extrapolated to 10^6 points; accuracy on the sample and where
   pyworkforce returns an invalid probability.
3. The sweeps the chapters run (M/M/c curves, staffing, pool simulation, MVA, USL fit).
"""

from __future__ import annotations

import time

import numpy as np

from scaling_lab import queueing, scalability, simulation
from scaling_lab.network import mva

LAM, MU, C = 7.2, 1.0, 8
N_SIM = 1_000_000
N_CIW = 100_000


def timed(fn, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


rows: list[tuple[str, str, str, str, str]] = []


def row(what, size, seconds, ratio="", note=""):
    rows.append((what, size, "" if seconds is None else f"{seconds:.3g}", ratio, note))


def section(title):
    rows.append(("## " + title, "", "", "", ""))


def ci_note(mean, half, exact):
    inside = "inside" if abs(mean - exact) <= half else "OUTSIDE"
    return f"E[Wq] {mean:.4f} +/- {half:.4f} ({inside} CI of Erlang C {exact:.4f})"


# -- 1. simulator ------------------------------------------------------------------------
def bench_simulator():
    section(f"M/M/{C}, rho = {LAM / (C * MU):.2f}, 10^6 customers (one run each)")
    exact = queueing.MMc(LAM, MU, C).mean_wait
    compile_s, _ = timed(lambda: simulation.simulate_queue(LAM, MU, C, n_requests=1000, seed=0))
    ours_s, r = timed(lambda: simulation.simulate_queue(LAM, MU, C, n_requests=N_SIM, seed=1), repeat=3)
    kernel = "numba kernel" if simulation.HAVE_NUMBA else "pure Python (numba not installed)"
    row(f"scaling_lab simulate_queue ({kernel})", "1e6", ours_s, "1", ci_note(r.mean_wait, r.mean_wait_ci, exact))
    row("  first call incl. JIT compile/cache load", "1e3", compile_s, "", "paid once per process")

    def pure_python():
        rng = np.random.default_rng(1)
        arr = np.cumsum(rng.exponential(1 / LAM, N_SIM))
        svc = rng.exponential(1 / MU, N_SIM)
        start, _ = simulation.kernels._fcfs_heapq(arr, svc, C)
        return float((start - arr)[N_SIM // 10:].mean())

    py_s, w = timed(pure_python)
    row("scaling_lab pure-Python heap (fallback)", "1e6", py_s, f"{py_s / ours_s:.1f}x slower", f"E[Wq] {w:.4f}")

    try:
        import simpy
    except ImportError:
        row("SimPy", "1e6", None, "", "not installed")
    else:
        def run_simpy():
            rng = np.random.default_rng(2)
            gaps = rng.exponential(1 / LAM, N_SIM).tolist()
            svc = rng.exponential(1 / MU, N_SIM).tolist()
            env = simpy.Environment()
            res = simpy.Resource(env, capacity=C)
            waits = [0.0] * N_SIM

            def customer(i):
                t = env.now
                with res.request() as req:
                    yield req
                    waits[i] = env.now - t
                    yield env.timeout(svc[i])

            def source():
                for i in range(N_SIM):
                    yield env.timeout(gaps[i])
                    env.process(customer(i))

            env.process(source())
            env.run()
            return float(np.mean(waits[N_SIM // 10:]))

        simpy_s, w = timed(run_simpy)
        row(f"SimPy {simpy.__version__} (Resource, processes)", "1e6", simpy_s,
            f"{simpy_s / ours_s:.0f}x slower (goal >= 30x)", f"E[Wq] {w:.4f}")

    try:
        import ciw
    except ImportError:
        row("Ciw", "1e5 -> 1e6", None, "", "not installed")
    else:
        def run_ciw():
            net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=LAM)],
                                     service_distributions=[ciw.dists.Exponential(rate=MU)],
                                     number_of_servers=[C])
            ciw.seed(3)  # Ciw only offers global seeding
            q = ciw.Simulation(net)
            q.simulate_until_max_customers(N_CIW, method="Finish")
            recs = q.get_all_records()
            return float(np.mean([rec.waiting_time for rec in recs[N_CIW // 10:]]))

        ciw_s, w = timed(run_ciw)
        scaled = ciw_s * N_SIM / N_CIW
        row(f"Ciw {ciw.__version__} (measured on 1e5, x10)", "1e5 -> 1e6", scaled,
            f"{scaled / ours_s:.0f}x slower (goal >= 300x)", f"measured {ciw_s:.3g} s on 1e5; E[Wq] {w:.4f}")


# -- 2. Erlang C grid ----------------------------------------------------------------------
def bench_erlang_c():
    section("Erlang C on a 10^6-point grid: servers 1..1e6 (log) x utilization 0.01..1.2")
    servers = np.round(np.logspace(0, 6, 1000)).astype(np.int64)
    rho = np.linspace(0.01, 1.2, 1000)
    cc, rr = np.meshgrid(servers, rho, indexing="ij")
    aa = rr * cc
    queueing.erlang_c(cc[:2, :2], aa[:2, :2])
    ours_s, ours = timed(lambda: queueing.erlang_c(cc, aa), repeat=2)
    valid = np.isfinite(ours).all() and (ours >= 0).all() and (ours <= 1).all()
    row("scaling_lab erlang_c (vectorized)", "1e6", ours_s, "1",
        f"{cc.size / ours_s:.3g} points/s; all in [0, 1]: {valid}")
    try:
        from pyworkforce.queuing import ErlangC
        import importlib.metadata as md
        version = md.version("pyworkforce")
    except ImportError:
        row("pyworkforce ErlangC", "sample", None, "", "not installed")
        return
    rng = np.random.default_rng(4)
    idx = rng.choice(cc.size, 2000, replace=False)
    c_s, a_s, ref = cc.ravel()[idx], aa.ravel()[idx], ours.ravel()[idx]
    got = np.full(len(idx), np.nan)
    errors: dict[str, int] = {}

    def run_pw():
        for j, (c, a) in enumerate(zip(c_s.tolist(), a_s.tolist())):
            try:
                got[j] = ErlangC(transactions=a, aht=1.0, asa=1.0, interval=1).waiting_probability(c)
            except Exception as exc:  # report, do not stop the benchmark
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    pw_s, _ = timed(run_pw)
    per_point = pw_s / len(idx)
    grid_s = per_point * cc.size
    row(f"pyworkforce {version} ErlangC (2000-point sample, x500)", "2e3 -> 1e6", grid_s,
        f"{grid_s / ours_s:.0f}x slower (goal >= 1000x)", f"{1 / per_point:.3g} points/s; O(c) recursion per point")
    stable = a_s < c_s
    ok = stable & np.isfinite(got) & (ref > 1e-300)
    rel = np.abs(got[ok] - ref[ok]) / ref[ok]
    row("  accuracy where stable", f"{ok.sum()} pts", None, "", f"max relative difference {rel.max():.2g}")
    bad = ~stable & np.isfinite(got) & ((got < 0) | (got > 1))
    row("  where pyworkforce fails", f"{(~stable).sum()} pts", None, "",
        f"load >= servers: {bad.sum()} results outside [0, 1] (e.g. {got[bad][:1].round(3).tolist()}), "
        f"exceptions {errors or 'none'}")
    big = c_s >= 100_000
    if big.any():
        t1, _ = timed(lambda: ErlangC(transactions=0.99e6, aht=1.0, asa=1.0, interval=1).waiting_probability(10**6))
        t2, _ = timed(lambda: queueing.erlang_c(10**6, 0.99e6))
        row("  one point at 1e6 servers, rho 0.99", "1", t1, f"{t1 / t2:.0f}x slower than scaling_lab",
            f"scaling_lab {t2:.2g} s")


# -- 3. sweeps the chapters use ------------------------------------------------------------------
def bench_sweeps():
    section("Sweeps used by the chapters")
    lam = np.linspace(0.01, 0.999, 100_000) * 64
    t, _ = timed(lambda: queueing.MMc(lam, 1.0, 64).mean_wait, repeat=3)
    row("MMc(...).mean_wait over 1e5 arrival rates, c = 64", "1e5", t)
    lam_q = lam[::10]
    t, _ = timed(lambda: queueing.MMc(lam_q, 1.0, 64).response_quantile(0.99))
    row("MMc(...).response_quantile(0.99) over 1e4 rates", "1e4", t)
    t, _ = timed(lambda: [queueing.servers_needed(x, 1.0, max_wait_quantile=(0.95, 0.1))
                          for x in np.logspace(0, 5, 50)])
    row("servers_needed(p95 wait) for 50 loads up to 1e5 erlangs", "50", t)
    t, _ = timed(lambda: queueing.n_plus_one_headroom(1.0, 20, max_response_quantile=(0.99, 5.0)))
    row("n_plus_one_headroom, 20 servers, p99 response SLO", "1", t)
    for policy in simulation.ROUTING_POLICIES:
        t, r = timed(lambda: simulation.simulate_pool(18.0, simulation.HyperExponential(1.0, 4.0), 20, policy,
                                                      n_requests=200_000, seed=5), repeat=2)
        row(f"simulate_pool {policy}, 20 stations, H2 scv 4, rho 0.9", "2e5", t, "",
            f"E[T] {r.mean_response:.3f} +/- {r.mean_response_ci:.3f} s")
    t, _ = timed(lambda: simulation.simulate_queue(None, 1.0, 1, service=simulation.LogNormal(1.0, 4.0),
                                                   arrivals=simulation.OnOffArrivals(1.6, 1.0, 1.0),
                                                   n_requests=1_000_000, seed=6), repeat=2)
    row("simulate_queue lognormal service, on/off arrivals", "1e6", t)
    t, _ = timed(lambda: simulation.simulate_closed_network([0.05, 0.03, 0.02], 1.0, 50, n_cycles=200_000, seed=7))
    row("simulate_closed_network, 3 stations, 50 users", "2e5", t)
    t, _ = timed(lambda: mva([0.05, 0.03, 0.02], 1.0, 10_000), repeat=3)
    row("mva, 3 stations, N = 1..1e4", "1e4", t)
    n = np.array([1, 18, 36, 72, 108, 144, 216.0])
    x = np.array([64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2])
    t, _ = timed(lambda: scalability.fit_usl(n, x), repeat=3)
    row("fit_usl on SPEC SDM91 (7 points)", "7", t)


def print_table():
    header = ("benchmark", "size", "seconds", "ratio", "note")
    body = [r for r in rows if not r[0].startswith("## ")]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header[:4])]
    line = "  ".join(h.ljust(w) for h, w in zip(header[:4], widths)) + "  " + header[4]
    print(line)
    print("-" * len(line))
    for r in rows:
        if r[0].startswith("## "):
            print()
            print(r[0][3:])
            continue
        print("  ".join(v.ljust(w) for v, w in zip(r[:4], widths)) + "  " + r[4])


if __name__ == "__main__":
    import platform

    import numpy
    import scipy

    try:
        import numba
        numba_v = numba.__version__
    except ImportError:
        numba_v = "not installed"
    print(f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
          f"numba {numba_v}, {platform.machine()}")
    bench_simulator()
    bench_erlang_c()
    bench_sweeps()
    print()
    print_table()
