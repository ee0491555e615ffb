import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.replication import ReplicationLag, read_scaling
from scaling_lab.simulation import simulate_queue


@pytest.fixture(scope="module")
def replica_run():
    # write stream 80/s, replica applies 100/s, one apply thread: an M/M/1 queue
    return simulate_queue(80.0, 100.0, 1, n_requests=400_000, seed=21, return_records=True)


def test_lag_distribution_matches_simulation(replica_run):
    lag = ReplicationLag(80.0, 100.0)
    sim = replica_run
    assert sim.mean_response == pytest.approx(lag.mean_lag, abs=3 * sim.mean_response_ci)
    for t in [0.01, 0.05, 0.1]:
        assert np.mean(sim.responses > t) == pytest.approx(lag.prob_lag_exceeds(t), abs=0.01)
        assert np.mean(sim.responses > t) == pytest.approx(lag.stale_read_probability(t), abs=0.01)
    assert sim.response_quantile(0.99) == pytest.approx(lag.lag_quantile(0.99), rel=0.08)


def test_backlog_seen_at_failure_matches_simulation(replica_run):
    lag = ReplicationLag(80.0, 100.0)
    rec = replica_run.records
    arrival, finish = np.sort(rec["arrival"].to_numpy()), np.sort(rec["finish"].to_numpy())
    rng = np.random.default_rng(4)
    t = rng.uniform(arrival[1000], arrival[-1000], 20_000)  # failure instants
    backlog = np.searchsorted(arrival, t) - np.searchsorted(finish, t)
    assert backlog.mean() == pytest.approx(lag.expected_writes_lost, rel=0.1)
    assert np.mean(backlog > 0) == pytest.approx(lag.prob_behind, abs=0.02)
    assert np.mean(backlog > 3) == pytest.approx(lag.prob_writes_lost_exceeds(3), abs=0.02)


def test_network_delay_shifts_lag():
    base, late = ReplicationLag(50.0, 100.0), ReplicationLag(50.0, 100.0, network_delay_s=0.01)
    assert late.mean_lag == pytest.approx(base.mean_lag + 0.01)
    assert late.prob_lag_exceeds(0.005) == 1.0
    assert late.prob_lag_exceeds(0.03) == pytest.approx(base.prob_lag_exceeds(0.02))
    assert late.expected_writes_lost == pytest.approx(base.expected_writes_lost + 0.5)


@settings(max_examples=50, deadline=None)
@given(st.floats(1, 1000), st.floats(0.05, 0.95), st.floats(1e-6, 0.5))
def test_read_delay_inverts_stale_probability(apply_rate, rho, p):
    lag = ReplicationLag(rho * apply_rate, apply_rate, network_delay_s=0.003)
    d = lag.read_delay_for(p)
    assert lag.stale_read_probability(d) == pytest.approx(p, rel=1e-6)
    assert d == pytest.approx(0.003 + np.log(1 / p) / (apply_rate * (1 - rho)), rel=1e-6)


def test_overloaded_replica_is_not_an_error():
    lag = ReplicationLag(120.0, 100.0)
    assert not lag.stable
    assert lag.mean_lag == np.inf and lag.expected_writes_lost == np.inf
    assert lag.prob_behind == 1.0 and lag.read_delay_for(0.1) == np.inf
    assert lag.prob_lag_exceeds(100.0) == 1.0


