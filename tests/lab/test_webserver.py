"""The lab web server: bad input fails before anything starts; service times come from the
distribution and are reported in the headers; the queue in front of the workers is FIFO."""

from __future__ import annotations

import numpy as np
import pytest

from scaling_lab.lab import LabServer, open_loop
from scaling_lab.lab.webserver import distribution_from_dict, distribution_to_dict
from scaling_lab.simulation import Deterministic, Exponential, LogNormal, PoissonArrivals


@pytest.mark.parametrize("kwargs, param", [({"servers": 0}, "servers"), ({"servers": -2}, "servers"),
                                           ({"mode": "gpu"}, "mode"), ({"seed": -1}, "seed")])
def test_bad_input_is_a_value_error_before_anything_starts(kwargs, param):
    with pytest.raises(ValueError, match=param):
        LabServer(Exponential(0.02), **kwargs)


def test_service_must_be_a_distribution():
    with pytest.raises(ValueError, match="service"):
        LabServer(0.02)


@pytest.mark.parametrize("dist", [Exponential(0.02), LogNormal(0.02, 4.0), Deterministic(0.005)])
def test_distribution_round_trip(dist):
    assert distribution_from_dict(distribution_to_dict(dist)) == dist


@pytest.mark.lab
def test_deterministic_service_is_slept_and_reported():
    # 60 requests at 20/s on 4 workers: no queueing.  A sleep overruns by scheduling delay only;
    # under SCHED_FIFO the measured p90 of a 10 ms sleep was 10.17-10.25 ms in 5 quiet runs and 5
    # runs beside six CPU hogs (max 17.7 ms, once), so the p90 bound is 13 ms.
    with LabServer(Deterministic(0.010), servers=4) as s:
        r = open_loop(s.url, PoissonArrivals(20.0), 3.0, seed=3)
    assert r.failures == 0
    svc = r.service[r.ok]
    assert np.all(svc >= 0.010 - 1e-4)
    assert np.quantile(svc, 0.9) < 0.013
    assert np.all(r.service_start >= r.server_arrival)
