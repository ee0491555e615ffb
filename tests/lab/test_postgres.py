"""PostgreSQL: a primary and a streaming replica that receives every committed row."""

from __future__ import annotations

import time

import pytest

from scaling_lab.lab import Postgres

pytestmark = pytest.mark.lab


def test_primary_requires_a_running_postgres():
    with pytest.raises(ValueError, match="primary"):
        Postgres(primary="localhost")


def test_replica_streams_every_row():
    with Postgres() as primary, Postgres(primary=primary) as replica:
        with primary.connect() as conn:
            conn.execute("create table t (id int primary key, at timestamptz default now())")
            for i in range(200):
                conn.execute("insert into t (id) values (%s)", (i,))
        with replica.connect() as conn:
            assert conn.execute("select pg_is_in_recovery()").fetchone() == (True,)
            deadline = time.monotonic() + 10  # replication lag on loopback is milliseconds
            while time.monotonic() < deadline:
                n = conn.execute("select count(*) from t").fetchone()[0] if _has_table(conn) else 0
                if n == 200:
                    break
                time.sleep(0.05)
        assert n == 200, f"replica has {n} of 200 rows"
        with primary.connect() as conn:
            state = conn.execute("select state from pg_stat_replication").fetchone()
        assert state == ("streaming",)


def _has_table(conn) -> bool:
    return conn.execute("select to_regclass('public.t') is not null").fetchone()[0]
