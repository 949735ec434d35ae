"""What the quota API asks of the quota view: a project's overrides and usage."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA
# The quota_claims columns summed into ``in_use``.
COUNTED = ("instances", "cores", "ram", "volumes", "gigabytes", "snapshots", "floating_ips",
           "security_groups")


class QuotaUsageView(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    overrides: dict[str, int]
    in_use: dict[str, int]  # each of COUNTED


async def quota_usage(pool: AsyncConnectionPool[Any], project_id: str) -> QuotaUsageView:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT resource, hard_limit FROM {V}.quota_limits WHERE project_id = %s",
            (project_id,))
        overrides = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        sums = ", ".join(f"COALESCE(sum({c}), 0)" for c in COUNTED)
        cur = await conn.execute(f"SELECT {sums} FROM {V}.quota_claims WHERE project_id = %s",
                                 (project_id,))
        row = await cur.fetchone()
    assert row is not None
    in_use = dict(zip(COUNTED, (int(v) for v in row), strict=True))
    return QuotaUsageView(project_id=project_id, overrides=overrides, in_use=in_use)


async def class_limits(pool: AsyncConnectionPool[Any], class_key: str) -> dict[str, int]:
    """A quota class's limits an admin set (its key: domain/quota.py ``class_key``)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT resource, hard_limit FROM {V}.quota_limits WHERE project_id = %s",
            (class_key,))
        return {str(r[0]): int(r[1]) for r in await cur.fetchall()}
