"""What the volume API asks of the volume types view: the types a caller
may see (Cinder's ``is_public`` filter), one type, and a type's access list."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain.volume_types import VolumeTypeState
from migrations.runner import VIEWS_SCHEMA
from projections.volume_types import COLUMNS, from_row

_FROM = f"SELECT {', '.join(COLUMNS)} FROM {VIEWS_SCHEMA}.volume_types WHERE NOT deleted"


async def listed(pool: AsyncConnectionPool[Any], project_id: str, *,
                 public: bool | None) -> list[VolumeTypeState]:
    """Types oldest first: ``public`` True the public ones and the private ones
    ``project_id`` may use, False the private ones, None every one."""
    where, params = "", []
    if public is True:
        where, params = " AND (is_public OR projects ? %s)", [project_id]
    elif public is False:
        where = " AND NOT is_public"
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_FROM}{where} ORDER BY created_at, name", params)
        return [from_row(r) for r in await cur.fetchall()]


async def one(pool: AsyncConnectionPool[Any], ref: str) -> VolumeTypeState | None:
    """The type with id ``ref`` (or, failing that, named ``ref``)."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_FROM} AND (id = %s OR name = %s)"
                          " ORDER BY (id = %s) DESC LIMIT 1", (ref, ref, ref))
        row = await cur.fetchone()
    return None if row is None else from_row(row)
