"""Chapter 12 in the lab: real Redis servers as shards, per-shard load and resharding as an operation.

Shards.  :class:`RedisShards` starts ``n`` real Redis servers (one
:class:`~scaling_lab.lab.redis_server.Redis` each, on free loopback ports) and
can :meth:`~RedisShards.add` one more while running.  Redis rather than
PostgreSQL: a shard here only has to store keys and count what it is asked,
and a Redis server starts in milliseconds as a plain child process with a few
megabytes of memory, answers about 100 k pipelined requests a second from one
Python client, and counts every command itself (``INFO commandstats``,
``DBSIZE``); five PostgreSQL clusters would need an ``initdb`` each (about
0.5 s and 40 MB apiece) and a round trip per statement, and would measure the
same routing more slowly.

Routing.  The client routes key id :math:`i` (key name ``user:<i>``) with the
package's own hashing: :func:`scaling_lab.sharding.hash64` salted by ``seed``,
then :func:`~scaling_lab.sharding.assign_shards` (``"consistent"``: the
:class:`~scaling_lab.sharding.ConsistentHashRing` with ``vnodes`` virtual
nodes per shard; ``"modulo"``: ``hash mod n`` for contrast).  The same salt
places the ring's virtual nodes, so adding shard :math:`n` moves no other
virtual node.

Load (:func:`measure_shard_load`).  A bounded request stream (each request
one ``INCR`` of its key, pipelined per shard in batches) of *uniform* keys
(fresh ids drawn uniformly from :math:`2^{32}`, as new users' rows arrive) or
*Zipf* keys (:func:`scaling_lab.cache.irm_trace` over
:func:`~scaling_lab.cache.zipf_popularity`).  The per-shard load is read from
the servers (``INFO commandstats`` calls of ``incrby``, as redis-py sends
``INCR key`` as ``INCRBY key 1``, after ``CONFIG RESETSTAT``; ``DBSIZE``;
``INFO cpu``) and summarized as the hot shard's load over the mean, :math:`k \\max_j X_j / \\sum_j X_j`.  Models
(:func:`expected_hot_shard`): balls into bins
(:func:`~scaling_lab.sharding.expected_skew`) for uniform keys under modulo,
the lower bound :math:`k\\,(p_1 + (1-p_1)/k)`
(:func:`~scaling_lab.sharding.hot_shard_share`) for Zipf keys, and the mean
over random placements (the same hashing under other salts, then the request
count drawn multinomially), whose expectation is what the measured mean over
seeds estimates.

Resharding (:func:`measure_resharding`).  ``n`` shards hold ``n_keys`` keys of
``value_bytes`` bytes; shard :math:`n` is added; the client ``SCAN``\\ s every
old shard, finds the keys whose owner changed under the :math:`n+1` routing
and copies them (``DUMP`` at the source, ``RESTORE ... REPLACE`` at the
destination, as ``MIGRATE`` does) throttled to ``copy_rate`` keys per second
*per receiving shard* (receivers copy in parallel, as in
:func:`~scaling_lab.sharding.resharding_cost`).  During the copy a Poisson
stream of writes (``write_rate`` per second, uniform over the keys) goes on;
a write to a key that moves goes to both places (double writes) until the
cut-over, which then deletes the moved keys at their sources.  Measured: keys
actually moved (client count, checked against the servers' ``restore``
calls), the copy time, the double writes, and a verification that every key
lives on exactly its new owner with its last written value.  Models:
:func:`~scaling_lab.sharding.keys_moved_fraction` and
:func:`~scaling_lab.sharding.resharding_cost` (copy time
:math:`N/((n+1)\\,r)` for either scheme, double writes :math:`\\lambda_w f T`);
the *same-path* copy time :math:`\\max_j M_j / r` from the keys :math:`M_j`
each receiver actually got.

References
----------
Redis documentation: ``INFO`` (commandstats, cpu), ``SCAN``, ``DUMP``,
``RESTORE``, ``MIGRATE``; Karger et al. (1997); Raab and Steger (1998);
Kleppmann, *Designing Data-Intensive Applications*, 2017, ch. 6.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import numpy as np
import pandas as pd
from scipy import integrate, stats

from ..cache import irm_trace, zipf_popularity
from ..sharding import (ConsistentHashRing, assign_shards, consistent_hash_share_cv, expected_skew, hash64, hot_shard_share,
                        keys_moved_fraction, resharding_cost)
from ._checks import check_choice, check_in_range, check_integer, check_popularity
from .experiments import _t_half
from .redis_server import Redis

__all__ = ["LAB_SCHEMES", "RedisShards", "route_keys", "key_name", "measure_shard_load", "expected_hot_shard",
           "measure_resharding", "run_shard_load", "run_resharding"]

#: Routing schemes the lab client implements (the package's hashing; ``"modulo"`` for contrast).
LAB_SCHEMES = ("consistent", "modulo", "jump")
BATCH = 1000
UNIFORM_KEY_SPACE = 2**32


def key_name(key_id: int) -> str:
    """Redis key of id ``key_id`` (``user:<id>``)."""
    return f"user:{int(key_id)}"


def _key_id(name) -> int:
    return int(name.split(b":", 1)[1] if isinstance(name, bytes) else name.split(":", 1)[1])


def route_keys(key_ids, shards: int, scheme: str = "consistent", *, vnodes: int = 100, seed: int = 0) -> np.ndarray:
    """Shard of each key id: ``assign_shards(hash64(key_ids, seed), shards, scheme, vnodes, seed)``."""
    check_choice(scheme, "scheme", LAB_SCHEMES)
    return assign_shards(hash64(key_ids, seed), shards, scheme, vnodes=vnodes, seed=seed)


class RedisShards:
    """``shards`` real Redis servers used as shards (a context manager); :meth:`add` starts one more.

    ``clients[j]`` is a ``redis.Redis`` client of shard ``j``.  Every server is
    stopped by its PID and its directory removed on exit.
    """

    def __init__(self, shards: int, *, realtime: bool = True):
        self.n_start = check_integer(shards, "shards", minimum=1, maximum=16)
        self.realtime = bool(realtime)
        self.servers: list[Redis] = []
        self.clients: list = []
        self._stack: ExitStack | None = None

    def __enter__(self) -> "RedisShards":
        self._stack = ExitStack()
        try:
            for _ in range(self.n_start):
                self.add()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> bool:
        self._stack.close()
        self.servers, self.clients = [], []
        return False

    def __len__(self) -> int:
        return len(self.servers)

    def add(self) -> int:
        """Start one more shard; return its index."""
        if self._stack is None:
            raise RuntimeError("RedisShards must be entered (with ...) before add()")
        server = self._stack.enter_context(Redis(realtime=self.realtime))
        client = server.client()
        self._stack.callback(client.close)
        self.servers.append(server)
        self.clients.append(client)
        return len(self.servers) - 1

    def reset_stats(self) -> None:
        """``CONFIG RESETSTAT`` on every shard (zeroes ``INFO commandstats``)."""
        for c in self.clients:
            c.config_resetstat()

    def command_calls(self, command: str) -> np.ndarray:
        """Calls of ``command`` per shard since the last reset, from each server's ``INFO commandstats``."""
        out = []
        for c in self.clients:
            st = c.info("commandstats").get(f"cmdstat_{command}", {})
            out.append(int(st.get("calls", 0)))
        return np.array(out, dtype=np.int64)

    def dbsizes(self) -> np.ndarray:
        """Keys held per shard (``DBSIZE``)."""
        return np.array([int(c.dbsize()) for c in self.clients], dtype=np.int64)

    def cpu_seconds(self) -> np.ndarray:
        """CPU seconds (user + system) each server has used (``INFO cpu``)."""
        out = []
        for c in self.clients:
            cpu = c.info("cpu")
            out.append(float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]))
        return np.array(out)


