"""A real child process on a free loopback port, started and stopped by its PID.

Every lab component (:class:`~scaling_lab.lab.webserver.LabServer`,
:class:`~scaling_lab.lab.haproxy.HAProxy`, :class:`~scaling_lab.lab.postgres.Postgres`,
:class:`~scaling_lab.lab.redis_server.Redis`) is a :class:`Component`: a context
manager that

1. makes a temporary directory and picks a free TCP port on 127.0.0.1,
2. starts exactly one child process (``subprocess.Popen``; ``chrt`` and
   ``setpriv`` ``exec`` the real program, so the child's PID is the server's),
3. waits until the port accepts connections (or the child dies, which raises
   with the tail of its log),
4. on exit, normal or by exception, sends the child a stop signal, waits, kills
   it by PID if it does not stop, kills by PID any of its own descendants still
   alive (a PostgreSQL backend, say), and removes the directory.

Nothing is ever stopped by name.  Real-time scheduling: on a loaded machine the
sleeps and wake-ups of a lab process overrun by tens of milliseconds under
normal scheduling, which swamps what is measured; ``chrt -f 10`` (SCHED_FIFO,
needs root) keeps them on time.  Only processes that sleep most of the time get
it; a CPU-bound process never does (it would starve the machine): it may run at nice −20
instead (:func:`boost_prefix`, :func:`set_autogroup_nice`), which still leaves every other
process its turn.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path

__all__ = ["Component", "free_port", "realtime_available", "realtime_prefix", "boost_prefix", "set_autogroup_nice", "port_is_open",
           "pid_alive", "LAB_HOST"]

LAB_HOST = "127.0.0.1"
#: Every temporary directory this process's components made (the tests check that none is left).
CREATED_DIRS: list[Path] = []
REALTIME_PRIORITY = 10


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LAB_HOST, 0))
        return s.getsockname()[1]


def port_is_open(port: int, timeout_s: float = 0.2) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((LAB_HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


@lru_cache(maxsize=1)
def realtime_available() -> bool:
    """True if this process may start children under ``chrt -f`` (root, or CAP_SYS_NICE)."""
    if shutil.which("chrt") is None:
        return False
    try:
        return subprocess.run(["chrt", "-f", str(REALTIME_PRIORITY), "true"], capture_output=True,
                              timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def realtime_prefix(realtime: bool) -> list[str]:
    """``["chrt", "-f", "10"]`` when asked for and available, else ``[]``."""
    return ["chrt", "-f", str(REALTIME_PRIORITY)] if realtime and realtime_available() else []


def boost_prefix(boost: bool) -> list[str]:
    """``["nice", "-n", "-20"]`` (the highest normal priority) when asked for and running as root.

    For CPU-bound lab processes, which must never get real-time priority: at nice −20 the
    scheduler (CFS) gives them about 87 times the share of a normal process, so other jobs slow
    them down much less, yet every other process still runs.
    """
    return ["nice", "-n", "-20"] if boost and os.geteuid() == 0 and shutil.which("nice") else []


def set_autogroup_nice(pid: int, nice: int) -> int | None:
    """Set the nice value of ``pid``'s scheduling autogroup; return the previous one (None if not possible).

    With ``kernel.sched_autogroup_enabled`` every session is a group that the
    scheduler treats as one task, so a process's own nice value only counts
    against processes of its session: boosting against the rest of the machine
    needs the group's nice (root).  See sched(7), "The autogroup feature".
    """
    path = Path(f"/proc/{pid}/autogroup")
    try:
        before = int(path.read_text().split("nice")[1])
        path.write_text(str(nice))
        return before
    except (OSError, IndexError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _descendants(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        for child in _children(todo.pop()):
            if child not in seen:
                seen.append(child)
                todo.append(child)
    return seen


class Component:
    """Base class: one child process on a free loopback port in its own temporary directory.

    Subclasses set ``name`` and implement :meth:`_command` (the argv, given the
    port and the directory); they may override :meth:`_prepare` (write config
    files before the start), :meth:`_ready` (extra readiness check) and
    ``stop_signal``.  Use as ``with Component(...) as c: ... c.port ...``.
    """

    name = "component"
    boost = False  # CPU-bound: run at nice -20 with its session's autogroup at -20 too (root)
    stop_signal = signal.SIGTERM
    start_timeout_s = 20.0
    stop_timeout_s = 10.0

    def __init__(self, *, realtime: bool = True):
        self.realtime = bool(realtime)
        self.port: int | None = None
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- hooks ----------------------------------------------------------
    def _prepare(self) -> None:
        """Write configuration into ``self.dir`` before the process starts."""

    def _command(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _ready(self) -> bool:
        """True once the component serves; by default, when its port accepts connections."""
        return port_is_open(self.port)

    # -- lifecycle ------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    def start(self) -> "Component":
        self.dir = Path(tempfile.mkdtemp(prefix=f"scaling-lab-{self.name}-"))
        CREATED_DIRS.append(self.dir)
        try:
            for attempt in range(3):  # the free port can be taken between choosing and binding
                self.port = free_port()
                self._prepare()
                self._log = open(self.log_path, "ab")
                self.proc = subprocess.Popen(self._command(), stdout=self._log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=True)
                if self.boost and os.geteuid() == 0:
                    set_autogroup_nice(self.proc.pid, -20)
                if self._wait_ready():
                    return self
                self._stop_process()
            raise RuntimeError(f"{self.name} did not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.02)
        return False

    def _log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def _stop_process(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            family = _descendants(proc.pid) if proc.poll() is None else []
            if proc.poll() is None:
                proc.send_signal(self.stop_signal)
                try:
                    proc.wait(self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            deadline = time.monotonic() + 5
            for pid in family:  # our own grandchildren, by PID, if the parent left any behind
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
                if pid_alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Kill the child now with SIGKILL, by its PID, as a crash would (mid-run); :meth:`stop` still cleans up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def stop(self) -> None:
        """Stop the child by its PID and remove the directory (safe to call twice)."""
        try:
            self._stop_process()
        finally:
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(port={self.port}, pid={self.pid})"
