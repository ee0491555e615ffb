"""One queue worker process: ``python -m scaling_lab.lab._queue_worker CONFIG.json`` (see :mod:`.queue_lab`).

The reliable-queue pattern on Redis lists: ``BLMOVE jobs processing:<id>``
takes the oldest job and keeps it in this worker's own list until the worker
acknowledges it (``LREM``) after the work; a worker that dies leaves its job
there for the reaper to put back (at-least-once delivery).  A job is
``id:work_s:poison``.  The work is half the sleep, then the job's effect
(``HINCRBY executions id 1``), then the other half, then the
acknowledgement, so a crash lands before or after the effect with equal
chance.  A poison job fails at the effect every time; after ``max_attempts``
attempts it goes to the ``dead`` list.  Runs until stopped (SIGTERM or SIGKILL).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import redis

    argv = sys.argv[1:] if argv is None else argv
    cfg = json.loads(Path(argv[0]).read_text())
    r = redis.Redis(host="127.0.0.1", port=int(cfg["redis_port"]))
    mine = f"processing:{cfg['worker']}"
    max_attempts = int(cfg["max_attempts"])
    r.set(f"ready:{cfg['worker']}", 1)
    while True:
        job = r.blmove("jobs", mine, 1.0, "RIGHT", "LEFT")
        if job is None:
            continue
        jid, work_s, poison = job.decode().split(":")
        work_s = float(work_s)
        attempt = r.hincrby("attempts", jid, 1)
        time.sleep(work_s / 2)
        if poison == "1":  # fails every time: back to the queue, or to the dead letters after the last attempt
            with r.pipeline() as p:
                p.lrem(mine, 1, job)
                p.lpush("dead" if attempt >= max_attempts else "jobs", job)
                p.execute()
            continue
        r.hincrby("executions", jid, 1)
        time.sleep(work_s / 2)
        with r.pipeline() as p:  # MULTI/EXEC: the acknowledgement and the completion record together
            p.lrem(mine, 1, job)
            p.rpush("done", f"{jid}:{time.monotonic()!r}")
            p.execute()


if __name__ == "__main__":
    sys.exit(main())
