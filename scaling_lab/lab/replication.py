"""Chapter 5 in the lab: real PostgreSQL streaming replication, its lag, its commit cost, its failover.

Every experiment runs a real primary and a real streaming replica
(:class:`~scaling_lab.lab.postgres.Postgres`) on 127.0.0.1.  Writes are sent
open loop: their times are drawn first from
:class:`~scaling_lab.simulation.PoissonArrivals`, each is sent at its time on
one connection whatever the earlier ones do, and each carries an id recorded
with the time its commit acknowledgement reached the client.

Lag, measured twice:

* a poller on the replica reads ``max(id)`` of the marker table every
  ``POLL_INTERVAL_S``; write :math:`i` became visible between the last poll
  that did not see it and the first that did (the midpoint is taken; the
  resolution is one poll, about half a millisecond).  Its lag is
  :math:`V_i - A_i`, visible minus acknowledged, negative when the replica
  showed the row before the client heard of its commit;
* ``pg_stat_replication.replay_lag`` sampled on the primary (PostgreSQL's own
  estimate, ``NULL`` when it has nothing recent to report).

Two regimes.  On loopback the replica's single replay process applies a
single-row transaction in about a microsecond, so at any write rate a client
can send it is nearly idle and the lag is process wake-up and scheduling
noise, not a queue.  To exhibit the chapter's queue, the replica is given a
CPU quota (a cgroup: ``REPLICA_QUOTA`` = 2 % of a core, granted per
``REPLICA_PERIOD_S`` = 50 ms) and heavier transactions (``HEAVY_ROWS`` = 100
rows into an unindexed table), which makes its replay the real
bottleneck; its apply capacity :math:`\\mu` is measured by pausing replay,
writing a backlog, resuming and timing the drain.

The model is :class:`scaling_lab.replication.ReplicationLag` with the
measured :math:`\\mu` and, as its fixed delay :math:`D`, the lag measured at
the lowest write rate minus the model's queueing part there (as chapter 1 adds
the measured zero-load overhead).  The same-path replay feeds the run's own
acknowledgement times through one FCFS server with the deterministic apply
time :math:`1/\\mu` (:func:`scaling_lab.simulation.fcfs_start_times`) and adds :math:`D`.

References
----------
PostgreSQL 15 documentation, §27.2.5 "Streaming Replication", §27.2.8
"Synchronous Replication", §28.2 ``pg_stat_replication``, §9.27.4 recovery
control functions (``pg_wal_replay_pause``, ``pg_promote``); Kleppmann,
*Designing Data-Intensive Applications*, O'Reilly, 2017, ch. 5.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd

from ..replication import ReplicationLag
from ..simulation import PoissonArrivals, fcfs_start_times
from ._checks import check_choice, check_in_range, check_integer, check_positive
from .postgres import Postgres, cgroup_cpu_available
from .process import realtime_available

__all__ = ["COMMIT_LEVELS", "POLL_INTERVAL_S", "measure_apply_rate", "measure_lag", "measure_stale_reads",
           "measure_commit_latency", "measure_failover", "lag_model", "stalled_runs", "summarize_lag_runs", "run_replication_lag",
           "run_commit_latency", "run_failover"]

#: The poller's period on the replica, seconds (the resolution of a measured lag).
POLL_INTERVAL_S = 0.0005
#: ``synchronous_commit`` levels, with ``synchronous_standby_names = '*'`` on the primary.
COMMIT_LEVELS = ("off", "local", "remote_write", "on", "remote_apply")
HEAVY_ROWS = 100
#: The replay process's CPU quota in the bottleneck regime (cores), and the quota's period (s).
REPLICA_QUOTA, REPLICA_PERIOD_S = 0.02, 0.05

_DDL = """
create table if not exists w (id bigint primary key, at float8);
create table if not exists h (id bigint, k bigint, pad text);
"""
_ROW = "insert into w values (%s, %s)"
_HEAVY = ("with x as (insert into h select %s, g, repeat('x', 100) from generate_series(1, %s) g) "
          "insert into w values (%s, %s)")


def _set_realtime() -> None:
    """Put the calling thread under SCHED_FIFO 10 when allowed (it sleeps between operations)."""
    if realtime_available():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except OSError:
            pass


def _write(conn, wid: int, rows: int) -> None:
    if rows <= 1:
        conn.execute(_ROW, (wid, time.monotonic()))
    else:
        conn.execute(_HEAVY, (wid, rows, wid, time.monotonic()))


def _setup(primary: Postgres) -> None:
    with primary.connect() as conn:
        conn.execute(_DDL)


def _wait_for(pred, timeout_s: float, step_s: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step_s)
    return False


def _max_id(conn) -> int:
    v = conn.execute("select max(id) from w").fetchone()[0]
    return -1 if v is None else int(v)


def _caught_up(primary: Postgres, replica: Postgres, timeout_s: float = 30.0) -> bool:
    with primary.connect() as p, replica.connect() as r:
        lsn = p.execute("select pg_current_wal_lsn()").fetchone()[0]
        return _wait_for(lambda: r.execute("select pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0],
                         timeout_s)


# --------------------------------------------------------------------------- measurements

def measure_apply_rate(primary: Postgres, replica: Postgres, *, n_writes: int = 2000, rows: int = 1,
                       first_id: int = -10**12) -> float:
    """The replica's apply capacity :math:`\\mu` (transactions per second), measured by a timed drain.

    Pauses replay on the replica (``pg_wal_replay_pause``), commits
    ``n_writes`` transactions of ``rows`` rows on the primary, waits until the
    replica has *received* all their WAL, resumes replay and times until it has
    replayed it: :math:`\\mu = n / t_{drain}`.  Ids are negative (from
    ``first_id``) so they never disturb a lag poller's ``max(id)``.
    """
    n_writes = check_integer(n_writes, "n_writes", minimum=10, maximum=10**6)
    rows = check_integer(rows, "rows", minimum=1, maximum=10_000)
    _setup(primary)
    with primary.connect() as p, replica.connect() as r:
        _caught_up(primary, replica)
        r.execute("select pg_wal_replay_pause()")
        try:
            if not _wait_for(lambda: r.execute("select pg_get_wal_replay_pause_state()").fetchone()[0] == "paused", 10):
                raise RuntimeError("replica replay did not pause")
            for i in range(n_writes):
                _write(p, first_id + i, rows)
            lsn = p.execute("select pg_current_wal_lsn()").fetchone()[0]
            if not _wait_for(lambda: r.execute("select pg_last_wal_receive_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0], 30):
                raise RuntimeError("replica did not receive the backlog")
        finally:
            t0 = time.monotonic()
            r.execute("select pg_wal_replay_resume()")
        done = _wait_for(lambda: r.execute("select pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0],
                         60, step_s=0.0005)
        drain = time.monotonic() - t0
    if not done:
        raise RuntimeError("replica did not replay the backlog within 60 s")
    return n_writes / drain


class _Poller(threading.Thread):
    """Polls ``max(id)`` on the replica every ``POLL_INTERVAL_S`` until stopped (or ``max_s``)."""

    def __init__(self, replica: Postgres, max_s: float):
        super().__init__(name="scaling-lab-poller", daemon=True)
        self.replica, self.max_s = replica, max_s
        self.stop_event = threading.Event()
        self.t: list[float] = []
        self.m: list[int] = []
        self.error: BaseException | None = None

    def run(self):
        _set_realtime()
        try:
            with self.replica.connect() as conn:
                deadline = time.monotonic() + self.max_s
                while not self.stop_event.is_set() and time.monotonic() < deadline:
                    a = time.monotonic()
                    m = _max_id(conn)
                    b = time.monotonic()
                    self.t.append(0.5 * (a + b))
                    self.m.append(m)
                    rest = POLL_INTERVAL_S - (time.monotonic() - a)
                    if rest > 0:
                        time.sleep(rest)
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def visible_times(self, ids: np.ndarray) -> np.ndarray:
        """When each id became visible: midpoint of the last poll without it and the first with it (nan: never)."""
        t, m = np.asarray(self.t), np.asarray(self.m)
        k = np.searchsorted(m, ids, side="left")  # max(id) is non-decreasing: ids commit in order
        out = np.full(len(ids), np.nan)
        ok = (k > 0) & (k < len(m))
        out[ok] = 0.5 * (t[k[ok] - 1] + t[k[ok]])
        return out


class _Sampler(threading.Thread):
    """Samples ``pg_stat_replication.replay_lag`` (seconds, nan for NULL) on the primary every ``period_s``."""

    def __init__(self, primary: Postgres, period_s: float, max_s: float):
        super().__init__(name="scaling-lab-sampler", daemon=True)
        self.primary, self.period_s, self.max_s = primary, period_s, max_s
        self.stop_event = threading.Event()
        self.values: list[float] = []

    def run(self):
        try:
            with self.primary.connect() as conn:
                deadline = time.monotonic() + self.max_s
                while not self.stop_event.wait(self.period_s) and time.monotonic() < deadline:
                    v = conn.execute("select extract(epoch from replay_lag) from pg_stat_replication").fetchone()
                    self.values.append(np.nan if v is None or v[0] is None else float(v[0]))
        except Exception:  # a sampler error only loses samples
            pass


def _open_loop_writes(primary: Postgres, times: np.ndarray, ids: np.ndarray, rows: int, *,
                      timeout_s: float, commit_level: str | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Send write ``ids[k]`` at ``t0 + times[k]`` on one connection; returns sent, acknowledged (nan if not), t0.

    ``commit_level``, if given, is the connection's ``synchronous_commit`` (one of ``COMMIT_LEVELS``).
    """
    sent, acked = np.full(len(times), np.nan), np.full(len(times), np.nan)
    box: dict = {}

    def target():
        _set_realtime()
        try:
            with primary.connect() as conn:
                if commit_level is not None:
                    conn.execute(f"set synchronous_commit = {commit_level}")
                t0 = box["t0"] = time.monotonic() + 0.05
                deadline = t0 + times[-1] + timeout_s if len(times) else t0
                for k in range(len(times)):
                    delay = t0 + times[k] - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if time.monotonic() > deadline:
                        break
                    sent[k] = time.monotonic()
                    _write(conn, int(ids[k]), rows)
                    acked[k] = time.monotonic()
        except BaseException as exc:
            box["error"] = exc

    th = threading.Thread(target=target, name="scaling-lab-writer", daemon=True)
    th.start()
    th.join(times[-1] + timeout_s + 10 if len(times) else 10)
    if "error" in box:
        raise box["error"]
    return sent, acked, box.get("t0", np.nan)


