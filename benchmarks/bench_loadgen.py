"""The lab's open-loop generator and web server: how fast, how punctual, how much overhead.

Run:  .venv/bin/python benchmarks/bench_loadgen.py           (3 s per rate)
      .venv/bin/python benchmarks/bench_loadgen.py --quick   (1.5 s per rate)

1. Schedule keeping: Poisson load at increasing rates against a lab server that
   answers after 0.2 ms (256 workers, so it never queues); for each rate the
   generator's schedule lag (sent − scheduled) p50/p99 and the CPU the generator
   thread used per request.  Reports the highest rate with lag p99 ≤ 2 ms.
2. Server overhead: latency minus service time at 20 requests/s (nobody
   queues), i.e. what the client, loopback TCP, HTTP and the event loop add to
   each request; and the server process's own CPU time per request at 1,000/s
   (from /proc/<pid>/stat).

Needs root for SCHED_FIFO (as the lab does); without it the numbers are for
normal scheduling and say so.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from scaling_lab.lab import LabServer, open_loop, realtime_available
from scaling_lab.simulation import Deterministic, PoissonArrivals

LAG_TARGET_S = 0.002


def process_cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    duration = 1.5 if args.quick else 3.0
    rates = (500, 1000, 2000, 3000, 4000, 6000, 8000, 10000, 12000, 16000)
    print(f"real-time scheduling: {realtime_available()}; load average {os.getloadavg()[0]:.2f}; "
          f"{os.cpu_count()} cores; {duration} s per rate")
    print(f"{'rate/s':>8} {'sent':>7} {'failed':>7} {'lag p50 ms':>11} {'lag p99 ms':>11} {'gen CPU µs/req':>15}")
    best = None
    with LabServer(Deterministic(0.0002), servers=256) as server:
        open_loop(server.url, PoissonArrivals(200.0), 0.5, seed=99)  # warm up connections
        for rate in rates:
            c0 = time.process_time()
            r = open_loop(server.url, PoissonArrivals(float(rate)), duration, seed=rate)
            cpu = (time.process_time() - c0) / r.n
            lag = r.schedule_lag[np.isfinite(r.sent)]
            p99 = float(np.quantile(lag, 0.99))
            print(f"{rate:>8} {r.n:>7} {r.failures:>7} {np.median(lag) * 1e3:>11.3f} {p99 * 1e3:>11.3f} {cpu * 1e6:>15.0f}")
            if p99 <= LAG_TARGET_S and r.failures == 0:
                best = rate
            elif best is not None:
                break
    print(f"highest rate with schedule lag p99 <= {LAG_TARGET_S * 1e3:g} ms: {best}/s")

    with LabServer(Deterministic(0.001), servers=4) as server:
        r = open_loop(server.url, PoissonArrivals(20.0), 10.0 if not args.quick else 5.0, seed=1)
        extra = (r.latency - r.service)[r.ok]
        print(f"per-request overhead at 20/s (latency - service): mean {extra.mean() * 1e3:.3f} ms, "
              f"p50 {np.median(extra) * 1e3:.3f} ms, p99 {np.quantile(extra, 0.99) * 1e3:.3f} ms "
              f"({len(extra)} requests)")
        inside = (r.sojourn - r.service)[r.ok]
        print(f"  of which inside the server before service starts: mean {inside.mean() * 1e3:.3f} ms")
        cpu0 = process_cpu_s(server.pid)
        r = open_loop(server.url, PoissonArrivals(1000.0), duration, seed=2)
        cpu = (process_cpu_s(server.pid) - cpu0) / r.n
        print(f"server CPU per request at 1000/s: {cpu * 1e6:.0f} µs ({r.n} requests, {r.failures} failed)")


if __name__ == "__main__":
    main()