def _send_incr(shards: RedisShards, key_ids: np.ndarray, owners: np.ndarray, max_duration_s: float) -> tuple[int, float]:
    """INCR every key on its owner, pipelined per shard in batches; (requests sent, seconds)."""
    pipes = [c.pipeline(transaction=False) for c in shards.clients]
    t0 = time.monotonic()
    sent = 0
    for b0 in range(0, len(key_ids), BATCH):
        if time.monotonic() - t0 > max_duration_s:
            break
        ids, own = key_ids[b0:b0 + BATCH], owners[b0:b0 + BATCH]
        for i, j in zip(ids.tolist(), own.tolist()):
            pipes[j].incr(key_name(i))
        for p in pipes:
            if len(p):
                p.execute()
        sent += len(ids)
    return sent, time.monotonic() - t0


def measure_shard_load(key_ids, shards: int, scheme: str = "consistent", *, vnodes: int = 100, seed: int = 0,
                       realtime: bool = True, max_duration_s: float = 300.0) -> dict:
    """Send one ``INCR`` per key id to fresh Redis shards routed by ``scheme``; per-shard load from the servers.

    Returns the per-shard ``incrby`` calls counted by each server (``server_calls``),
    the requests the client routed there (``routed``: equal when nothing is
    lost), keys held (``keys``: ``DBSIZE``), server CPU seconds (``cpu_s``), the
    hot shard's load over the mean ``hot_over_mean`` :math:`= k \\max_j X_j/\\sum_j X_j`
    (of the server counts), the same for keys and CPU, the request rate
    reached, and ``complete`` (False if ``max_duration_s`` cut the stream).
    """
    key_ids = np.asarray(key_ids)
    if key_ids.ndim != 1 or key_ids.size == 0 or key_ids.dtype.kind not in "iu" or (key_ids < 0).any():
        raise ValueError("key_ids must be a non-empty 1-d array of non-negative integers")
    k = check_integer(shards, "shards", minimum=1, maximum=16)
    check_choice(scheme, "scheme", LAB_SCHEMES)
    check_integer(vnodes, "vnodes", minimum=1, maximum=10_000)
    check_integer(seed, "seed", minimum=0)
    max_duration_s = check_in_range(max_duration_s, "max_duration_s", 0.0, 7200.0, low_open=True)
    owners = route_keys(key_ids, k, scheme, vnodes=vnodes, seed=seed)
    with RedisShards(k, realtime=realtime) as rs:
        rs.reset_stats()
        cpu0 = rs.cpu_seconds()
        sent, elapsed = _send_incr(rs, key_ids, owners, max_duration_s)
        cpu = rs.cpu_seconds() - cpu0
        calls = rs.command_calls("incrby")  # redis-py sends INCR as INCRBY key 1
        keys = rs.dbsizes()
    routed = np.bincount(owners[:sent], minlength=k)

    def hot(x):
        x = np.asarray(x, dtype=float)
        return float(k * x.max() / x.sum()) if x.sum() > 0 else float("nan")

    return {"shards": k, "scheme": scheme, "vnodes": vnodes if scheme == "consistent" else 0, "seed": seed,
            "requests": sent, "server_calls": calls, "routed": routed, "keys": keys, "cpu_s": cpu,
            "hot_over_mean": hot(calls), "keys_hot_over_mean": hot(keys), "cpu_hot_over_mean": hot(cpu),
            "hot_shard": int(np.argmax(calls)), "request_rate": sent / elapsed if elapsed > 0 else float("nan"),
            "complete": sent == len(key_ids)}


