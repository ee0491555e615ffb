"""PostgreSQL (Debian, 15) as a lab component: a primary, and a streaming replica of it.

PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user through ``setpriv --reuid=postgres --regid=postgres
--init-groups``, which ``exec``\\ s the server: the child's PID is the
postmaster's, and it is stopped by that PID (SIGINT, "fast shutdown"; its
backends exit with it).  Measured on a 2-core machine: ``initdb`` ≈ 0.45 s,
start 0.05 s, ``pg_basebackup -R -X stream -c fast`` ≈ 0.3 s, the replica
streaming ≈ 0.1 s later.

A replica's single replay process (the "startup" process) can be given a CPU
quota (``cpu_quota=0.1``: a tenth of one core): once the replica is ready,
that process alone is moved to normal scheduling and into a fresh cgroup of the
``cpu`` controller (v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``, or v2
``cpu.max``); this is how replay is made the real bottleneck while the WAL
receiver and the backends serving reads run unthrottled.  :meth:`Postgres.crash` kills
the postmaster and every backend at once with SIGKILL (a machine dying
mid-stream); :meth:`Postgres.promote` turns a replica into a primary.

References
----------
PostgreSQL 15 documentation, §27.2 "Log-Shipping Standby Servers" (streaming
replication), §27.3 "Failover" (``pg_promote``), ``pg_basebackup``, ``initdb``,
§20 server configuration; Linux kernel documentation, "CFS Bandwidth Control".
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ._checks import check_in_range
from .process import LAB_HOST, Component, _descendants, boost_prefix, pid_alive, realtime_prefix

__all__ = ["Postgres", "postgres_bindir", "POSTGRES_USER", "cgroup_cpu_available"]

POSTGRES_USER = "postgres"


def postgres_bindir() -> Path | None:
    """The directory of ``postgres``/``initdb``: ``pg_config --bindir``, else Debian's newest version."""
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "postgres").exists():
            return Path(out.stdout.strip())
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_user() -> tuple[list[str], str]:
    """The prefix that runs a command as the database's OS user, and that user's name."""
    if os.geteuid() != 0:
        return [], pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError:  # a bare machine without Debian's postgresql package: make the system user
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", POSTGRES_USER],
                       check=True, capture_output=True)
    return ["setpriv", f"--reuid={POSTGRES_USER}", f"--regid={POSTGRES_USER}", "--init-groups"], POSTGRES_USER


_CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
_CGROUP_V2 = Path("/sys/fs/cgroup")


def _cgroup_root() -> tuple[Path, int] | None:
    """Where to make a cpu cgroup (and the cgroup version), or ``None`` if this process may not."""
    if (_CGROUP_V1 / "cpu.cfs_quota_us").exists():
        root, version = _CGROUP_V1, 1
    elif "cpu" in ((_CGROUP_V2 / "cgroup.subtree_control").read_text().split()
                   if (_CGROUP_V2 / "cgroup.subtree_control").exists() else []):
        root, version = _CGROUP_V2, 2
    else:
        return None
    return (root, version) if os.access(root, os.W_OK) else None


def cgroup_cpu_available() -> bool:
    """True if a server can be given a CPU quota here (a writable cgroup ``cpu`` controller)."""
    return _cgroup_root() is not None