def _schedule(write_rate: float, duration_s: float, seed: int) -> np.ndarray:
    n = int(write_rate * duration_s * 1.5 + 50)
    t = PoissonArrivals(write_rate).times(np.random.default_rng(seed), n)
    return t[t < duration_s]


def measure_lag(primary: Postgres, replica: Postgres, write_rate: float, duration_s: float, *, rows: int = 1,
                seed: int = 0, first_id: int = 0, warmup_s: float = 1.0) -> dict:
    """Lag of every write of an open-loop Poisson stream of ``write_rate`` transactions per second.

    Returns the per-write lags (``lags``, seconds, visible on the replica minus
    acknowledged to the client), the acknowledgement times (``acked``), the
    ``replay_lag`` samples, and a summary: mean, p50, p99 of the lag, the
    fraction of rows visible before their acknowledgement, rows never seen, the
    writer's schedule lag p99, the achieved rate and the rate at which writes
    became visible on the replica (``visible_rate``, over the middle 80 % of
    them: the replica's live apply capacity when it is overloaded).  The first
    ``warmup_s`` seconds are not counted.
    """
    write_rate = check_positive(write_rate, "write_rate")
    duration_s = check_in_range(duration_s, "duration_s", 0.0, 600.0, low_open=True)
    rows = check_integer(rows, "rows", minimum=1, maximum=10_000)
    seed = check_integer(seed, "seed", minimum=0)
    _setup(primary)
    times = _schedule(write_rate, duration_s, seed)
    ids = first_id + np.arange(len(times))
    with replica.connect() as r:  # the poller needs the table on the replica
        if not _wait_for(lambda: r.execute("select to_regclass('w') is not null").fetchone()[0], 10):
            raise RuntimeError("table w never reached the replica")
    poller = _Poller(replica, duration_s + 40)
    sampler = _Sampler(primary, 0.25, duration_s + 40)
    poller.start()
    sampler.start()
    try:
        sent, acked, t0 = _open_loop_writes(primary, times, ids, rows, timeout_s=10.0)
        last = int(ids[np.isfinite(acked)].max()) if np.isfinite(acked).any() else -1
        _wait_for(lambda: len(poller.m) > 0 and poller.m[-1] >= last, 20)
        time.sleep(0.01)
    finally:
        poller.stop_event.set()
        sampler.stop_event.set()
        poller.join(10)
        sampler.join(10)
    if poller.error is not None:
        raise poller.error
    ok = np.isfinite(acked)
    visible = poller.visible_times(ids)
    lags = visible - acked
    counted = ok & (times >= warmup_s)
    lag = lags[counted]
    seen = np.isfinite(lag)
    rl = np.asarray(sampler.values, dtype=float)
    vis = np.sort((acked[counted] + lag)[seen])
    a, b = (np.quantile(vis, [0.1, 0.9]) if len(vis) > 10 else (np.nan, np.nan))
    visible_rate = float(np.sum((vis >= a) & (vis <= b)) / (b - a)) if b > a else np.nan
    return {"lags": lags[counted], "acked": acked[counted],
            "summary": {"write_rate": write_rate, "rows": rows, "writes": int(counted.sum()),
                        "achieved_rate": float(ok.sum() / duration_s),
                        "never_seen": int((~seen).sum()), "visible_rate": visible_rate,
                        "lag_growth": float(np.polyfit(acked[counted][seen], lag[seen], 1)[0]) if seen.sum() > 2 else np.nan,
                        "lag_mean": float(np.mean(lag[seen])), "lag_p50": float(np.quantile(lag[seen], 0.5)),
                        "lag_p99": float(np.quantile(lag[seen], 0.99)),
                        "visible_before_ack": float(np.mean(lag[seen] < 0)),
                        "schedule_lag_p99": float(np.nanquantile(sent - (t0 + times), 0.99)),
                        "replay_lag_mean": float(np.nanmean(rl)) if np.isfinite(rl).any() else np.nan,
                        "replay_lag_null_fraction": float(np.mean(~np.isfinite(rl))) if len(rl) else np.nan}}


