"""What the host APIs and ``nimbus host`` ask of the hosts view and the heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class HostView(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    number: int
    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    disabled: bool
    disabled_reason: str | None
    registered_at: datetime
    updated_at: datetime
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    last_seen: datetime | None
    seconds_since_seen: float | None  # by the database's clock
    forced_down: bool = False  # an operator's word: down whatever the heartbeat
    booted_at: datetime | None = None  # its machine's start, as its last report said

    def is_up(self, service_down_time: float) -> bool:
        return (not self.forced_down and self.seconds_since_seen is not None
                and self.seconds_since_seen <= service_down_time)


class ProjectUsage(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    vcpus: int
    memory_mb: int
    disk_gb: int


_HOSTS = f"""
SELECT h.*, COALESCE(c.vcpus, 0) AS vcpus_used, COALESCE(c.memory_mb, 0) AS memory_mb_used,
       COALESCE(c.disk_gb, 0) AS local_gb_used, COALESCE(c.n, 0) AS running_vms,
       b.last_seen, EXTRACT(EPOCH FROM now() - b.last_seen)::float8 AS seconds_since_seen,
       (b.report->>'booted_at')::timestamptz AS booted_at
FROM {V}.hosts h
LEFT JOIN (SELECT host, sum(vcpus) AS vcpus, sum(memory_mb) AS memory_mb,
                  sum(disk_gb) AS disk_gb, count(*) AS n
           FROM {V}.host_claims GROUP BY host) c ON c.host = h.host
LEFT JOIN public.host_heartbeats b ON b.host = h.host
"""


async def list_hosts(pool: AsyncConnectionPool[Any]) -> list[HostView]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_HOSTS + " ORDER BY h.number")
        return [msgspec.convert(r, HostView) for r in await cur.fetchall()]


async def get_host(pool: AsyncConnectionPool[Any], host: str) -> HostView | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_HOSTS + " WHERE h.host = %s", (host,))
        row = await cur.fetchone()
        return msgspec.convert(row, HostView) if row else None


async def usage_by_project(pool: AsyncConnectionPool[Any], host: str, *,
                           running_only: bool = False) -> list[ProjectUsage]:
    """What each project's instances on ``host`` claim; with ``running_only``,
    only instances whose guest holds resources now (running or paused)."""
    running = (f" AND c.instance_id IN (SELECT id::text FROM {V}.instances"
               " WHERE host = %s AND power_state IN (1, 3))") if running_only else ""
    params: tuple[Any, ...] = (host, host) if running_only else (host,)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT c.project_id, sum(c.vcpus)::int AS vcpus, sum(c.memory_mb)::int AS"
            f" memory_mb, sum(c.disk_gb)::int AS disk_gb FROM {V}.host_claims c"
            f" WHERE c.host = %s{running} GROUP BY c.project_id ORDER BY c.project_id",
            params)
        return [msgspec.convert(r, ProjectUsage) for r in await cur.fetchall()]


class ServerOnHost(msgspec.Struct, frozen=True, kw_only=True):
    uuid: str
    name: str


async def servers_on(pool: AsyncConnectionPool[Any], host: str) -> list[ServerOnHost]:
    """The instances placed on ``host`` that are not deleted (os-hypervisors servers)."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT id::text AS uuid, name FROM {V}.instances WHERE host = %s"
                          " AND deleted_at IS NULL ORDER BY created_at, id", (host,))
        return [msgspec.convert(r, ServerOnHost) for r in await cur.fetchall()]
