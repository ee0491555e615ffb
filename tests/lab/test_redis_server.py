"""Redis: bounded memory evicts, unbounded keeps everything; bad input fails first."""

from __future__ import annotations

import pytest

from scaling_lab.lab import Redis


@pytest.mark.parametrize("kwargs, param", [({"policy": "lru"}, "policy"), ({"maxmemory_bytes": -1}, "maxmemory_bytes"),
                                           ({"samples": 0}, "samples")])
def test_bad_input_is_a_value_error(kwargs, param):
    with pytest.raises(ValueError, match=param):
        Redis(**kwargs)


@pytest.mark.lab
def test_maxmemory_evicts_with_allkeys_lru():
    # 20,000 keys of 100 bytes need about 6 MB with Redis's per-key overhead; a 2 MB limit must
    # evict, an unlimited server must not.
    with Redis(maxmemory_bytes=2_000_000, policy="allkeys-lru") as small, Redis() as big:
        for server in (small, big):
            with server.client() as c:
                pipe = c.pipeline(transaction=False)
                for i in range(20_000):
                    pipe.set(f"k{i}", b"x" * 100)
                pipe.execute()
        with small.client() as c:
            assert 0 < c.dbsize() < 20_000
            assert int(c.info("stats")["evicted_keys"]) > 0
        with big.client() as c:
            assert c.dbsize() == 20_000