def lag_model(write_rate: float, apply_rate: float, delay_s: float) -> ReplicationLag:
    """The chapter's lag model with the measured apply rate and fixed delay (``delay_s`` clipped at 0)."""
    return ReplicationLag(write_rate, apply_rate, max(0.0, float(delay_s)))


def replay_lag(acked: np.ndarray, apply_rate: float, delay_s: float) -> np.ndarray:
    """Same-path lag: the run's acknowledgement times through one FCFS server of fixed time ``1/apply_rate``, plus ``delay_s``."""
    a = np.sort(np.asarray(acked, dtype=float)[np.isfinite(acked)])
    s = np.full(len(a), 1.0 / apply_rate)
    start, _ = fcfs_start_times(a, s, 1)
    return start + s - a + max(0.0, delay_s)


def measure_stale_reads(primary: Postgres, replica: Postgres, delays_s, *, probes: int = 100,
                        background_rate: float = 0.0, rows: int = 1, seed: int = 0, first_id: int = -1) -> pd.DataFrame:
    """Read-your-writes, measured: commit a row, wait ``delay``, read it on the replica; P(missing) per delay.

    ``probes`` probes per delay (in random order), each on its own commit, while
    an open-loop stream of ``background_rate`` writes per second of ``rows``
    rows runs beside them.  Probe ids count down from ``first_id`` (negative,
    so they never disturb the lag poller's ``max(id)``).
    """
    delays = np.atleast_1d(np.asarray(check_in_range(delays_s, "delays_s", 0.0, 10.0), dtype=float))
    probes = check_integer(probes, "probes", minimum=1, maximum=100_000)
    background_rate = check_in_range(background_rate, "background_rate", 0.0, 100_000.0)
    _setup(primary)
    _caught_up(primary, replica)
    order = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(delays)), probes))
    stale = np.zeros(len(delays), dtype=int)
    est_s = float(len(order) * (delays.mean() + 0.003))
    bg = None
    if background_rate > 0:
        times = _schedule(background_rate, est_s + 1.0, seed + 1)
        ids = -2 * 10**12 - np.arange(len(times))
        bg = threading.Thread(target=_open_loop_writes, args=(primary, times, ids, rows), kwargs={"timeout_s": 5.0},
                              daemon=True)
        bg.start()
        time.sleep(0.3)
    box: dict = {}

    def target():
        _set_realtime()
        try:
            with primary.connect() as p, replica.connect() as r:
                deadline = time.monotonic() + est_s * 3 + 20
                for n, j in enumerate(order):
                    if time.monotonic() > deadline:
                        raise RuntimeError("stale-read probes overran their time bound")
                    wid = first_id - n
                    p.execute(_ROW, (wid, time.monotonic()))
                    due = time.monotonic() + delays[j]
                    rest = due - time.monotonic()
                    if rest > 0:
                        time.sleep(rest)
                    if r.execute("select 1 from w where id = %s", (wid,)).fetchone() is None:
                        stale[j] += 1
        except BaseException as exc:
            box["error"] = exc

    th = threading.Thread(target=target, name="scaling-lab-probe", daemon=True)
    th.start()
    th.join(est_s * 3 + 30)
    if bg is not None:
        bg.join(est_s + 20)
    if "error" in box:
        raise box["error"]
    return pd.DataFrame({"delay_s": delays, "probes": probes, "stale": stale, "stale_fraction": stale / probes})


