"""Database replication: read scaling, replication lag, and what an async failover loses.

A primary takes every write; :math:`r` replicas each apply the primary's write
stream and serve reads.  Read replicas multiply read capacity but not write
capacity, and every replica still pays for every write, so the gain
saturates.

The replication lag of a replica is modelled as a queue: writes arrive as a
Poisson stream of rate :math:`\\lambda_w` (the primary's commit rate) and one
apply thread executes them in order at rate :math:`\\mu` (exponential apply
times) — an M/M/1 queue, :class:`scaling_lab.queueing.MMc` with one server.
The lag of a write (commit on the primary to visible on the replica) is its
response time, exponential with rate :math:`\\mu - \\lambda_w`, plus a fixed
network delay.

References
----------
L. Kleinrock, *Queueing Systems, Volume 1*, Wiley, 1975, §3.2 (M/M/1).
Martin Kleppmann, *Designing Data-Intensive Applications*, O'Reilly, 2017, ch. 5
(replication lag, read-your-writes, failover).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core.validation import (MAX_COUNT, check_fields, check_integer, check_invertible, check_nonnegative,
                              check_positive, check_probability)
from .queueing import MMc, _DelayedMMc
from .core.arrays import scalar_or_array

__all__ = ["ReadScaling", "read_scaling", "ReplicationLag", "apply_thread_rate", "ReplicaLoss", "replica_loss"]


@dataclass(frozen=True)
class ReadScaling:
    """Capacity of a primary with read replicas.

    Attributes
    ----------
    max_request_rate : float
        Total requests per second (reads + writes) the group carries.
    bottleneck : str
        ``"primary"`` or ``"replicas"``: which saturates first.
    primary_rate_limit, replica_rate_limit : float
        Total rate at which each would saturate on its own.
    """

    max_request_rate: float
    bottleneck: str
    primary_rate_limit: float
    replica_rate_limit: float


def read_scaling(read_fraction: float, replicas: int, *, primary_capacity_per_s: float,
                 replica_capacity_per_s: float | None = None, apply_cost: float = 1.0,
                 reads_on_primary: bool = False) -> ReadScaling:
    """Request rate a primary plus ``replicas`` read replicas can carry.

    With total rate :math:`R`, read fraction :math:`f`, reads spread evenly
    over :math:`k` nodes (:math:`k = r`, or :math:`r + 1` with
    ``reads_on_primary``), each replica applying every write at ``apply_cost``
    times the cost of a request:

    .. math:: \\text{primary: } R\\,\\Big[(1 - f) + \\tfrac{f}{k}\\,[\\text{reads on primary}]\\Big] \\le c_p,
    .. math:: \\text{replica: } R\\,\\Big[\\tfrac{f}{k} + a\\,(1 - f)\\Big] \\le c_r.

    The carried rate is the smaller of the two limits.  With no replicas the
    primary serves everything (:math:`R \\le c_p`).  As :math:`r \\to \\infty`
    the replica limit tends to :math:`c_r / (a(1-f))`: replicas cannot scale
    past the write stream they must replay.

    Parameters
    ----------
    read_fraction : float
        :math:`f` in [0, 1].
    replicas : int
        :math:`r \\ge 0`.
    primary_capacity_per_s, replica_capacity_per_s : float
        Requests per second one node completes at full utilization (replica
        defaults to the primary's).
    apply_cost : float
        :math:`a \\ge 0`, cost of applying one replicated write relative to one
        request (row-based replication is often cheaper than the original
        statement: 0.3-1).
    reads_on_primary : bool
        Whether the primary also serves its share of reads.

    References
    ----------
    Kleppmann (2017), ch. 5.
    """
    f = check_probability(read_fraction, "read_fraction", scalar=True)
    r = check_integer(replicas, "replicas", minimum=0, maximum=MAX_COUNT, scalar=True)
    cp = check_positive(primary_capacity_per_s, "primary_capacity_per_s", scalar=True)
    cr = cp if replica_capacity_per_s is None else check_positive(replica_capacity_per_s, "replica_capacity_per_s", scalar=True)
    a = check_nonnegative(apply_cost, "apply_cost", scalar=True)
    if r == 0:
        return ReadScaling(cp, "primary", cp, np.inf)
    k = r + 1 if reads_on_primary else r
    primary_share = (1.0 - f) + (f / k if reads_on_primary else 0.0)
    replica_share = f / k + a * (1.0 - f)
    with np.errstate(divide="ignore"):
        p_lim = cp / primary_share if primary_share > 0 else np.inf
        r_lim = cr / replica_share if replica_share > 0 else np.inf
    best = min(p_lim, r_lim)
    return ReadScaling(float(best), "primary" if p_lim <= r_lim else "replicas", float(p_lim), float(r_lim))


@dataclass(frozen=True)
class ReplicationLag(_DelayedMMc):
    """Lag of an asynchronous replica applying the primary's writes one at a time.

    An M/M/1 queue: writes arrive at ``write_rate`` per second, the replica's
    apply thread completes ``apply_rate`` per second.  The lag :math:`L` of a
    write is :math:`D + T` with :math:`D` = ``network_delay_s`` and
    :math:`T \\sim \\mathrm{Exp}(\\mu - \\lambda_w)` the M/M/1 response time:

    .. math:: E[L] = D + \\frac{1}{\\mu - \\lambda_w}, \\qquad
              P(L > t) = e^{-(\\mu - \\lambda_w)(t - D)} \\; (t \\ge D).

    ``write_rate >= apply_rate`` is not an error: the replica falls behind
    without bound and every lag is ``inf``.

    Parameters
    ----------
    write_rate : float
        :math:`\\lambda_w`, writes per second, > 0.
    apply_rate : float
        :math:`\\mu`, writes per second the replica applies, > 0.
    network_delay_s : float
        :math:`D`, one-way shipping delay in seconds, >= 0.

    References
    ----------
    Kleinrock (1975), §3.2; Kleppmann (2017), ch. 5.
    """

    write_rate: float
    apply_rate: float
    network_delay_s: float = 0.0

    def __post_init__(self):
        check_fields(self, scalar=True, write_rate=check_positive, apply_rate=check_positive,
                     network_delay_s=check_nonnegative)

    @property
    def queue(self) -> MMc:
        """The replica's apply queue as an M/M/1 :class:`~scaling_lab.queueing.MMc`."""
        return MMc(self.write_rate, self.apply_rate, 1)

    @property
    def mean_lag(self) -> float:
        """:math:`E[L] = D + 1/(\\mu - \\lambda_w)` seconds (``inf`` if unstable)."""
        return float(self.network_delay_s + self.queue.mean_response)

    def prob_lag_exceeds(self, t):
        """:math:`P(L > t)` for ``t`` >= 0 seconds."""
        return self._prob_lag_exceeds(check_nonnegative(t, "t"))

    def _prob_lag_exceeds(self, t):
        t = np.asarray(t, dtype=float)
        shifted = np.maximum(t - self.network_delay_s, 0.0)
        p = np.asarray(self.queue.prob_response_exceeds(shifted))
        p = np.where(t < self.network_delay_s, 1.0, p)
        return scalar_or_array(p)

    def lag_quantile(self, q):
        """The q-quantile of the lag in seconds, :math:`D + \\ln(1/(1-q))/(\\mu - \\lambda_w)`."""
        return self._quantile_after(self.network_delay_s, q)

    @property
    def prob_behind(self) -> float:
        """Fraction of time the replica has unapplied writes, :math:`\\rho = \\lambda_w/\\mu` (1 if unstable).

        Network delay aside: writes in flight are not counted.
        """
        return float(min(1.0, self.write_rate / self.apply_rate))

    def stale_read_probability(self, read_delay_s):
        """Probability a user reading their own write ``read_delay_s`` seconds later from the replica misses it.

        .. math:: P(\\text{stale}) = P(L > \\delta)

        (read-your-writes violation).  The user's write is a Poisson arrival,
        so it sees the stationary queue (PASTA).
        """
        return self._prob_lag_exceeds(check_nonnegative(read_delay_s, "read_delay_s"))

    def read_delay_for(self, max_stale_probability):
        """Least delay :math:`\\delta` (seconds) with :math:`P(L > \\delta) \\le p`.

        .. math:: \\delta = D + \\frac{\\ln(1/p)}{\\mu - \\lambda_w}

        (0 if ``p`` = 1, ``inf`` if the replica cannot keep up.)
        """
        p = np.asarray(check_probability(max_stale_probability, "max_stale_probability"), dtype=float)
        if np.any(p == 0):
            raise ValueError("max_stale_probability must be in (0, 1]: the lag is unbounded")
        q = np.clip(1.0 - p, 1e-300, None)
        # p below the float spacing of 1 (about 1.1e-16) makes q = 1 - p round to 1: there the M/M/1 lag's
        # exponential tail P(L - D > t) = exp(-(mu - lambda) t) is inverted directly, ln(1/p) / (mu - lambda)
        direct = (q >= 1.0) & (p < 1.0)
        with np.errstate(divide="ignore"):
            out = np.where(p >= 1.0, 0.0, self.network_delay_s + np.asarray(
                self.queue.response_quantile(np.where((p >= 1.0) | direct, 0.5, q))))
        if direct.any():
            theta = self.apply_rate - self.write_rate
            tail = -np.log(p) / theta if theta > 0 else np.inf
            out = np.where(direct, self.network_delay_s + tail, out)
        return scalar_or_array(out)

    @property
    def expected_writes_lost(self) -> float:
        """Expected committed writes lost if the primary dies now and this replica is promoted.

        Writes committed on the primary but not applied on the replica are
        lost (asynchronous replication, the replica's unapplied backlog
        treated as lost, plus the writes still in flight):

        .. math:: E[\\text{lost}] = \\frac{\\rho}{1 - \\rho} + \\lambda_w D

        By PASTA a failure at a random time sees the stationary queue.
        ``inf`` if the replica cannot keep up.
        """
        return float(self.queue.mean_in_system + self.write_rate * self.network_delay_s)

    def prob_writes_lost_exceeds(self, k):
        """:math:`P(\\text{backlog} > k) = \\rho^{k+1}` (network delay 0), the M/M/1 queue-length tail."""
        k = np.asarray(check_integer(k, "k", minimum=0, maximum=MAX_COUNT), dtype=float)
        rho = self.write_rate / self.apply_rate
        out = np.where(rho >= 1, 1.0, np.power(min(rho, 1.0), k + 1))
        return scalar_or_array(out)

    def __repr__(self) -> str:
        return (f"ReplicationLag(write_rate={self.write_rate!r}, apply_rate={self.apply_rate!r}, "
                f"network_delay_s={self.network_delay_s!r})")


def apply_thread_rate(node_capacity_per_s: float, cores: int, apply_cost: float = 1.0) -> float:
    """Writes per second one apply thread replays, on a node of ``cores`` cores.

    A node that completes :math:`c_n` requests per second on :math:`m` cores
    spends :math:`m/c_n` core-seconds per request; replaying a write costs
    :math:`a` times that, and a single apply thread uses one core:

    .. math:: \\mu = \\frac{c_n}{m\\,a}.

    With :math:`m = 4`, :math:`c_n = 1000` and :math:`a = 0.5`: 2 ms a write,
    500 writes per second, while the whole node could replay
    :math:`c_n/a = 2000`.  The lag model (:class:`ReplicationLag`) takes
    :math:`\\mu` as its ``apply_rate``.

    Parameters
    ----------
    node_capacity_per_s : float
        :math:`c_n > 0`, requests per second of the whole node at full utilization.
    cores : int
        :math:`m \\ge 1`.
    apply_cost : float
        :math:`a > 0`, cost of replaying a write relative to one request.

    References
    ----------
    Kleppmann (2017), ch. 5; PostgreSQL and MySQL replicas apply the stream
    with one process or thread unless parallel apply is configured.
    """
    cap = check_positive(node_capacity_per_s, "node_capacity_per_s", scalar=True)
    m = check_integer(cores, "cores", minimum=1, maximum=MAX_COUNT, scalar=True)
    a = check_positive(apply_cost, "apply_cost", scalar=True)
    return float(cap / (m * a))


@dataclass(frozen=True)
class ReplicaLoss:
    """Result of :func:`replica_loss`: each read replica before and after losing some.

    Attributes
    ----------
    utilization_before, utilization_after : float
        Fraction of a replica's capacity in use (>= 1: overloaded).
    mean_read_before_s, mean_read_after_s : float
        Mean response of a read, seconds (``inf`` when overloaded).
    replicas_to_saturation : int
        Replicas that can be lost before the rest saturate (reads and replay at 100 %).
    """

    utilization_before: float
    utilization_after: float
    mean_read_before_s: float
    mean_read_after_s: float
    replicas_to_saturation: int

    @property
    def stable_after(self) -> bool:
        """True when the remaining replicas keep up."""
        return self.utilization_after < 1.0


def replica_loss(arrival_rate: float, read_fraction: float, replicas: int, *, node_capacity_per_s: float,
                 cores: int, apply_cost: float = 1.0, lost: int = 1) -> ReplicaLoss:
    """What losing ``lost`` of ``replicas`` read replicas does to the others' load and read latency.

    Each replica serves its share :math:`fR/r` of the reads and replays all
    :math:`(1-f)R` writes at cost :math:`a` (:func:`read_scaling`), so its
    load in request-equivalents per second and its utilization are

    .. math:: \\lambda_r = \\frac{fR}{r} + a(1-f)R, \\qquad \\rho = \\frac{\\lambda_r}{c_n}.

    Reads queue at the node's :math:`m` cores, modelled as an M/M/m queue
    with rate :math:`c_n/m` per core fed at :math:`\\lambda_r`; the mean read
    time is that queue's mean response.  After losing :math:`\\ell` replicas
    the same holds with :math:`r - \\ell`.  The replicas that may be lost
    before saturation are :math:`r - \\lfloor fR/(c_n - a(1-f)R) \\rfloor - 1`
    (none if the writes alone saturate a replica).  A promoted replica leaves
    the read pool too: a failover of the primary is a loss of one replica.

    Parameters
    ----------
    arrival_rate : float
        :math:`R > 0`, requests per second (reads and writes).
    read_fraction : float
        :math:`f` in [0, 1].
    replicas : int
        :math:`r \\ge 1` before the loss.
    node_capacity_per_s : float
        :math:`c_n`, requests per second of one replica at full utilization.
    cores : int
        :math:`m \\ge 1` cores per replica.
    apply_cost : float
        :math:`a \\ge 0`.
    lost : int
        :math:`\\ell`, replicas lost, in [0, r - 1].

    References
    ----------
    Kleppmann (2017), ch. 5; Kleinrock (1975) for the M/M/m queue.
    """
    lam = check_positive(arrival_rate, "arrival_rate", scalar=True)
    f = check_probability(read_fraction, "read_fraction", scalar=True)
    r = check_integer(replicas, "replicas", minimum=1, maximum=MAX_COUNT, scalar=True)
    cap = check_invertible(node_capacity_per_s, "node_capacity_per_s", scalar=True)  # 1 / cap: a finite time
    m = check_integer(cores, "cores", minimum=1, maximum=MAX_COUNT, scalar=True)
    a = check_nonnegative(apply_cost, "apply_cost", scalar=True)
    gone = check_integer(lost, "lost", minimum=0, maximum=MAX_COUNT, scalar=True)
    if gone >= r:
        raise ValueError(f"lost must be in [0, replicas - 1 = {r - 1}], got {gone}")
    replay = a * (1 - f) * lam

    def state(k: int) -> tuple[float, float]:
        load = f * lam / k + replay
        return load / cap, float(MMc(load, cap / m, m).mean_response) if load > 0 else m / cap

    (u0, t0), (u1, t1) = state(r), state(r - gone)
    spare = cap - replay
    needed = math.floor(f * lam / spare) + 1 if spare > 0 else None  # fewest replicas strictly below 100 %
    can_lose = max(r - max(needed, 1), 0) if needed is not None else 0
    return ReplicaLoss(float(u0), float(u1), t0, t1, int(can_lose))