def _placement_shares(popularity, shards: int, scheme: str, vnodes: int, salt: int) -> np.ndarray:
    """Each shard's expected share of the requests for one placement (hash salt ``salt``)."""
    if popularity is None:  # fresh uniform keys: each request's shard is the ring's (or modulo's) share
        if scheme == "consistent":
            return ConsistentHashRing(shards, vnodes, salt).shares
        return np.full(shards, 1.0 / shards)
    owners = route_keys(np.arange(len(popularity)), shards, scheme, vnodes=vnodes, seed=salt)
    return np.bincount(owners, weights=popularity, minlength=shards)


def expected_hot_shard(popularity, shards: int, scheme: str = "consistent", *, n_requests: int = 100_000,
                       vnodes: int = 100, n_trials: int = 400, seed: int = 0) -> dict:
    """The hot shard's load over the mean, by the chapter's models and over random placements.

    ``popularity`` None means fresh uniform keys (every request a new key),
    else the popularity of key ids ``0..len-1``.  Returns

    * ``model`` and ``model_name``: for uniform keys under modulo (or jump)
      hashing, :func:`~scaling_lab.sharding.expected_skew` of ``n_requests``
      balls in ``shards`` bins; under consistent hashing the ring's arcs
      dominate: with one virtual node the shares are the spacings of :math:`k`
      uniform points, :math:`k\\,E[\\max] = H_k` (the harmonic number), with
      more the share CV of :func:`~scaling_lab.sharding.consistent_hash_share_cv`
      in a normal approximation, :math:`1 + \\mathrm{CV}\\,E[\\max_{j \\le k} Z_j]`.
      For popular keys, :math:`k\\,(p_1 + (1 - p_1)/k)`
      (:func:`~scaling_lab.sharding.hot_shard_share`), a lower bound when
      every shard owns an equal share of the hash space;
    * ``placements`` and ``placements_ci``: the mean of :math:`k \\max_j X_j/n`
      and its 95 % half-width over ``n_trials`` placements, each the
      package's hashing under another salt, with the ``n_requests`` requests
      drawn multinomially from that placement's shard shares.
    """
    k = check_integer(shards, "shards", minimum=1, maximum=16)
    check_choice(scheme, "scheme", LAB_SCHEMES)
    n = check_integer(n_requests, "n_requests", minimum=1, maximum=10**9)
    check_integer(vnodes, "vnodes", minimum=1, maximum=10_000)
    t = check_integer(n_trials, "n_trials", minimum=2, maximum=100_000)
    check_integer(seed, "seed", minimum=0)
    if popularity is not None:
        popularity = check_popularity(popularity)
    if popularity is not None:
        model, name = k * hot_shard_share(popularity, k), "hot-key bound k(p1 + (1 - p1)/k)"
    elif scheme != "consistent":
        model, name = expected_skew(n, k), "balls into bins, expected_skew"
    elif vnodes == 1:
        model, name = float(np.sum(1.0 / np.arange(1, k + 1))), "uniform spacings, H_k"
    else:
        z = integrate.quad(lambda x: x * k * stats.norm.pdf(x) * stats.norm.cdf(x) ** (k - 1), -12, 12)[0]
        model, name = 1.0 + consistent_hash_share_cv(k, vnodes) * z, "1 + CV E[max of k normals]"
    rng = np.random.default_rng(seed)
    hot = []
    for trial in range(t):
        shares = _placement_shares(popularity, k, scheme, vnodes, 1_000_003 + seed * 100_000 + trial)
        counts = rng.multinomial(n, shares / shares.sum())
        hot.append(k * counts.max() / n)
    hot = np.array(hot)
    return {"model": float(model), "model_name": name, "placements": float(hot.mean()),
            "placements_ci": float(1.96 * hot.std(ddof=1) / np.sqrt(t))}