def measure_commit_latency(primary: Postgres, level: str, write_rate: float, duration_s: float, *,
                           seed: int = 0, first_id: int = 0) -> np.ndarray:
    """Commit latencies (seconds, acknowledged minus sent) of single-row writes at ``synchronous_commit = level``.

    The primary must have a standby and ``synchronous_standby_names = '*'``.
    """
    level = check_choice(level, "level", COMMIT_LEVELS)
    write_rate = check_positive(write_rate, "write_rate")
    _setup(primary)
    times = _schedule(write_rate, duration_s, seed)
    sent, acked, _ = _open_loop_writes(primary, times, first_id + np.arange(len(times)), 1, timeout_s=30.0,
                                       commit_level=level)
    return (acked - sent)[np.isfinite(acked)]


# --------------------------------------------------------------------------- failover

def measure_failover(*, synchronous: bool, write_rate: float = 1500.0, writers: int = 4, kill_after_s: float = 2.0,
                     rows: int = 1, replica_cpu_quota: float | None = None, seed: int = 0) -> dict:
    """Kill a primary under load (SIGKILL, every process), promote its replica, count the writes lost.

    ``writers`` connections each send an open-loop Poisson stream of
    ``write_rate / writers`` single-row writes per second to the primary; after
    ``kill_after_s`` the primary is crashed and the replica promoted at once (no
    detection delay); each writer then reconnects to the promoted replica.
    Returned: the acknowledged writes, those missing on the promoted replica
    (``lost``), ids present that no writer sent (must be 0), the promotion
    time and the time from the kill until the first write accepted again.
    ``synchronous=True`` runs the primary with ``synchronous_standby_names =
    '*'`` and ``synchronous_commit = on``: no acknowledged write may be lost.
    ``rows`` > 1 makes each write a heavy transaction, and ``replica_cpu_quota``
    throttles the replica (its WAL receiver and its replay) to that many cores.
    """
    write_rate = check_positive(write_rate, "write_rate")
    rows = check_integer(rows, "rows", minimum=1, maximum=10_000)
    writers = check_integer(writers, "writers", minimum=1, maximum=64)
    kill_after_s = check_in_range(kill_after_s, "kill_after_s", 0.2, 60.0)
    settings = {"synchronous_standby_names": "*", "synchronous_commit": "on"} if synchronous else {}
    import psycopg

    with Postgres(settings=settings) as primary, \
            Postgres(primary=primary, cpu_quota=replica_cpu_quota, cpu_period_s=REPLICA_PERIOD_S) as replica:
        _setup(primary)
        _caught_up(primary, replica)
        horizon = kill_after_s + 1.5
        rng = np.random.default_rng(seed)
        scheds = [PoissonArrivals(write_rate / writers).times(rng, int(write_rate / writers * horizon * 1.5 + 50))
                  for _ in range(writers)]
        scheds = [s[s < horizon] for s in scheds]
        acked = [np.full(len(s), np.nan) for s in scheds]
        sent_mask = [np.zeros(len(s), dtype=bool) for s in scheds]
        back = [np.nan] * writers
        last_error = [""] * writers
        crash = {"at": np.inf}
        t0 = time.monotonic() + 0.2
        stop_at = t0 + horizon + 8.0  # every writer gives up by then

        def writer(w: int):
            _set_realtime()
            target, conn = primary, None
            try:
                for k, t in enumerate(scheds[w]):
                    delay = t0 + t - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    wid = w * 10**7 + k
                    for attempt in range(5000):  # bounded in count and by stop_at
                        if time.monotonic() > stop_at:
                            return
                        try:
                            if conn is None:
                                conn = psycopg.connect(target.dsn, autocommit=True, connect_timeout=2)
                            sent_mask[w][k] = True
                            _write(conn, wid, rows)
                            acked[w][k] = time.monotonic()
                            if target is replica and np.isnan(back[w]):
                                back[w] = acked[w][k] - crash["at"]
                            break
                        except psycopg.errors.UniqueViolation:
                            break  # sent before the crash, committed and replicated, its answer lost: retried, already there
                        except psycopg.Error as exc:
                            last_error[w] = f"{type(exc).__name__}: {exc}"[:200]
                            if conn is not None:
                                conn.close()
                            conn = None
                            if time.monotonic() >= crash["at"]:
                                target = replica
                            time.sleep(0.005)
                    else:
                        return
            finally:
                if conn is not None:
                    conn.close()

        threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(writers)]
        for th in threads:
            th.start()
        time.sleep(max(0.0, t0 + kill_after_s - time.monotonic()))
        crash["at"] = time.monotonic()
        primary.crash()
        p0 = time.monotonic()
        with replica.connect() as conn:  # WAL received but not yet replayed when the primary died
            backlog = conn.execute("select pg_last_wal_receive_lsn() - pg_last_wal_replay_lsn()").fetchone()[0]
        replica.promote()
        promote_s = time.monotonic() - p0
        if replica_cpu_quota is not None:
            replica.set_cpu_quota(None)  # the promoted machine serves with all its CPU
        for th in threads:
            th.join(max(0.1, stop_at + 5 - time.monotonic()))
        with replica.connect() as conn:
            present = {int(x) for (x,) in conn.execute("select id from w where id >= 0").fetchall()}
    acked_ids, sent_ids = set(), set()
    n_before = 0
    for w in range(writers):
        for k in range(len(scheds[w])):
            wid = w * 10**7 + k
            if sent_mask[w][k]:
                sent_ids.add(wid)
            if np.isfinite(acked[w][k]):
                acked_ids.add(wid)
                n_before += acked[w][k] < crash["at"]
    lost = acked_ids - present
    return {"synchronous": bool(synchronous), "write_rate": write_rate, "writers": writers, "rows": rows,
            "replica_cpu_quota": replica_cpu_quota,
            "acked": len(acked_ids), "acked_before_crash": int(n_before), "lost": len(lost),
            "phantom": len(present - sent_ids), "promote_s": promote_s, "replay_backlog_bytes": int(backlog or 0),
            "writes_back_after_s": float(np.nanmin(back)) if np.isfinite(back).any() else np.nan,
            "last_error": last_error[0]}


