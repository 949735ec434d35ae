"""Writing many rows at once (projections/upsert.py): in pipeline mode and by
COPY, the same rows come out of the same rows sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from projections.upsert import Upsert

CLAIM_COLUMNS = ("project_id", "instance_id", "instances", "cores", "ram")
AT = datetime(2026, 1, 1, tzinfo=UTC)
HOST_COLUMNS = ("host", "number", "vcpus", "memory_mb", "local_gb", "hypervisor_type",
                "hypervisor_version", "host_ip", "registered_at", "updated_at")


def claims(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT project_id, instance_id, instances, cores, ram"
                        " FROM quota_claims ORDER BY 1, 2").fetchall()


def host(name: str, vcpus: int) -> tuple[Any, ...]:
    return (name, 1, vcpus, 1024, 10, "QEMU", 1, "10.0.0.1", AT, AT)


@pytest.mark.parametrize("pipelined", [True, False], ids=["pipeline", "copy"])
def test_rows_that_conflict_are_left_out_or_update_the_row_either_way(
        database_url: str, pipelined: bool) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET search_path TO views")
        conn.execute("INSERT INTO quota_claims (project_id, instance_id, instances, cores, ram)"
                     " VALUES ('p', 'a', 1, 1, 1)")
        conn.execute("INSERT INTO hosts (host, number, vcpus, memory_mb, local_gb,"
                     " hypervisor_type, hypervisor_version, host_ip, registered_at, updated_at)"
                     " VALUES ('h1', 1, 2, 1024, 10, 'QEMU', 1, '10.0.0.1', now(), now())")
        left_out = Upsert("quota_claims", CLAIM_COLUMNS, key=None)
        updated = Upsert("hosts", HOST_COLUMNS, key="host")
        with conn.transaction(), conn.pipeline() if pipelined else conn.transaction():
            left_out.send(conn, [("p", "a", 9, 9, 9), ("p", "b", 2, 2, 2)],
                          [("q", "c", 3, 3, 3)])
            updated.send(conn, [host("h1", 8)], [host("h2", 4)])
        assert claims(conn) == [("p", "a", 1, 1, 1), ("p", "b", 2, 2, 2), ("q", "c", 3, 3, 3)]
        assert conn.execute("SELECT host, vcpus FROM hosts ORDER BY 1").fetchall() == [
            ("h1", 8), ("h2", 4)]


def test_rows_said_fresh_that_are_not_fail_instead_of_changing_a_row(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET search_path TO views")
        conn.execute("INSERT INTO quota_claims (project_id, instance_id, instances, cores, ram)"
                     " VALUES ('p', 'a', 1, 1, 1)")
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            Upsert("quota_claims", CLAIM_COLUMNS, key=None).send(
                conn, [], [("p", "a", 9, 9, 9)])
        assert claims(conn) == [("p", "a", 1, 1, 1)]