def test_read_scaling_limits():
    # 90 % reads, 4 replicas of 1000 req/s, apply cost 1: replicas carry 0.9R/4 + 0.1R
    got = read_scaling(0.9, 4, primary_capacity_per_s=1000.0)
    assert got.max_request_rate == pytest.approx(1000 / (0.9 / 4 + 0.1))
    assert got.bottleneck == "replicas"
    assert got.primary_rate_limit == pytest.approx(10_000)
    # write-heavy: the primary saturates first
    assert read_scaling(0.5, 8, primary_capacity_per_s=1000.0, apply_cost=0.2).bottleneck == "primary"
    # saturation: more replicas never push past c / (a (1 - f))
    runs = [read_scaling(0.95, r, primary_capacity_per_s=1000.0, apply_cost=0.5)
            for r in (1, 2, 4, 8, 64, 10_000)]
    lims = [x.replica_rate_limit for x in runs]
    assert np.all(np.diff(lims) > 0) and lims[-1] < 1000 / (0.5 * 0.05)
    assert np.all(np.diff([x.max_request_rate for x in runs]) >= 0)
    assert runs[-1].bottleneck == "primary"  # writes alone: 1000 / 0.05
    assert read_scaling(0.9, 0, primary_capacity_per_s=1000.0).max_request_rate == 1000.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="write_rate"):
        ReplicationLag(0.0, 1.0)
    with pytest.raises(ValueError, match="read_fraction"):
        read_scaling(1.2, 2, primary_capacity_per_s=10.0)
    with pytest.raises(ValueError, match="max_stale_probability"):
        ReplicationLag(1.0, 2.0).read_delay_for(0.0)


@pytest.mark.parametrize("bad", [-0.01, np.nan, np.inf, None, "1", []])
def test_stale_read_probability_names_read_delay_s(bad):
    with pytest.raises(ValueError, match="read_delay_s"):
        ReplicationLag(1.0, 2.0).stale_read_probability(bad)


def test_apply_thread_rate_is_one_core_of_the_node():
    from scaling_lab.replication import apply_thread_rate
    assert apply_thread_rate(1_000, 4, 0.5) == pytest.approx(500.0)  # 4 ms a request per core, half for a replay
    assert apply_thread_rate(1_000, 1, 0.5) == pytest.approx(1_000 / 0.5)  # one core: the whole node
    with pytest.raises(ValueError, match="cores"):
        apply_thread_rate(1_000, 0)


def test_replica_loss_agrees_with_read_scaling_and_the_simulator():
    from scaling_lab.replication import read_scaling, replica_loss
    from scaling_lab.simulation import simulate_queue
    kw = dict(node_capacity_per_s=1_000, cores=4, apply_cost=0.5)
    # at the group's capacity with r - 1 replicas, the survivors are exactly saturated
    limit = read_scaling(0.9, 7, primary_capacity_per_s=1_000, apply_cost=0.5).max_request_rate
    assert replica_loss(limit, 0.9, 8, lost=1, **kw).utilization_after == pytest.approx(1.0)
    loss = replica_loss(4_000, 0.9, 8, lost=1, **kw)
    assert loss.utilization_before == pytest.approx(0.65) and loss.utilization_after == pytest.approx(5 / 7)
    # replicas_to_saturation: losing that many keeps them below 100 %, one more does not
    k = loss.replicas_to_saturation
    assert k == 3
    assert replica_loss(4_000, 0.9, 8, lost=k, **kw).stable_after
    assert not replica_loss(4_000, 0.9, 8, lost=k + 1, **kw).stable_after
    # the mean read time is an M/M/4 queue at the replica's load: check it against the simulator
    load = 0.9 * 4_000 / 7 + 0.5 * 0.1 * 4_000
    sim = simulate_queue(load, 250.0, 4, n_requests=200_000, seed=3)
    assert abs(sim.mean_response - loss.mean_read_after_s) < 3 * sim.mean_response_ci
    with pytest.raises(ValueError, match="lost"):
        replica_loss(4_000, 0.9, 2, lost=2, **kw)


def test_replica_loss_needs_a_finite_time_per_request():
    from scaling_lab.replication import replica_loss

    with pytest.raises(ValueError, match="node_capacity_per_s"):
        replica_loss(100.0, 0.9, 3, node_capacity_per_s=5e-324, cores=4)


def test_read_delay_for_a_stale_probability_below_the_float_spacing_of_one():
    lag = ReplicationLag(100.0, 200.0, network_delay_s=0.001)
    for p in (1e-17, 5e-324):  # 1 - p rounds to 1: the exponential tail is inverted directly
        d = lag.read_delay_for(p)
        assert d == pytest.approx(0.001 - np.log(p) / 100.0, rel=1e-12)
        assert lag.stale_read_probability(d) == pytest.approx(p, rel=1e-9)
