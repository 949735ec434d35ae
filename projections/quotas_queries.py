"""What the quota API asks of the quota view: a project's overrides and usage."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class QuotaUsageView(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    overrides: dict[str, int]
    in_use: dict[str, int]  # instances, cores, ram, volumes, gigabytes, snapshots


async def quota_usage(pool: AsyncConnectionPool[Any], project_id: str) -> QuotaUsageView:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT resource, hard_limit FROM {V}.quota_limits WHERE project_id = %s",
            (project_id,))
        overrides = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT COALESCE(sum(instances), 0), COALESCE(sum(cores), 0),"
            " COALESCE(sum(ram), 0), COALESCE(sum(volumes), 0), COALESCE(sum(gigabytes), 0),"
            " COALESCE(sum(snapshots), 0)"
            f" FROM {V}.quota_claims WHERE project_id = %s",
            (project_id,))
        row = await cur.fetchone()
    assert row is not None
    in_use = dict(zip(("instances", "cores", "ram", "volumes", "gigabytes", "snapshots"),
                      (int(v) for v in row), strict=True))
    return QuotaUsageView(project_id=project_id, overrides=overrides, in_use=in_use)
