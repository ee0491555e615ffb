"""PostgreSQL (Debian, 15) as a lab component: a primary, and a streaming replica of it.

PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user through ``setpriv --reuid=postgres --regid=postgres
--init-groups``, which ``exec``\\ s the server: the child's PID is the
postmaster's, and it is stopped by that PID (SIGINT, "fast shutdown"; its
backends exit with it).  Measured on a 2-core machine: ``initdb`` ≈ 0.45 s,
start 0.05 s, ``pg_basebackup -R -X stream -c fast`` ≈ 0.3 s, the replica
streaming ≈ 0.1 s later.

References
----------
PostgreSQL 15 documentation, §27.2 "Log-Shipping Standby Servers" (streaming
replication), ``pg_basebackup``, ``initdb``, §20 server configuration.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from .process import LAB_HOST, Component, realtime_prefix

__all__ = ["Postgres", "postgres_bindir", "POSTGRES_USER"]

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
    return ["setpriv", f"--reuid={POSTGRES_USER}", f"--regid={POSTGRES_USER}", "--init-groups"], POSTGRES_USER


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
    """

    name = "postgres"
    stop_signal = signal.SIGINT
    start_timeout_s = 30.0

    def __init__(self, *, primary: "Postgres | None" = None, settings: dict | None = None, realtime: bool = True):
        if primary is not None and (not isinstance(primary, Postgres) or primary.port is None):
            raise ValueError(f"primary must be a running Postgres, got {primary!r}")
        self.primary = primary
        self.settings = dict(settings or {})
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL is not installed (no pg_config, no /usr/lib/postgresql/*/bin)")
        self.user_prefix, self.user = _as_user()
        super().__init__(realtime=realtime)

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
        return realtime_prefix(self.realtime) + self.user_prefix + argv

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("select 1")
            return True
        except psycopg.Error:
            return False

    def connect(self, **kwargs):
        """A ``psycopg.Connection`` to this server (autocommit unless told otherwise)."""
        import psycopg

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)
