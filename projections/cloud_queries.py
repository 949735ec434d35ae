"""What /metrics asks of the views about the cloud: servers, volumes, quotas.

Every scrape runs these, so each is bounded by what is live, never by the
log: the newest ``limit`` live servers and volumes through partial indexes
(migrations/views/0025_live_resources.sql), their counts by status, and the
quota overrides and claims grouped by project. The hypervisors come from
``hosts_queries.list_hosts`` (one row per host).
"""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class LiveServer(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    tenant_id: str
    user_id: str
    status: str
    host: str
    availability_zone: str
    flavor_id: str


class LiveVolume(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    tenant_id: str
    status: str
    size: int
    volume_type: str
    server_id: str


class ProjectQuota(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    tenant: str  # the project's name
    overrides: dict[str, int]
    instances: int
    cores: int
    ram: int


class Cloud(msgspec.Struct, frozen=True, kw_only=True):
    servers: list[LiveServer]  # the newest ``limit``
    servers_by_status: dict[str, int]  # all live servers
    volumes: list[LiveVolume]
    volumes_by_status: dict[str, int]
    quotas: list[ProjectQuota]


async def cloud(pool: AsyncConnectionPool[Any], limit: int) -> Cloud:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id::text, name, project_id AS tenant_id, user_id, status, host,"
            f" availability_zone, flavor_id FROM {V}.instances WHERE deleted_at IS NULL"
            " ORDER BY created_at DESC, id DESC LIMIT %s", (limit,))
        servers = [msgspec.convert(r, LiveServer) for r in await cur.fetchall()]
        await cur.execute(f"SELECT status, count(*) AS n FROM {V}.instances"
                          " WHERE deleted_at IS NULL GROUP BY status")
        servers_by_status = {r["status"]: int(r["n"]) for r in await cur.fetchall()}
        await cur.execute(
            "SELECT id::text, name, project_id AS tenant_id, status, size_gb AS size,"
            " volume_type, COALESCE(server_id, '') AS server_id"
            f" FROM {V}.volumes WHERE status <> 'deleted'"
            " ORDER BY created_at DESC, id DESC LIMIT %s", (limit,))
        volumes = [msgspec.convert(r, LiveVolume) for r in await cur.fetchall()]
        await cur.execute(f"SELECT status, count(*) AS n FROM {V}.volumes"
                          " WHERE status <> 'deleted' GROUP BY status")
        volumes_by_status = {r["status"]: int(r["n"]) for r in await cur.fetchall()}
        await cur.execute(
            "SELECT p.id AS tenant_id, p.name AS tenant,"
            " COALESCE(o.overrides, '{}'::jsonb) AS overrides,"
            " COALESCE(c.instances, 0)::int AS instances, COALESCE(c.cores, 0)::int AS cores,"
            f" COALESCE(c.ram, 0)::int AS ram FROM {V}.projects p"
            " LEFT JOIN (SELECT project_id, jsonb_object_agg(resource, hard_limit) AS overrides"
            f"           FROM {V}.quota_limits GROUP BY project_id) o ON o.project_id = p.id"
            " LEFT JOIN (SELECT project_id, sum(instances) AS instances, sum(cores) AS cores,"
            f"           sum(ram) AS ram FROM {V}.quota_claims GROUP BY project_id) c"
            " ON c.project_id = p.id ORDER BY p.name")
        quotas = [msgspec.convert(r, ProjectQuota) for r in await cur.fetchall()]
    return Cloud(servers=servers, servers_by_status=servers_by_status, volumes=volumes,
                 volumes_by_status=volumes_by_status, quotas=quotas)
