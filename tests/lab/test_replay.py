"""The same-path replay, checked on synthetic runs whose answer is known (no servers needed)."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_lab.lab.loadgen import LoadResult
from scaling_lab.lab.replay import replay
from scaling_lab.simulation import fcfs_start_times


def _ideal_run(servers: int, n: int = 2000, seed: int = 0, transport_s: float = 0.0005) -> LoadResult:
    """A run through a perfect FIFO queue with ``servers`` servers and a fixed transport delay."""
    rng = np.random.default_rng(seed)
    scheduled = np.cumsum(rng.exponential(1 / 150, n))
    arrival = scheduled + transport_s / 2
    service = rng.exponential(0.02, n)
    start, _ = fcfs_start_times(arrival, service, servers)
    end = start + service
    return LoadResult(scheduled=scheduled, sent=scheduled, received=end + transport_s / 2,
                      status=np.full(n, 200), server_arrival=arrival, service_start=start, service_end=end,
                      arrival_rate=150.0, duration_s=float(scheduled[-1]))


def test_replay_of_an_ideal_queue_has_zero_residual():
    rep = replay(_ideal_run(4), 4)
    assert abs(rep.residual_mean) < 1e-12
    assert rep.residual_quantile(0.99) < 1e-12


def test_replay_with_fewer_servers_predicts_longer_waits():
    run = _ideal_run(4)
    assert replay(run, 3).replayed.mean() > replay(run, 4).replayed.mean()


def test_replay_ignores_failed_requests():
    run = _ideal_run(4)
    run.status[::10] = 0
    assert len(replay(run, 4).measured) == int((run.status == 200).sum())


@pytest.mark.parametrize("servers", [0, -1, 2.5])
def test_replay_rejects_bad_servers(servers):
    with pytest.raises(ValueError, match="servers"):
        replay(_ideal_run(2, n=10), servers)


def test_replay_rejects_non_results():
    with pytest.raises(ValueError, match="result"):
        replay("not a run", 2)
