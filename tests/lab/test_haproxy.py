"""HAProxy in front of lab servers: its policies route, its stats socket answers, bad input fails first."""

from __future__ import annotations

import pytest

from scaling_lab.lab import HAProxy, LabServer, open_loop
from scaling_lab.simulation import Deterministic, PoissonArrivals


@pytest.mark.parametrize("kwargs, param", [({"balance": "fastest"}, "balance"), ({"weight": 0}, "weight"),
                                           ({"weight": 300}, "weight"), ({"fall": 0}, "fall"),
                                           ({"inter_s": -1}, "inter_s")])
def test_bad_input_is_a_value_error(kwargs, param):
    with pytest.raises(ValueError, match=param):
        HAProxy([8080], **kwargs)


def test_backends_required():
    with pytest.raises(ValueError, match="backends"):
        HAProxy([])


def test_config_has_policy_checks_and_cookies():
    text = HAProxy([1111, 2222], balance="random(2)", health_check=True, inter_s=0.5, fall=2, rise=1,
                   sticky=True).config_text()
    assert "balance random(2)" in text and "option httpchk GET /health" in text
    assert "server s1 127.0.0.1:2222 weight 256 check inter 500ms fall 2 rise 1 cookie s1" in text


@pytest.mark.lab
def test_roundrobin_spreads_requests_evenly():
    # round robin is deterministic: 300 requests over 3 servers give 100 each, up to the few
    # health-check-free requests in flight when counted (none here); allow +-2.
    with LabServer(Deterministic(0.002), servers=4) as a, LabServer(Deterministic(0.002), servers=4) as b, \
            LabServer(Deterministic(0.002), servers=4) as c:
        with HAProxy([a.port, b.port, c.port], balance="roundrobin") as h:
            r = open_loop(h.url, PoissonArrivals(100.0), 3.0, seed=5, max_requests=300)
            counts = sorted(int(s["stot"]) for s in h.stats())
    assert r.failures == 0
    assert sum(counts) == r.n
    assert max(counts) - min(counts) <= 2
