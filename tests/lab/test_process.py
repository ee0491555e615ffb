"""Every component starts a real process, serves, and leaves no process, port or file behind,
also when the body of the ``with`` raises."""

from __future__ import annotations

import urllib.request

import pytest
from conftest import assert_gone

from scaling_lab.lab import HAProxy, LabServer, Postgres, Redis
from scaling_lab.lab.process import _descendants, free_port, pid_alive, port_is_open
from scaling_lab.simulation import Deterministic

pytestmark = pytest.mark.lab


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as r:
        r.read()
        return r.status


def _use_webserver(stack):
    s = stack(LabServer(Deterministic(0.001), servers=2))
    assert _get(s.url) == 200
    return s


def _use_haproxy(stack):
    backend = stack(LabServer(Deterministic(0.001), servers=2))
    h = stack(HAProxy([backend.port], balance="leastconn", health_check=True, inter_s=0.2))
    assert _get(h.url) == 200
    assert h.stats()[0]["status"].startswith("UP")
    return h


def _use_redis(stack):
    r = stack(Redis(maxmemory_bytes=5_000_000))
    with r.client() as c:
        c.set("k", "v")
        assert c.get("k") == b"v"
    return r


def _use_postgres(stack):
    p = stack(Postgres())
    with p.connect() as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    return p


USES = {"webserver": _use_webserver, "haproxy": _use_haproxy, "redis": _use_redis, "postgres": _use_postgres}


class Boom(Exception):
    pass


@pytest.mark.parametrize("raise_inside", [False, True], ids=["clean", "raises"])
@pytest.mark.parametrize("kind", list(USES))
def test_component_leaves_nothing_behind(kind, raise_inside):
    started = []

    def stack(component):
        component.start()
        started.append((component, component.pid, component.port, component.dir,
                        _descendants(component.pid)))
        return component

    try:
        with pytest.raises(Boom) if raise_inside else _nullcontext():
            try:
                USES[kind](stack)
                if raise_inside:
                    raise Boom("the body of the with-block failed")
            finally:
                for component, *_ in reversed(started):
                    component.stop()
    finally:
        for component, *_ in started:
            component.stop()
    assert started
    for component, pid, port, directory, family in started:
        assert_gone(component, pid, port, directory)
        assert not [p for p in family if pid_alive(p)], f"{component!r} left children {family}"


def test_with_statement_stops_on_exception():
    with pytest.raises(Boom):
        with LabServer(Deterministic(0.001), servers=1) as s:
            pid, port, directory = s.pid, s.port, s.dir
            raise Boom()
    assert_gone(s, pid, port, directory)


def test_stop_is_idempotent_and_free_port_is_free():
    s = LabServer(Deterministic(0.001), servers=1)
    s.stop()  # never started: nothing to do
    port = free_port()
    assert not port_is_open(port)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
