"""What os-simple-tenant-usage asks of the instances view: the instances that
existed at some time in a period (made before its end, not deleted before
its start), deleted ones included, as the view keeps them with their
``deleted_at``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class InstanceUsage(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    project_id: str
    flavor: str  # the flavor's name, or its id once the flavor is gone
    vcpus: int
    memory_mb: int
    disk_gb: int
    vm_state: str
    created_at: datetime
    launched_at: datetime | None
    deleted_at: datetime | None


async def instance_usage(pool: AsyncConnectionPool[Any], start: datetime, end: datetime,
                         project_id: str | None = None) -> list[InstanceUsage]:
    where = "i.created_at < %s AND (i.deleted_at IS NULL OR i.deleted_at > %s)"
    params: list[Any] = [end, start]
    if project_id is not None:
        where += " AND i.project_id = %s"
        params.append(project_id)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT i.id, i.name, i.project_id, COALESCE(f.name, i.flavor_id) AS flavor,"
            " i.vcpus, i.memory_mb, i.disk_gb, i.vm_state, i.created_at, i.launched_at,"
            f" i.deleted_at FROM {V}.instances i LEFT JOIN {V}.flavors f ON f.id = i.flavor_id"
            f" WHERE {where} ORDER BY i.project_id, i.created_at, i.id", params)
        return [msgspec.convert(r, InstanceUsage) for r in await cur.fetchall()]
