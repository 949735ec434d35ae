"""What the volume API asks of the QoS specs view: the specs, one spec, and
the names of the volume types they are associated with."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain import qos_specs as model
from migrations.runner import VIEWS_SCHEMA
from projections.qos_specs import COLUMNS, state_of

_FROM = f"SELECT {', '.join(COLUMNS)} FROM {VIEWS_SCHEMA}.qos_specs WHERE NOT deleted"


async def listed(pool: AsyncConnectionPool[Any]) -> list[model.QosSpecs]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_FROM} ORDER BY created_at, id")
        return [state_of(r) for r in await cur.fetchall()]


async def one(pool: AsyncConnectionPool[Any], qos_id: str) -> model.QosSpecs | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_FROM} AND id = %s", (qos_id,))
        row = await cur.fetchone()
        return None if row is None else state_of(row)


async def type_names(pool: AsyncConnectionPool[Any], type_ids: list[str]) -> dict[str, str]:
    """Volume type id -> name, of those not deleted."""
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT id, name FROM {VIEWS_SCHEMA}.volume_types"
                                 " WHERE id = ANY(%s) AND NOT deleted", (type_ids,))
        return {i: n for i, n in await cur.fetchall()}