class Postgres(Component):
    """A PostgreSQL server on a free port: a fresh primary, or a streaming replica of ``primary``.

    Parameters
    ----------
    primary : Postgres or None
        Start as a hot-standby streaming replica of this running primary
        (``pg_basebackup -R -X stream``).
    settings : dict
        Extra server settings, passed as ``-c name=value`` (e.g.
        ``{"synchronous_commit": "remote_apply"}``).
    cpu_quota : float or None
        Replicas only: cores the replay process may use once the replica is
        ready, in (0, 64] (``0.1``: 1 ms of CPU in every 10 ms period), enforced
        by a cgroup; ``None``: no limit.
    cpu_period_s : float
        The quota's accounting period, seconds in [0.001, 1] (short periods give
        short stalls).
    boost : bool
        Run the server and its backends at nice −20 (root only) instead of real
        time: for CPU-bound queries, which must never run real-time.
    """

    name = "postgres"
    stop_signal = signal.SIGINT
    start_timeout_s = 30.0

    def __init__(self, *, primary: "Postgres | None" = None, settings: dict | None = None, realtime: bool = True,
                 cpu_quota: float | None = None, cpu_period_s: float = 0.01, boost: bool = False):
        if primary is not None and (not isinstance(primary, Postgres) or primary.port is None):
            raise ValueError(f"primary must be a running Postgres, got {primary!r}")
        self.cpu_quota = None if cpu_quota is None else check_in_range(cpu_quota, "cpu_quota", 0.0, 64.0, low_open=True)
        self.cpu_period_s = check_in_range(cpu_period_s, "cpu_period_s", 0.001, 1.0)
        if self.cpu_quota is not None:
            if primary is None:
                raise ValueError("cpu_quota applies to a replica's replay process: give primary too")
            if _cgroup_root() is None:
                raise RuntimeError("cpu_quota needs a writable cgroup cpu controller (root)")
        self.cgroup: Path | None = None
        self.primary = primary
        self.settings = dict(settings or {})
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL is not installed (no pg_config, no /usr/lib/postgresql/*/bin)")
        self.user_prefix, self.user = _as_user()
        self.boost = bool(boost)
        super().__init__(realtime=realtime and not self.boost)

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def dsn(self) -> str:
        return f"host={LAB_HOST} port={self.port} user={self.user} dbname=postgres"

    def _run_as_user(self, argv: list[str]) -> None:
        out = subprocess.run(self.user_prefix + argv, capture_output=True, text=True, timeout=60, cwd=self.dir)
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {out.stderr[-2000:]}")

    def _make_cgroup(self) -> None:
        root, version = _cgroup_root()
        self.cgroup = root / f"scaling-lab-postgres-{os.getpid()}-{self.dir.name.rsplit('-', 1)[-1]}"
        self.cgroup.mkdir()
        self._cgroup_version = version

    def _write_quota(self, quota: float | None) -> None:
        period = int(round(self.cpu_period_s * 1e6))
        us = -1 if quota is None else max(1000, int(round(quota * period)))
        if self._cgroup_version == 1:
            (self.cgroup / "cpu.cfs_period_us").write_text(str(period))
            (self.cgroup / "cpu.cfs_quota_us").write_text(str(us))
        else:
            (self.cgroup / "cpu.max").write_text(f"{'max' if us < 0 else us} {period}")

    def _remove_cgroup(self) -> None:
        cg, self.cgroup = self.cgroup, None
        deadline = time.monotonic() + 5  # a cgroup can be removed once its last process has exited
        while cg is not None and cg.exists() and time.monotonic() < deadline:
            try:
                cg.rmdir()
            except OSError:
                time.sleep(0.05)

    def _throttle_replay(self) -> None:
        """Move the replay ("startup") process, at normal priority, into a cgroup with the quota."""
        with self.connect() as conn:
            row = conn.execute("select pid from pg_stat_activity where backend_type = 'startup'").fetchone()
        if row is None:
            raise RuntimeError(f"{self!r} has no replay process to throttle")
        self._make_cgroup()
        self._write_quota(self.cpu_quota)
        os.sched_setscheduler(int(row[0]), os.SCHED_OTHER, os.sched_param(0))  # a quota binds normal scheduling only
        (self.cgroup / "cgroup.procs").write_text(str(row[0]))

    def _prepare(self) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam(POSTGRES_USER)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        if self.data_dir.exists():
            return  # a retry on another port reuses the cluster
        if self.primary is None:
            self._run_as_user([str(self.bindir / "initdb"), "-D", str(self.data_dir), "--auth=trust",
                               "--no-sync", "-U", self.user, "-E", "UTF8", "--locale=C"])
        else:
            self._run_as_user([str(self.bindir / "pg_basebackup"), "-h", LAB_HOST, "-p", str(self.primary.port),
                               "-U", self.primary.user, "-D", str(self.data_dir), "-R", "-X", "stream",
                               "-c", "fast", "--no-sync"])

    def _command(self) -> list[str]:
        opts = {"listen_addresses": LAB_HOST, "unix_socket_directories": str(self.dir),
                "logging_collector": "off", **self.settings}
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for k, v in opts.items():
            argv += ["-c", f"{k}={v}"]
        return realtime_prefix(self.realtime) + boost_prefix(self.boost) + self.user_prefix + argv

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("select 1")
            return True
        except psycopg.Error:
            return False

    def start(self) -> "Postgres":
        super().start()
        if self.cpu_quota is not None:
            try:
                self._throttle_replay()
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        try:
            if self.cgroup is not None and self.cgroup.exists():
                self._write_quota(None)  # a throttled replay would take seconds to shut down
            super().stop()
        finally:
            self._remove_cgroup()

    def set_cpu_quota(self, cpu_quota: float | None) -> None:
        """Change the running replica's replay quota (cores; ``None`` lifts it).  Needs ``cpu_quota`` at start."""
        if self.cgroup is None:
            raise RuntimeError(f"{self!r} was not started with a cpu_quota")
        self.cpu_quota = None if cpu_quota is None else check_in_range(cpu_quota, "cpu_quota", 0.0, 64.0, low_open=True)
        self._write_quota(self.cpu_quota)

    def crash(self) -> None:
        """Kill the postmaster and every one of its processes at once with SIGKILL (no shutdown, no flush)."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self!r} is not running")
        family = [self.proc.pid] + _descendants(self.proc.pid)
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(5)
        deadline = time.monotonic() + 5
        while any(pid_alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.01)

    def promote(self, timeout_s: float = 30.0) -> None:
        """Promote this replica to a primary (``pg_promote``) and return once it accepts writes."""
        timeout_s = check_in_range(timeout_s, "timeout_s", 0.0, 600.0, low_open=True)
        if self.primary is None:
            raise RuntimeError(f"{self!r} is a primary already")
        with self.connect() as conn:
            ok = conn.execute("select pg_promote(true, %s)", (max(1, int(timeout_s)),)).fetchone()[0]
        if not ok:
            raise RuntimeError(f"{self!r} was not promoted within {timeout_s} s")
        self.primary = None

    def connect(self, **kwargs):
        """A ``psycopg.Connection`` to this server (autocommit unless told otherwise)."""
        import psycopg

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)