# --------------------------------------------------------------------------- resharding

def _load_keys(rs: RedisShards, key_ids: np.ndarray, owners: np.ndarray, value: bytes) -> None:
    pipes = [c.pipeline(transaction=False) for c in rs.clients]
    for b0 in range(0, len(key_ids), BATCH):
        for i, j in zip(key_ids[b0:b0 + BATCH].tolist(), owners[b0:b0 + BATCH].tolist()):
            pipes[j].set(key_name(i), value)
        for p in pipes:
            if len(p):
                p.execute()


def _scan_movers(rs: RedisShards, n_old: int, route) -> tuple[list, int]:
    """SCAN every old shard; (key id, source, destination) for each key whose owner changed; keys scanned."""
    movers, scanned = [], 0
    for src in range(n_old):
        cursor = 0
        while True:
            cursor, names = rs.clients[src].scan(cursor=cursor, count=1000)
            if names:
                ids = np.array([_key_id(x) for x in names], dtype=np.int64)
                dst = route(ids)
                scanned += len(ids)
                movers += [(i, src, d) for i, d in zip(ids.tolist(), dst.tolist()) if d != src]
            if cursor == 0:
                break
    return movers, scanned


def measure_resharding(n_keys: int, shards: int, scheme: str = "consistent", *, copy_rate: float = 2000.0,
                       value_bytes: int = 100, write_rate: float = 0.0, vnodes: int = 100, seed: int = 0,
                       tick_s: float = 0.02, realtime: bool = True, max_duration_s: float = 300.0) -> dict:
    """Reshard ``n_keys`` keys from ``shards`` to ``shards + 1`` real Redis shards, throttled; what moved and how long.

    The copy runs in ticks of ``tick_s``: by time :math:`t` after its start,
    receiving shard :math:`j` has been sent at most :math:`\\lceil r t\\rceil` keys,
    :math:`r` = ``copy_rate`` keys per second (so at most ``copy_rate`` ×
    (key + ``value_bytes``) bytes per second per receiver).  Writes arrive as a
    Poisson stream of ``write_rate`` per second over the keys (drawn with
    ``seed``); a write to a moving key goes to its old and its new shard until
    the cut-over.  Returns the keys moved (client and servers' ``restore``
    calls), per-receiver counts, the scan, copy and cut-over times (seconds),
    the same-path copy time :math:`\\max_j M_j/r`, the double writes and
    writes done, and the checks ``misplaced`` (keys not on their new owner)
    and ``lost_writes`` (keys whose value is not the last written) after the
    cut-over, both 0 when the operation is correct.
    """
    n_keys = check_integer(n_keys, "n_keys", minimum=10, maximum=10**7)
    n = check_integer(shards, "shards", minimum=1, maximum=15)
    check_choice(scheme, "scheme", LAB_SCHEMES)
    rate = check_in_range(copy_rate, "copy_rate", 1.0, 1e6)
    value_bytes = check_integer(value_bytes, "value_bytes", minimum=1, maximum=10**6)
    write_rate = check_in_range(write_rate, "write_rate", 0.0, 1e5)
    check_integer(vnodes, "vnodes", minimum=1, maximum=10_000)
    seed = check_integer(seed, "seed", minimum=0)
    tick_s = check_in_range(tick_s, "tick_s", 0.001, 1.0)
    max_duration_s = check_in_range(max_duration_s, "max_duration_s", 0.0, 7200.0, low_open=True)
    rng = np.random.default_rng(seed)
    key_ids = rng.choice(UNIFORM_KEY_SPACE, n_keys, replace=False).astype(np.int64)
    value = b"v" * value_bytes
    last_value: dict[int, bytes] = {}
    with RedisShards(n, realtime=realtime) as rs:
        _load_keys(rs, key_ids, route_keys(key_ids, n, scheme, vnodes=vnodes, seed=seed), value)
        before = rs.dbsizes()
        new = rs.add()
        rs.reset_stats()

        def route_new(ids):
            return route_keys(ids, n + 1, scheme, vnodes=vnodes, seed=seed)

        t0 = time.monotonic()
        movers, scanned = _scan_movers(rs, n, route_new)
        scan_s = time.monotonic() - t0
        moving = {i: (s, d) for i, s, d in movers}
        queues = [[m for m in movers if m[2] == j] for j in range(n + 1)]
        per_receiver = np.array([len(q) for q in queues], dtype=np.int64)
        # the writes: Poisson arrivals over the copy's expected length (bounded), uniform over the keys
        horizon = per_receiver.max() / rate + 1.0
        n_writes = rng.poisson(write_rate * horizon) if write_rate > 0 else 0
        w_times = np.sort(rng.uniform(0, horizon, n_writes))
        w_keys = rng.choice(key_ids, n_writes)
        route_old = route_keys(w_keys, n, scheme, vnodes=vnodes, seed=seed) if n_writes else np.array([], int)
        route_now = route_new(w_keys) if n_writes else np.array([], int)
        sent = np.zeros(n + 1, dtype=np.int64)
        w_next, writes, double = 0, 0, 0
        pipes = [c.pipeline(transaction=False) for c in rs.clients]
        t_copy = time.monotonic()
        copy_end = t_copy
        while sent.sum() < len(movers):
            now = time.monotonic() - t_copy
            if now > max_duration_s:
                break
            # writes due by now: double for a moving key (old and new place), else to its owner
            while w_next < n_writes and w_times[w_next] <= now:
                i = int(w_keys[w_next])
                v = b"w%d:" % w_next + value
                targets = {int(route_old[w_next]), int(route_now[w_next])}
                for j in targets:
                    pipes[j].set(key_name(i), v)
                double += len(targets) > 1
                last_value[i] = v
                writes += 1
                w_next += 1
            for p in pipes:
                if len(p):
                    p.execute()
            # copy what each receiver may take by now: DUMP at the sources, RESTORE at the receiver
            batch = []
            for j in range(n + 1):
                allowed = min(len(queues[j]), int(np.ceil(rate * max(now, tick_s))))
                batch += queues[j][sent[j]:allowed]
                sent[j] = max(sent[j], allowed)
            if batch:
                for i, s, _ in batch:
                    pipes[s].dump(key_name(i))
                dumps = {}
                for s in sorted({m[1] for m in batch}):
                    dumps[s] = iter(pipes[s].execute())
                for i, s, d in batch:
                    pipes[d].restore(key_name(i), 0, next(dumps[s]), replace=True)
                for j in sorted({m[2] for m in batch}):
                    pipes[j].execute()
                copy_end = time.monotonic()
            time.sleep(max(0.0, tick_s - (time.monotonic() - t_copy - now)))
        copy_s = copy_end - t_copy
        complete = bool(sent.sum() == len(movers))
        # cut-over: the routing switches to n + 1 shards; the moved keys are deleted at their sources
        t_cut = time.monotonic()
        for i, (s, _) in moving.items():
            pipes[s].delete(key_name(i))
        for p in pipes:
            if len(p):
                p.execute()
        cutover_s = time.monotonic() - t_cut
        restores = rs.command_calls("restore")
        after = rs.dbsizes()
        # verification: every key on exactly its new owner, with its last written value
        owners = route_new(key_ids)
        expected = np.bincount(owners, minlength=n + 1)
        misplaced = int(np.abs(after - expected).sum() // 2)
        lost = 0
        if last_value:
            ids = np.array(list(last_value), dtype=np.int64)
            got = [rs.clients[j].get(key_name(i)) for i, j in zip(ids.tolist(), route_new(ids).tolist())]
            lost = sum(g != last_value[i] for g, i in zip(got, ids.tolist()))
        key_bytes = len(key_name(int(key_ids[0]))) + value_bytes
    moved = len(movers)
    return {"shards": n, "new_shards": n + 1, "scheme": scheme, "seed": seed, "n_keys": n_keys,
            "value_bytes": value_bytes, "key_bytes": key_bytes, "copy_rate": rate, "write_rate": write_rate,
            "scanned": scanned, "moved": moved, "moved_fraction": moved / n_keys,
            "moved_by_servers": int(restores.sum()), "per_receiver": per_receiver, "new_shard_received": int(per_receiver[new]),
            "scan_s": scan_s, "copy_s": copy_s, "same_path_copy_s": float(per_receiver.max() / rate),
            "cutover_s": cutover_s, "writes": writes, "double_writes": double, "keys_before": before,
            "keys_after": after, "misplaced": misplaced, "lost_writes": int(lost), "complete": complete}


# --------------------------------------------------------------------------- the experiments

def _load_keys_for(popularity: str, n_requests: int, n_items: int, alpha: float, seed: int):
    if popularity == "uniform":
        return np.random.default_rng(seed).integers(0, UNIFORM_KEY_SPACE, n_requests, dtype=np.int64), None
    pop = zipf_popularity(n_items, alpha)
    return irm_trace(pop, n_requests, seed=seed), pop


def run_shard_load(quick: bool, seed: int) -> dict:
    """Experiment ``shard-load``: per-shard load of uniform and Zipf keys on four Redis shards, against the skew models."""
    shards, alpha, n_items = 4, 1.0, 100_000
    n_req, repeats = (20_000, 2) if quick else (50_000, 8)
    cases = (("modulo", 0), ("consistent", 100), ("consistent", 1))
    rows, model_rows = [], []
    for popularity in ("uniform", "zipf"):
        for scheme, v in cases:
            for r in range(repeats):
                s = seed + 1000 * r + 7
                ids, pop = _load_keys_for(popularity, n_req, n_items, alpha, s)
                m = measure_shard_load(ids, shards, scheme, vnodes=max(v, 1), seed=s)
                shares = _placement_shares(pop, shards, scheme, max(v, 1), s)
                rows.append({"popularity": popularity, "scheme": scheme, "vnodes": v, "repeat": r, "seed": s,
                             "requests": m["requests"], "hot_over_mean": m["hot_over_mean"],
                             "placement_hot_over_mean": float(shards * shares.max()),
                             "keys_hot_over_mean": m["keys_hot_over_mean"], "cpu_hot_over_mean": m["cpu_hot_over_mean"],
                             "lost": int(np.abs(m["server_calls"] - m["routed"]).sum()),
                             "request_rate": m["request_rate"], "complete": m["complete"],
                             **{f"calls_{j}": int(x) for j, x in enumerate(m["server_calls"])},
                             **{f"keys_{j}": int(x) for j, x in enumerate(m["keys"])}})
            e = expected_hot_shard(None if pop is None else pop, shards, scheme, n_requests=n_req, vnodes=max(v, 1),
                                   n_trials=100 if quick else 400, seed=seed)
            model_rows.append({"popularity": popularity, "scheme": scheme, "vnodes": v, "model": e["model"],
                               "model_name": e["model_name"],
                               "placements": e["placements"], "placements_ci": e["placements_ci"]})
    runs = pd.DataFrame(rows)
    g = runs.groupby(["popularity", "scheme", "vnodes"], sort=False)
    summary = g.agg(repeats=("hot_over_mean", "size"), measured=("hot_over_mean", "mean"),
                    same_placement=("placement_hot_over_mean", "mean"), cpu=("cpu_hot_over_mean", "mean"),
                    lost=("lost", "sum"), request_rate=("request_rate", "mean")).reset_index()
    summary["measured_ci"] = [_t_half(x["hot_over_mean"]) for _, x in g]
    summary["cpu_ci"] = [_t_half(x["cpu_hot_over_mean"]) for _, x in g]
    summary = summary.merge(pd.DataFrame(model_rows), on=["popularity", "scheme", "vnodes"])
    setup = pd.DataFrame([{"shards": shards, "alpha": alpha, "n_items": n_items, "n_requests": n_req,
                           "uniform_key_space": UNIFORM_KEY_SPACE, "batch": BATCH}])
    return {"runs": runs, "summary": summary, "setup": setup}


def run_resharding(quick: bool, seed: int) -> dict:
    """Experiment ``resharding``: 4 -> 5 Redis shards, consistent and modulo, throttled copy with double writes."""
    shards, value_bytes, write_rate = 4, 100, 500.0
    n_keys, repeats, rates = (8_000, 1, (1000.0,)) if quick else (40_000, 5, (1000.0, 4000.0))
    rows = []
    for scheme, rate, r in ((sch, q, k) for q in rates for sch in ("consistent", "modulo") for k in range(repeats)):
        s = seed + 1000 * r + 11
        m = measure_resharding(n_keys, shards, scheme, copy_rate=rate, value_bytes=value_bytes,
                               write_rate=write_rate, seed=s)
        cost = resharding_cost(shards, shards + 1, scheme, data_gb=n_keys * m["key_bytes"] / 1e9,
                               copy_mb_per_s=rate * m["key_bytes"] / 1e6, write_rate=write_rate)
        rows.append({**{k: v for k, v in m.items() if k not in ("per_receiver", "keys_before", "keys_after")},
                     "busiest_receiver": int(m["per_receiver"].max()),
                     "model_moved_fraction": keys_moved_fraction(shards, shards + 1, scheme),
                     "model_copy_s": cost.copy_time_s, "model_double_writes": cost.double_writes,
                     "same_path_double_writes": write_rate * m["moved_fraction"] * m["copy_s"]})
    runs = pd.DataFrame(rows)
    g = runs.groupby(["copy_rate", "scheme"], sort=False)
    cols = ("moved_fraction", "copy_s", "same_path_copy_s", "double_writes", "scan_s", "cutover_s")
    summary = g.agg(repeats=("seed", "size"), model_moved_fraction=("model_moved_fraction", "first"),
                    model_copy_s=("model_copy_s", "first"), model_double_writes=("model_double_writes", "first"),
                    misplaced=("misplaced", "sum"), lost_writes=("lost_writes", "sum"),
                    **{c: (c, "mean") for c in cols}).reset_index()
    for c in cols:
        summary[c + "_ci"] = [_t_half(x[c]) for _, x in g]
    setup = pd.DataFrame([{"shards": shards, "new_shards": shards + 1, "n_keys": n_keys, "value_bytes": value_bytes,
                           "write_rate": write_rate, "vnodes": 100}])
    return {"runs": runs, "summary": summary, "setup": setup}
