"""Chapter 10 in the lab: a real queue (Redis lists) with real worker processes.

Why Redis lists: Redis is already a lab component, and ``BLMOVE`` gives the
documented *reliable queue* pattern (each worker moves the job it takes into
its own ``processing`` list and removes it there after the work: an explicit
acknowledgement, at-least-once delivery, and a job of a crashed worker that
can be found and put back), with a fraction of a millisecond per operation.
PostgreSQL's ``SELECT … FOR UPDATE SKIP LOCKED`` gives the same guarantees
through a transaction per job, and Redis Streams (``XREADGROUP``/``XACK``/
``XAUTOCLAIM``) a built-in pending list; lists are the smallest of the three.

:class:`QueueWorker` is one worker process (``scaling_lab.lab._queue_worker``), a
:class:`~.process.Component` stopped by its PID.  Experiments:

``queue-burst`` (:func:`run_queue_burst`)
    ``c`` workers, jobs of exponential 20 ms, an open-loop producer at a
    base rate with a burst; the backlog (``LLEN``) sampled every 0.1 s
    against the fluid model :func:`~scaling_lab.backlog.burst_backlog`, and the
    drain time measured against it, with the nominal rate :math:`c\\mu` and
    with the rate the workers actually reached (each job also costs a few
    Redis round trips); then :func:`~scaling_lab.backlog.workers_for_drain_time`
    for a target, run for real with that many workers.
``queue-delivery`` (:func:`run_queue_delivery`)
    Jobs of 0.4 s; one worker killed (SIGKILL) mid-job, again and again; a
    reaper puts the dead worker's unacknowledged job back.  Counted per
    kill: lost, redelivered, executed twice (the crash came after the
    effect, before the acknowledgement), against
    :func:`~scaling_lab.backlog.delivery_outcome` with the after-effect share
    1/2 the worker's layout implies; and a poison job that always fails
    ending in the dead-letter list after ``max_attempts`` attempts.

References
----------
Redis documentation, ``LMOVE``/``BLMOVE``, "Pattern: Reliable queue".
M. Kleppmann, *Designing Data-Intensive Applications*, 2017, ch. 11.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd

from ..backlog import burst_backlog, delivery_outcome, workers_for_drain_time
from ._checks import check_integer
from .process import Component, realtime_available, realtime_prefix
from .redis_server import Redis

__all__ = ["QueueWorker", "run_queue_burst", "run_queue_delivery"]

JOB_MEAN_S = 0.020
SAMPLE_S = 0.1


class QueueWorker(Component):
    """One worker process taking jobs from the Redis server on ``redis_port`` (see ``scaling_lab.lab._queue_worker``)."""

    name = "queue-worker"

    def __init__(self, redis_port: int, worker: int, *, max_attempts: int = 3, realtime: bool = True):
        self.redis_port = check_integer(redis_port, "redis_port", minimum=1, maximum=65535)
        self.worker = check_integer(worker, "worker", minimum=0)
        self.max_attempts = check_integer(max_attempts, "max_attempts", minimum=1)
        super().__init__(realtime=realtime)

    def _prepare(self) -> None:
        (self.dir / "config.json").write_text(json.dumps({"redis_port": self.redis_port, "worker": self.worker,
                                                          "max_attempts": self.max_attempts}))

    def _command(self) -> list[str]:
        return realtime_prefix(self.realtime) + [sys.executable, "-m", "scaling_lab.lab._queue_worker",
                                                 str(self.dir / "config.json")]

    def _ready(self) -> bool:
        import redis

        try:
            with redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=1) as r:
                return bool(r.get(f"ready:{self.worker}"))
        except redis.RedisError:
            return False


def _realtime_thread() -> None:
    if realtime_available():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except (PermissionError, OSError):
            pass


def _produce_and_sample(r, schedule: np.ndarray, work: np.ndarray, horizon_s: float, stop_when_empty_after: float):
    """Push job ``i`` at ``schedule[i]`` (open loop) and sample the backlog every 0.1 s until ``horizon_s``.

    Returns (start on ``CLOCK_MONOTONIC``, sample times in seconds from the start, backlog).  Stops early once the
    queue has stayed empty for a second after ``stop_when_empty_after``.  Bounded by ``horizon_s``.
    """
    t0 = time.monotonic()
    i, n, times, backlog = 0, len(schedule), [], []
    next_sample = 0.0
    empty_since = None
    while True:
        now = time.monotonic() - t0
        if now >= horizon_s:
            break
        due = int(np.searchsorted(schedule, now, side="right"))
        if due > i:
            with r.pipeline(transaction=False) as p:
                for j in range(i, due):
                    p.lpush("jobs", f"{j}:{float(work[j])!r}:0")
                p.execute()
            i = due
        if now >= next_sample:
            b = r.llen("jobs")
            times.append(now)
            backlog.append(b)
            next_sample += SAMPLE_S
            if now > stop_when_empty_after and i >= n:
                empty_since = (empty_since if empty_since is not None else now) if b == 0 else None
                if empty_since is not None and now - empty_since > 1.0:
                    break
        wake = min(schedule[i] if i < n else math.inf, next_sample)
        time.sleep(max(0.0, min(wake - (time.monotonic() - t0), 0.01)))
    return t0, np.array(times), np.array(backlog)


def _burst_run(workers: int, base_rate: float, burst_rate: float, lead_s: float, burst_s: float, after_s: float,
               seed: int) -> dict:
    rng = np.random.default_rng(seed)
    pieces = [(0.0, lead_s, base_rate), (lead_s, lead_s + burst_s, burst_rate),
              (lead_s + burst_s, lead_s + burst_s + after_s, base_rate)]
    schedule = np.sort(np.concatenate([a + (b - a) * rng.random(rng.poisson(lam * (b - a))) for a, b, lam in pieces]))
    work = rng.exponential(JOB_MEAN_S, len(schedule))
    with Redis() as red:
        r = red.client()
        procs = [QueueWorker(red.port, w) for w in range(workers)]
        try:
            for p in procs:
                p.start()
            _realtime_thread()
            t0, t, b = _produce_and_sample(r, schedule, work, lead_s + burst_s + after_s, lead_s + burst_s)
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and (r.llen("jobs") or any(r.llen(f"processing:{w}") for w in range(workers))):
                time.sleep(0.02)  # bounded: let the jobs in service finish before counting the completions
            done = [float(x.decode().split(":")[1]) for x in r.lrange("done", 0, -1)]
        finally:
            for p in procs:
                p.stop()
            try:
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            except (PermissionError, OSError):
                pass
    done = np.sort(done)
    end = lead_s + burst_s
    # the rate the pool really reached while it had a backlog: completions per second over the busy stretch
    busy = (t >= lead_s + 0.5) & (b > 2 * workers)
    if busy.sum() >= 5:
        t_a, t_b = t[busy][0], t[busy][-1]
        achieved = float(((done >= t0 + t_a) & (done <= t0 + t_b)).sum() / (t_b - t_a))
    else:
        achieved = math.nan
    after = (t >= end) & (b <= workers)  # drained: no more waiting than one job per worker
    drain = float(t[after][0] - end) if after.any() else math.inf
    return {"t": t, "backlog": b, "achieved_rate": achieved, "drain_s": drain, "peak_backlog": int(b.max()),
            "jobs": int(len(schedule)), "completed": int(len(done))}


def run_queue_burst(*, quick: bool = False, seed: int = 0) -> dict:
    """A burst at a Redis queue with ``c`` real workers: backlog over time and drain time against the fluid model.

    Full: c = 4, base 100 jobs/s, burst 400 jobs/s for 4 s, three repeats, then
    the workers :func:`~scaling_lab.backlog.workers_for_drain_time` gives for a
    4 s drain target, run three times; quick: a 2 s burst, one run each.
    """
    repeats = 1 if quick else 3
    base, burst, lead = 100.0, 400.0, 2.0
    burst_s = 2.0 if quick else 4.0
    mu = 1.0 / JOB_MEAN_S
    target = 4.0 if not quick else 2.0
    need = workers_for_drain_time(base, burst, burst_s, mu, target)
    rows, series = [], []
    for c, label in ((4, "c = 4"), (need, f"c = {need} (for a {target:g} s drain)")):
        fluid = burst_backlog(base, burst, burst_s, mu, c)
        for rep in range(repeats):
            run = _burst_run(c, base, burst, lead, burst_s, 3 * fluid.drain_time_s + 4.0, seed + 10 * rep + c)
            real = burst_backlog(base, burst, burst_s, run["achieved_rate"] / c, c) if np.isfinite(run["achieved_rate"]) else None
            rows.append({"case": label, "workers": c, "repeat": rep, "meas_drain_s": run["drain_s"],
                         "model_drain_s": fluid.drain_time_s,
                         "model_drain_at_achieved_rate_s": real.drain_time_s if real else math.nan,
                         "meas_peak_backlog": run["peak_backlog"], "model_peak_backlog": fluid.peak_backlog,
                         "achieved_rate": run["achieved_rate"], "nominal_rate": c * mu, "drain_target_s": target,
                         "jobs": run["jobs"], "completed": run["completed"]})
            model = fluid.backlog_at(np.maximum(run["t"] - lead, 0.0))
            series.append(pd.DataFrame({"case": label, "repeat": rep, "time_s": np.round(run["t"], 2),
                                        "backlog": run["backlog"], "model_backlog": np.round(model, 1)}))
    runs = pd.DataFrame(rows)
    from .experiments import _t_half

    summary = runs.groupby(["case", "workers"], sort=False).agg(
        repeats=("repeat", "size"), meas_drain_s=("meas_drain_s", "mean"),
        meas_drain_s_ci=("meas_drain_s", _t_half), model_drain_s=("model_drain_s", "first"),
        model_drain_at_achieved_rate_s=("model_drain_at_achieved_rate_s", "mean"),
        meas_peak_backlog=("meas_peak_backlog", "mean"), model_peak_backlog=("model_peak_backlog", "first"),
        achieved_rate=("achieved_rate", "mean"), nominal_rate=("nominal_rate", "first"),
        drain_target_s=("drain_target_s", "first")).reset_index()
    return {"runs": runs, "summary": summary, "backlog": pd.concat(series, ignore_index=True)}


def run_queue_delivery(*, quick: bool = False, seed: int = 0, kills: int | None = None) -> dict:
    """Kill a worker mid-job, again and again; count lost, redelivered and twice-executed jobs; a poison job.

    Two workers take jobs of 0.4 s (half before the effect, half after); every
    ``kill`` waits until worker 0 holds a job, waits a uniformly drawn part of
    the job, kills it (SIGKILL), lets the reaper move its unacknowledged job
    back to the front of the queue, and starts a fresh worker 0.  One poison job
    is in the queue too.  Full: 20 kills; quick: 6.
    """
    kills = check_integer(kills, "kills", minimum=1, maximum=200) if kills is not None else (6 if quick else 20)
    job_s, max_attempts = 0.4, 3
    rng = np.random.default_rng(seed)
    n_jobs = 2 * kills + 6
    killed_jobs = []
    with Redis() as red:
        r = red.client()
        with r.pipeline() as p:
            p.lpush("jobs", f"poison:{job_s!r}:1")
            for j in range(n_jobs):
                p.lpush("jobs", f"{j}:{job_s!r}:0")
            p.execute()
        workers = {1: QueueWorker(red.port, 1, max_attempts=max_attempts)}
        try:
            workers[1].start()
            for k in range(kills):
                w0 = QueueWorker(red.port, 0, max_attempts=max_attempts)
                workers[0] = w0
                w0.start()
                deadline = time.monotonic() + 5.0
                held = []
                while time.monotonic() < deadline and not held:  # bounded wait for worker 0 to take a job
                    held = r.lrange("processing:0", 0, -1)
                    time.sleep(0.005)
                time.sleep(job_s * rng.random())
                held = r.lrange("processing:0", 0, -1)
                w0.kill()
                w0.stop()
                killed_jobs += [h.decode().split(":")[0] for h in held]
                for _ in range(10):  # the reaper: the dead worker's unacknowledged jobs go back to the front
                    if r.lmove("processing:0", "jobs", "RIGHT", "RIGHT") is None:
                        break
            w0 = QueueWorker(red.port, 0, max_attempts=max_attempts)
            workers[0] = w0
            w0.start()
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline:  # bounded: until every job is done and the poison is dead
                if r.llen("jobs") == 0 and all(r.llen(f"processing:{w}") == 0 for w in (0, 1)):
                    break
                time.sleep(0.05)
            done = [x.decode().split(":")[0] for x in r.lrange("done", 0, -1)]
            executions = {k.decode(): int(v) for k, v in r.hgetall("executions").items()}
            attempts = {k.decode(): int(v) for k, v in r.hgetall("attempts").items()}
            dead = [x.decode().split(":")[0] for x in r.lrange("dead", 0, -1)]
        finally:
            for w in workers.values():
                w.stop()
    ids = [str(j) for j in range(n_jobs)]
    hit = [j for j in killed_jobs if j != "poison"]
    lost = sum(1 for j in ids if j not in done)
    twice = sum(1 for j in hit if executions.get(j, 0) > 1)
    redelivered = sum(1 for j in hit if attempts.get(j, 0) > 1)
    n_hit = max(len(hit), 1)
    # each kill is one failed attempt: p per attempt of a normal job; the effect sits half-way through the job
    p = len(hit) / (n_jobs + len(hit))
    normal = delivery_outcome(prob_fail=p, max_attempts=max_attempts, prob_after_effect=0.5)
    poison = delivery_outcome(prob_fail=0.0, max_attempts=max_attempts, prob_poison=1.0)
    summary = pd.DataFrame([
        {"quantity": "jobs hit by a kill", "measured": len(hit), "model": float(kills)},
        {"quantity": "jobs lost", "measured": lost, "model": 0.0},
        {"quantity": "hit jobs redelivered (share)", "measured": redelivered / n_hit, "model": 1.0},
        {"quantity": "hit jobs executed twice (share)", "measured": twice / n_hit, "model": 0.5},
        {"quantity": "attempts per job", "measured": float(np.mean([attempts.get(j, 0) for j in ids])),
         "model": normal.mean_attempts},
        {"quantity": "executions per job", "measured": float(np.mean([executions.get(j, 0) for j in ids])),
         "model": normal.mean_executions},
        {"quantity": "poison job attempts", "measured": attempts.get("poison", 0), "model": poison.mean_attempts},
        {"quantity": "poison job dead-lettered", "measured": float("poison" in dead), "model": poison.prob_dead_letter},
    ])
    per_job = pd.DataFrame({"job": ids, "attempts": [attempts.get(j, 0) for j in ids],
                            "executions": [executions.get(j, 0) for j in ids], "done": [j in done for j in ids],
                            "hit": [j in hit for j in ids]})
    return {"summary": summary, "jobs": per_job}
