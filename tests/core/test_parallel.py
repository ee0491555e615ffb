"""parallel_map: the same seeded numbers serially, on local processes and on a Dask cluster."""

import os
from functools import partial

import joblib
import numpy as np
import pytest

import scaling_lab as sl
from scaling_lab.core.parallel import spawn_seeds


def mean_response(load: float, *, seed: int, n_requests: int = 20_000) -> float:
    """One M/M/4 replication at ``load`` (module level, so that process and Dask workers can import it)."""
    return sl.simulate_queue(4 * load, 1.0, 4, n_requests=n_requests, seed=seed).mean_response


LOADS = [0.5, 0.7, 0.9, 0.5]


def test_seeds_are_independent_of_the_backend_and_distinct():
    seeds = spawn_seeds(7, 4)
    assert seeds == spawn_seeds(7, 4)
    assert len(set(seeds)) == 4
    serial = sl.parallel_map(mean_response, LOADS, seed=7)
    assert serial == [mean_response(x, seed=s) for x, s in zip(LOADS, seeds)]
    # the two replications at load 0.5 draw different streams
    assert serial[0] != serial[3]


def test_processes_give_the_serial_numbers():
    serial = sl.parallel_map(mean_response, LOADS, seed=3)
    assert sl.parallel_map(mean_response, LOADS, seed=3, n_jobs=2) == serial


def test_unseeded_map_keeps_order():
    assert sl.parallel_map(partial(pow, 2), range(5)) == [1, 2, 4, 8, 16]


@pytest.mark.filterwarnings("ignore:`apply_async` is deprecated:DeprecationWarning")
def test_replications_on_a_dask_cluster_give_the_serial_numbers():
    if os.environ.get("CI") == "true":  # `make test` installs the extra: in CI it must run
        import distributed
    else:
        distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed (make dask-deps)")
    serial = sl.parallel_map(mean_response, LOADS, seed=11)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        on_cluster = sl.parallel_map(mean_response, LOADS, seed=11)
    assert on_cluster == serial
    assert np.all(np.isfinite(serial))


@pytest.mark.parametrize("call, name", [
    (lambda: sl.parallel_map(42, [1]), "func"),
    (lambda: spawn_seeds(1, -1), "n"),
])
def test_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("items", [None, 3, True, 1j, object()])
def test_items_that_are_not_iterable_are_refused_by_name(items):
    with pytest.raises(TypeError, match="items"):
        sl.parallel_map(abs, items)


def test_empty_items_give_empty_results():
    assert sl.parallel_map(abs, []) == []