#: A lag run whose writes went out later than this at p99 (s) is set aside: the primary or the
#: generator stalled (other jobs on the machine), and the lag then measures the stall, not the replica.
MAX_SCHEDULE_LAG_S = 0.25

#: A lag run whose median lag exceeds this (s) is set aside as a replica *stall*: at ρ ≤ 0.9 and the
#: measured apply rate the M/M/1 lag's p99 stays under 0.2 s, so half the writes a quarter second late
#: is the replica stopping, not queueing (the run is shown, counted in ``stalled``, not averaged).
MAX_MEDIAN_LAG_S = 0.25


def stalled_runs(runs: pd.DataFrame, max_median_lag_s: float = MAX_MEDIAN_LAG_S) -> pd.Series:
    """The lag runs in which the replica stalled: median lag (``lag_p50``) over ``max_median_lag_s`` seconds."""
    return runs["lag_p50"] > check_positive(max_median_lag_s, "max_median_lag_s", scalar=True)


def _leave_out(runs: pd.DataFrame, flagged: pd.Series) -> tuple[pd.DataFrame, dict]:
    """Per regime and write rate, the runs not ``flagged`` (all of them where every run is), and how many were left out."""
    kept, left_out = [], {}
    for key, g in runs.assign(_out=np.asarray(flagged, dtype=bool)).groupby(["regime", "write_rate"], sort=False):
        out = g.pop("_out").to_numpy()
        everyone = bool(out.all())
        left_out[key] = 0 if everyone else int(out.sum())
        kept.append(g if everyone else g[~out])
    return pd.concat(kept), left_out


