"""Redis (Debian ``redis-server`` 7.0) as a cache: bounded memory, an eviction policy, no persistence.

``redis-server --port P --bind 127.0.0.1 --save "" --appendonly no --maxmemory B
--maxmemory-policy POLICY`` runs as a plain child process in the foreground.
About 190 bytes of overhead per small key (measure with ``INFO memory``);
client buffers count against ``maxmemory``, so compare hit ratios against the
number of keys Redis actually holds (``DBSIZE``).  Redis's LRU clock has a 1 s
resolution: a cache that turns over faster than that evicts like random.

References
----------
Redis documentation, "Key eviction" (``maxmemory-policy``, ``maxmemory-samples``).
"""

from __future__ import annotations

import shutil

from ._checks import check_choice, check_integer
from .process import LAB_HOST, Component, realtime_prefix

__all__ = ["Redis", "EVICTION_POLICIES"]

EVICTION_POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                     "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")


class Redis(Component):
    """A Redis server on a free port; ``maxmemory_bytes=0`` means unbounded.

    ``client()`` returns a ``redis.Redis`` connected to it.
    """

    name = "redis"

    def __init__(self, *, maxmemory_bytes: int = 0, policy: str = "allkeys-lru", samples: int = 5,
                 realtime: bool = True):
        self.maxmemory_bytes = check_integer(maxmemory_bytes, "maxmemory_bytes", minimum=0)
        self.policy = check_choice(policy, "policy", EVICTION_POLICIES)
        self.samples = check_integer(samples, "samples", minimum=1)
        super().__init__(realtime=realtime)

    def _command(self) -> list[str]:
        exe = shutil.which("redis-server") or "redis-server"
        return realtime_prefix(self.realtime) + [
            exe, "--port", str(self.port), "--bind", LAB_HOST, "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), "--maxmemory", str(self.maxmemory_bytes),
            "--maxmemory-policy", self.policy, "--maxmemory-samples", str(self.samples),
            "--daemonize", "no", "--protected-mode", "yes"]

    def _ready(self) -> bool:
        import redis

        try:
            with redis.Redis(host=LAB_HOST, port=self.port, socket_timeout=1) as r:
                return bool(r.ping())
        except redis.RedisError:
            return False

    def client(self, **kwargs):
        """A ``redis.Redis`` client for this server."""
        import redis

        return redis.Redis(host=LAB_HOST, port=self.port, **kwargs)
