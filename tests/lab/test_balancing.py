"""Chapter 4 in the lab, smoke versions: HAProxy's policies keep the theory's order, a dead backend's failures.

How the tolerances were chosen (numbers in each constant's comment): each measurement below was
repeated on this 2-core machine while other engineers' jobs ran (load average 8-12) and beside
six extra CPU-bound processes at normal priority, the lab processes and the generator under
SCHED_FIFO; each bound sits well outside the range seen.  Only orderings, ratios to the same-path
replay and physical windows are asserted, never one short run against a long-run p99.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_lab

from scaling_lab.healthcheck import simulate_failed_requests
from scaling_lab.lab import HAProxy, LabServer, open_loop
from scaling_lab.lab import balancing as bal
from scaling_lab.lab.loadgen import LoadResult
from scaling_lab.simulation import Exponential, PoissonArrivals

# leastconn's measured mean over the same-path JSQ replay at rho = 0.9: 1.04 and 1.08 in two 8 s
# runs beside other jobs (load average ~12), 1.03-1.06 in the recording's clean 20 s runs and
# 1.05-1.10 in its disturbed ones; bound [0.85, 1.6].
LEASTCONN_OVER_REPLAY = (0.85, 1.6)
# random(1) over leastconn, measured means at rho = 0.9 (theory 195 / 64 = 3.0): 2.4 and 2.7 in the
# two 8 s runs, 2.5-2.8 in the recording's exponential runs; asserted > 1.5.
RANDOM_OVER_LEASTCONN = 1.5


def _run(policy: str, seconds: float, seed: int) -> tuple[LoadResult, list[int]]:
    servers = [LabServer(Exponential(0.020), servers=1, seed=seed + i) for i in range(4)]
    try:
        for s in servers:
            s.start()
        with HAProxy([s.port for s in servers], balance=policy) as h:
            r = open_loop(h.url, PoissonArrivals(180.0), seconds, seed=seed)
            counts = [int(x["stot"]) for x in h.stats()]
    finally:
        for s in servers:
            s.stop()
    return r, counts


@pytest.fixture(scope="module")
def policy_runs():
    require_lab()
    return {p: _run(p, 5.0, 21) for p in ("leastconn", "random(1)")}


@pytest.mark.lab
def test_theorys_order_holds_on_a_real_balancer(policy_runs):
    (lc, _), (rnd, counts) = policy_runs["leastconn"], policy_runs["random(1)"]
    assert lc.failures == 0 and rnd.failures == 0
    assert np.nanmean(rnd.latency) > RANDOM_OVER_LEASTCONN * np.nanmean(lc.latency)
    # weight 256 evens HAProxy's hash ring: each of four servers gets a quarter, up to the binomial
    # spread of ~1,000 requests (sd 1.4 %) and the ring's own unevenness (24.5-25.6 % measured)
    shares = np.array(counts) / sum(counts)
    assert shares.min() > 0.18 and shares.max() < 0.32


@pytest.mark.lab
def test_leastconn_close_to_its_replay(policy_runs):
    lc, _ = policy_runs["leastconn"]
    ratio = np.nanmean(lc.latency[lc.ok]) / bal.replay_pool(lc, 4, "jsq").mean()
    assert LEASTCONN_OVER_REPLAY[0] < ratio < LEASTCONN_OVER_REPLAY[1]


@pytest.mark.lab
def test_dead_backend_fails_only_until_the_checks_remove_it():
    out = bal.run_backend_failure(quick=True, seed=3, trials=1)
    runs = out["runs"]
    sim = simulate_failed_requests(100.0, 4, bal.INTER_S, bal.FALL, n_trials=20_000, seed=0)
    low, high = np.quantile(sim, [0.001, 0.999])
    # the round-robin share of arrivals in the detection window, plus the few requests queued at the
    # server when it died (0-3 seen); 29-39 failed in the recording's 8 kills, 30-40 in 3 quick
    # ones; bounds: the model's 0.1-99.9 % range widened by 5 requests
    assert ((runs["failed"] >= low - 5) & (runs["failed"] <= high + 5)).all(), runs["failed"].tolist()
    # no failure after fall x inter (1.5 s) plus 0.3 s for HAProxy's check timing and the last
    # failed request's own round trip (1.05-1.47 s seen in 11 kills)
    assert (runs["last_failure_after_s"] <= bal.FALL * bal.INTER_S + 0.3).all()
    assert (runs["status_s0"].str.startswith("DOWN")).all()


def test_replay_pool_bad_input():
    r = LoadResult(*(np.zeros(1),) * 3, np.full(1, 200), *(np.zeros(1),) * 3, arrival_rate=1.0, duration_s=1.0)
    with pytest.raises(ValueError, match="policy"):
        bal.replay_pool(r, 4, "fastest")
    with pytest.raises(ValueError, match="servers"):
        bal.replay_pool(r, 0, "jsq")
    with pytest.raises(ValueError, match="result"):
        bal.replay_pool("not a run", 4, "jsq")


def test_random1_is_a_policy_and_bare_random_is_two_choices():
    assert "balance random(1)" in HAProxy([1], balance="random(1)").config_text()
    assert bal.HAPROXY_TO_POOL["random"] == ("power_of_d", 2)


def test_max_queue_is_checked():
    with pytest.raises(ValueError, match="max_queue"):
        LabServer(Exponential(0.02), max_queue=-1)