def summarize_lag_runs(runs: pd.DataFrame, *, max_schedule_lag_s: float = MAX_SCHEDULE_LAG_S,
                       max_median_lag_s: float = MAX_MEDIAN_LAG_S) -> pd.DataFrame:
    """Per regime and write rate: means over the undisturbed runs (± 95 % t half-width), the model and the replay.

    A run in which the replica *stalled* (median lag over ``max_median_lag_s``)
    is left out first and counted in ``stalled`` (all are kept where every run
    of a rate stalled), so that the fixed delay is fitted on the replica's
    steady state.  Of the others, a run is *disturbed* when its writes went
    out more than ``max_schedule_lag_s`` late at p99; those are set aside (all
    runs are kept where every one is disturbed) and counted in ``set_aside``.  The model is
    :func:`lag_model` with the regime's measured apply rate :math:`\\mu` and
    the fixed delay :math:`D` = the kept runs' mean lag at the regime's lowest
    rate minus the M/M/1 part there, :math:`1/(\\mu - \\lambda)` (as chapter 1
    adds the measured zero-load overhead).  The same-path replay is each run's
    ``replay_queue_*`` (its acknowledgement times through one FCFS server of
    fixed time :math:`1/\\mu`) plus :math:`D`.
    """
    max_schedule_lag_s = check_positive(max_schedule_lag_s, "max_schedule_lag_s")
    max_median_lag_s = check_positive(max_median_lag_s, "max_median_lag_s", scalar=True)
    steady, stalled = _leave_out(runs, stalled_runs(runs, max_median_lag_s))
    kept, set_aside = _leave_out(steady, steady["schedule_lag_p99"] > max_schedule_lag_s)
    delays = {}
    for regime, g in kept.groupby("regime", sort=False):
        mu = float(g["apply_rate"].iloc[0])
        low = g[g["write_rate"] == g["write_rate"].min()]
        delays[regime] = float(low["lag_mean"].mean()) - lag_model(float(low["write_rate"].iloc[0]), mu, 0.0).mean_lag
    rows = []
    for (regime, rate), g in kept.groupby(["regime", "write_rate"], sort=False):
        mu, d = float(g["apply_rate"].iloc[0]), delays[regime]
        g = g.assign(replay_mean=g["replay_queue_mean"] + max(0.0, d), replay_p99=g["replay_queue_p99"] + max(0.0, d))
        row = {"regime": regime, "write_rate": rate, "repeats": len(g), "set_aside": set_aside[(regime, rate)]}
        for c in ("lag_mean", "lag_p50", "lag_p99", "replay_mean", "replay_p99", "visible_before_ack",
                  "replay_lag_mean", "replay_lag_null_fraction", "schedule_lag_p99", "achieved_rate"):
            row[c] = float(g[c].mean())
            row[c + "_ci"] = _t_half(g[c])
        row["never_seen"] = int(g["never_seen"].sum())
        m = lag_model(rate, mu, d)
        row.update({"apply_rate": mu, "rho": rate / mu, "delay_s": max(0.0, d), "model_mean": m.mean_lag,
                    "model_p99": float(m.lag_quantile(0.99)), "model_lost": m.expected_writes_lost,
                    "stalled": stalled[(regime, rate)]})
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- experiments

