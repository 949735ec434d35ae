"""A pool pings a connection before lending it only when it has not been lent
for a while: a session the server ended while it sat idle is replaced before
anyone uses it, and a connection lent a moment ago costs no round trip."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from commands.event_store import LendCheck


class SetClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Session:
    """Stands for a pooled connection: anything the pool lends."""


def end_session(database_url: str, conn: psycopg.Connection[Any]) -> None:
    with psycopg.connect(database_url, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s, 10000)", (conn.info.backend_pid,))


def test_a_connection_is_due_a_ping_when_first_lent_and_after_it_was_idle() -> None:
    clock = SetClock()
    check = LendCheck(idle_seconds=1.0, clock=clock)
    conn = Session()
    assert check.due(conn)
    clock.now += 0.5
    assert not check.due(conn)
    clock.now += 0.9  # 0.9 s after the last lend: still warm
    assert not check.due(conn)
    clock.now += 1.0
    assert check.due(conn)


def test_a_session_ended_while_idle_is_replaced_before_it_is_lent(database_url: str) -> None:
    clock = SetClock()
    with ConnectionPool(database_url, min_size=1, max_size=1,
                        check=LendCheck(idle_seconds=1.0, clock=clock)) as pool:
        with pool.connection() as conn:
            first = conn.info.backend_pid
        end_session(database_url, conn)
        clock.now += 5  # idle for longer than the bound: pinged, found dead, replaced
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != first


def test_a_connection_lent_a_moment_ago_is_lent_without_a_ping(database_url: str) -> None:
    """What the bound trades: a session ended within it fails its next query once."""
    clock = SetClock()
    with ConnectionPool(database_url, min_size=1, max_size=1,
                        check=LendCheck(idle_seconds=1.0, clock=clock)) as pool:
        with pool.connection() as conn:
            pass
        end_session(database_url, conn)
        with pytest.raises(psycopg.OperationalError), pool.connection() as conn:
            conn.execute("SELECT 1")
        with pool.connection() as conn:  # the broken one was discarded
            assert conn.execute("SELECT 1").fetchone() == (1,)


async def test_the_query_side_pool_replaces_a_session_ended_while_idle(
        database_url: str) -> None:
    clock = SetClock()
    async with AsyncConnectionPool(database_url, min_size=1, max_size=1,
                                   check=LendCheck(idle_seconds=1.0, clock=clock).lending
                                   ) as pool:
        async with pool.connection() as conn:
            first = conn.info.backend_pid
        with psycopg.connect(database_url, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s, 10000)", (first,))
        clock.now += 5
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT 1")
            assert await cur.fetchone() == (1,)
            assert conn.info.backend_pid != first
