"""Lab tests start real servers: they need root (real-time scheduling, PostgreSQL as ``postgres``),
haproxy, redis-server, PostgreSQL and the Python clients.  Without them a ``lab`` test skips with
the reason; under ``CI=true`` it fails instead, so CI can never pass by skipping the lab."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from scaling_lab.lab.postgres import postgres_bindir
from scaling_lab.lab.process import CREATED_DIRS, pid_alive, port_is_open, realtime_available


def lab_missing() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (for chrt -f and running PostgreSQL as the postgres user)")
    elif not realtime_available():
        missing.append("real-time scheduling (chrt -f 10 true failed)")
    for exe in ("haproxy", "redis-server", "setpriv"):
        if shutil.which(exe) is None:
            missing.append(exe)
    if postgres_bindir() is None:
        missing.append("postgresql")
    for mod in ("aiohttp", "hdrh", "redis", "psycopg"):
        if importlib.util.find_spec(mod) is None:
            missing.append(f"python package {mod}")
    return missing


def require_lab() -> None:
    """Skip (or, under CI=true, fail) unless everything the lab needs is here."""
    missing = lab_missing()
    if missing:
        msg = "lab test needs " + ", ".join(missing) + " (run `make lab-deps` as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + "; under CI=true the lab must run")
        pytest.skip(msg)


@pytest.fixture(autouse=True)
def _lab_requirements(request):
    if request.node.get_closest_marker("lab") is not None:
        require_lab()


@pytest.fixture(autouse=True, scope="session")
def _no_lab_files_left():
    """No temporary directory made by this session's components survives it (each removes its own).

    Only this process's directories are checked: other programs on the machine may be running
    lab components of their own at the same time.
    """
    yield
    left = [str(d) for d in CREATED_DIRS if d.exists()]
    assert not left, f"lab components left temporary directories: {left}"


def assert_gone(component, pid: int, port: int, directory: Path) -> None:
    """The component's process, port and files are all gone."""
    assert not pid_alive(pid), f"{component!r}: process {pid} still alive"
    assert not port_is_open(port), f"{component!r}: port {port} still open"
    assert not directory.exists(), f"{component!r}: {directory} still exists"
