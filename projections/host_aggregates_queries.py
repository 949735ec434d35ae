"""What os-aggregates and os-availability-zone ask of the host aggregates view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class HostAggregateView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    uuid: str
    name: str
    hosts: list[str]
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime | None


async def list_host_aggregates(pool: AsyncConnectionPool[Any]) -> list[HostAggregateView]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT * FROM {V}.host_aggregates ORDER BY id")
        return [msgspec.convert(r, HostAggregateView) for r in await cur.fetchall()]


async def get_host_aggregate(pool: AsyncConnectionPool[Any],
                             aggregate_id: int) -> HostAggregateView | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT * FROM {V}.host_aggregates WHERE id = %s", (aggregate_id,))
        row = await cur.fetchone()
        return msgspec.convert(row, HostAggregateView) if row else None
