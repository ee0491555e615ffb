"""The open-loop generator: bad input fails first; the schedule is kept at 2,000 requests/s."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_lab.lab import LabServer, latency_summary, open_loop
from scaling_lab.lab.loadgen import closed_loop
from scaling_lab.simulation import Deterministic, PoissonArrivals

URL = "http://127.0.0.1:9/work"


@pytest.mark.parametrize("url", ["http://example.com:80/", "http://10.0.0.1:80/", "https://127.0.0.1:1/",
                                 "http://127.0.0.1/"])
def test_traffic_goes_only_to_loopback(url):
    with pytest.raises(ValueError, match="url"):
        open_loop(url, PoissonArrivals(10.0), 1.0)


@pytest.mark.parametrize("kwargs, param", [({"duration_s": 0}, "duration_s"), ({"duration_s": -1}, "duration_s"),
                                           ({"duration_s": 1e6}, "duration_s"), ({"max_requests": 0}, "max_requests"),
                                           ({"timeout_s": 0}, "timeout_s"), ({"seed": -3}, "seed"),
                                           ({"max_connections": 0}, "max_connections")])
def test_bad_input_is_a_value_error(kwargs, param):
    args = {"duration_s": 1.0, **kwargs}
    with pytest.raises(ValueError, match=param):
        open_loop(URL, PoissonArrivals(10.0), **args)


def test_negative_rate_and_non_process():
    with pytest.raises(ValueError, match="arrival_rate"):
        open_loop(URL, PoissonArrivals(-5.0), 1.0)
    with pytest.raises(ValueError, match="arrivals"):
        open_loop(URL, 100.0, 1.0)
    with pytest.raises(ValueError, match="concurrency"):
        closed_loop(URL, 0, 1.0)


def test_latency_summary_against_numpy():
    x = np.random.default_rng(0).exponential(0.02, 20_000)
    s = latency_summary(x)
    assert s["n"] == 20_000 and abs(s["mean"] - x.mean()) < 1e-12
    for q in (0.5, 0.95, 0.99):  # 3 significant digits
        assert s[f"p{round(q * 100)}"] == pytest.approx(np.quantile(x, q), rel=2e-3)


@pytest.mark.lab
def test_unanswered_requests_count_as_failures_and_the_loop_stops():
    # nothing listens on a fresh free port: every request fails fast, none is lost, the run ends
    from scaling_lab.lab.process import free_port

    r = open_loop(f"http://127.0.0.1:{free_port()}/work", PoissonArrivals(50.0), 1.0, timeout_s=0.5)
    assert r.n > 0 and r.failures == r.n


@pytest.mark.lab
def test_generator_keeps_its_schedule_at_2000_per_second():
    # Tolerance (method in test_experiments.py): schedule lag p99 over 3 s at 2,000/s against a
    # fast server measured 0.26-1.14 ms in 6 runs on a quiet machine and 0.22-2.85 ms in 6 runs
    # beside six CPU-bound processes; the bound is twice the worst seen.
    with LabServer(Deterministic(0.0005), servers=64) as s:
        r = open_loop(s.url, PoissonArrivals(2000.0), 3.0, seed=1)
    assert r.n == pytest.approx(6000, rel=0.05)
    assert r.failures == 0
    assert r.lag_quantile(0.99) < LAG_P99_BOUND_S


LAG_P99_BOUND_S = 6e-3