def _t_half(x) -> float:
    from .experiments import _t_half as t_half

    return t_half(x)


def run_replication_lag(quick: bool, seed: int) -> dict:
    """Experiment ``replication-lag``: lag against write rate, loopback and replica-bottleneck regimes, and read-your-writes."""
    if quick:
        loop_rates, rhos, repeats, dur, bdur = (500.0,), (0.7,), 1, 3.0, 4.0
        delays, probes = (0.0, 0.002, 0.010), 40
    else:
        loop_rates, rhos, repeats, dur, bdur = (200.0, 500.0, 1000.0, 2000.0), (0.3, 0.5, 0.7, 0.8, 0.9), 3, 6.0, 8.0
        delays, probes = (0.0, 0.001, 0.002, 0.005, 0.010, 0.020, 0.050), 150
    runs, capacity, stale_rows = [], [], []
    regimes = [("loopback", 1, None)]
    if cgroup_cpu_available():
        regimes.append(("replica bottleneck", HEAVY_ROWS, REPLICA_QUOTA))
    next_id = 0
    for regime, rows, quota in regimes:
        with Postgres() as primary, Postgres(primary=primary, cpu_quota=quota, cpu_period_s=REPLICA_PERIOD_S) as replica:
            _setup(primary)
            drains = [measure_apply_rate(primary, replica, n_writes=600 if rows > 1 else 3000,
                                         rows=rows, first_id=-10**12 - 10**6 * k) for k in range(1 if quick else 3)]
            capacity += [{"regime": regime, "rows": rows, "cpu_quota": quota, "method": "drain of a paused backlog",
                          "apply_rate": m} for m in drains]
            mu = float(np.median(drains))
            if quota is not None:  # live capacity: overload the replica and time what becomes visible
                lives = []
                for k in range(1 if quick else 2):
                    over = measure_lag(primary, replica, min(1.5 * float(np.median(drains)), 300.0), 3.0 if quick else 5.0,
                                       rows=rows, seed=seed + 7 + k, first_id=next_id)["summary"]
                    next_id += 10**6
                    lives.append(over["visible_rate"])
                    capacity.append({"regime": regime, "rows": rows, "cpu_quota": quota,
                                     "method": "overloaded stream, visible rate", "apply_rate": over["visible_rate"],
                                     "write_rate": over["write_rate"], "lag_growth": over["lag_growth"]})
                mu = float(np.median(lives))
                _caught_up(primary, replica, 120)
            rates = loop_rates if quota is None else tuple(round(r * mu, 1) for r in rhos)
            for k in range(repeats):
                for rate in rates:
                    out = measure_lag(primary, replica, rate, dur if quota is None else bdur, rows=rows,
                                      seed=seed + 100 * k + int(rate), first_id=next_id)
                    next_id += 10**6
                    runs.append({"regime": regime, "repeat": k, "apply_rate": mu, **out["summary"],
                                 "_acked": out["acked"]})
            sr = measure_stale_reads(primary, replica, delays, probes=probes,
                                     background_rate=rates[len(rates) // 2], rows=rows, seed=seed,
                                     first_id=-1 - 10**6 * len(stale_rows))
            sr.insert(0, "regime", regime)
            sr["background_rate"] = rates[len(rates) // 2]
            sr["apply_rate"] = mu
            stale_rows.append(sr)
    runs_df = pd.DataFrame(runs)
    for i in runs_df.index:  # same path through the replica's queue alone; the fixed delay is added by the summary
        rep = replay_lag(runs_df.at[i, "_acked"], runs_df.at[i, "apply_rate"], 0.0)
        runs_df.at[i, "replay_queue_mean"] = float(rep.mean())
        runs_df.at[i, "replay_queue_p99"] = float(np.quantile(rep, 0.99))
    runs_df = runs_df.drop(columns="_acked")
    summary = summarize_lag_runs(runs_df)
    stale = pd.concat(stale_rows, ignore_index=True)
    for i, r in stale.iterrows():
        d = summary[summary["regime"] == r["regime"]]["delay_s"].iloc[0]
        stale.at[i, "model_stale"] = float(lag_model(r["background_rate"] + 1e-9, r["apply_rate"], d)
                                           .stale_read_probability(r["delay_s"]))
        p, n = r["stale_fraction"], r["probes"]
        stale.at[i, "stale_ci"] = float(1.96 * np.sqrt(max(p * (1 - p), 1.0 / n) / n))
    return {"runs": runs_df, "summary": summary, "capacity": pd.DataFrame(capacity), "stale_reads": stale}


def run_commit_latency(quick: bool, seed: int) -> dict:
    """Experiment ``commit-latency``: what each ``synchronous_commit`` level costs per commit, with a standby."""
    repeats, dur, rate = (1, 2.0, 200.0) if quick else (4, 5.0, 200.0)
    rows = []
    settings = {"synchronous_standby_names": "*"}
    with Postgres(settings=settings) as primary, Postgres(primary=primary) as replica:
        _setup(primary)
        _caught_up(primary, replica)
        nid = 0
        for k in range(repeats):
            for level in np.random.default_rng(seed + k).permutation(COMMIT_LEVELS):
                lat = measure_commit_latency(primary, str(level), rate, dur, seed=seed + k, first_id=nid)
                nid += 10**6
                rows.append({"level": str(level), "repeat": k, "n": len(lat), "mean": float(lat.mean()),
                             "p50": float(np.quantile(lat, 0.5)), "p99": float(np.quantile(lat, 0.99))})
    runs = pd.DataFrame(rows)
    summary = []
    for level in COMMIT_LEVELS:
        g = runs[runs["level"] == level]
        summary.append({"level": level, "repeats": len(g),
                        **{m: float(g[m].mean()) for m in ("mean", "p50", "p99")},
                        **{m + "_ci": _t_half(g[m]) for m in ("mean", "p50", "p99")}})
    return {"runs": runs, "summary": pd.DataFrame(summary)}


def run_failover(quick: bool, seed: int) -> dict:
    """Experiment ``failover``: SIGKILL the primary under load, promote, count lost writes (async vs sync)."""
    repeats = 1 if quick else 6
    rate = 1500.0
    with Postgres() as primary, Postgres(primary=primary) as replica:  # the lag the loss model needs
        lag = measure_lag(primary, replica, rate, 2.0 if quick else 5.0, seed=seed)["summary"]
        mu = measure_apply_rate(primary, replica, n_writes=3000)
    delay = lag["lag_mean"] - lag_model(rate, mu, 0.0).mean_lag
    model_lost = lag_model(rate, mu, delay).expected_writes_lost
    rows = []
    for k in range(repeats):
        for sync in (False, True):
            rows.append({"repeat": k, "variant": "synchronous (on)" if sync else "asynchronous",
                         **measure_failover(synchronous=sync, seed=seed + k, write_rate=rate,
                                            kill_after_s=1.5 if quick else 2.0)})
    if not quick and cgroup_cpu_available():  # a replica whose replay is behind: promotion must replay it first
        for k in range(3):
            rows.append({"repeat": k, "variant": "asynchronous, throttled replay",
                         **measure_failover(synchronous=False, seed=seed + k, write_rate=150.0, rows=HEAVY_ROWS,
                                            replica_cpu_quota=REPLICA_QUOTA)})
    runs = pd.DataFrame(rows).drop(columns="last_error")
    summary = []
    for variant, g in runs.groupby("variant", sort=False):
        sync = bool(g["synchronous"].iloc[0])
        summary.append({"mode": variant, "repeats": len(g),
                        "model_lost": 0.0 if sync else (model_lost if variant == "asynchronous" else np.nan),
                        "lag_mean_s": np.nan if sync else lag["lag_mean"],
                        "write_rate": float(g["write_rate"].iloc[0]),
                        **{m: float(g[m].mean()) for m in ("lost", "acked_before_crash", "promote_s",
                                                           "writes_back_after_s", "phantom", "replay_backlog_bytes")},
                        **{m + "_ci": _t_half(g[m]) for m in ("lost", "promote_s", "writes_back_after_s")},
                        "lost_max": int(g["lost"].max())})
    return {"runs": runs, "summary": pd.DataFrame(summary)}
