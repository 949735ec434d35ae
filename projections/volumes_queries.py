"""What the volume API asks of the volumes, snapshots and backups views.

Each view's rows are one state struct (domain.volume.Volume, ...), so one
pair of queries serves all three: a listing newest first with equality
filters, and one row by id. Deleted rows stay in the views (as ``deleted``)
but are never shown.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain.backup import Backup
from domain.snapshot import Snapshot
from domain.volume import Volume
from migrations.runner import VIEWS_SCHEMA
from projections import pending

V = VIEWS_SCHEMA
S = TypeVar("S", bound=msgspec.Struct)
TABLES: dict[type, str] = {Volume: "volumes", Snapshot: "snapshots", Backup: "backups"}


def _row(kind: type[S], row: dict[str, Any]) -> S:
    return pending.from_row({**row, "id": str(row["id"])}, kind)


async def listed(pool: AsyncConnectionPool[Any], kind: type[S], *, limit: int,
                 marker: UUID | None = None, **equal: Any) -> list[S]:
    """Rows newest first, deleted ones left out, each ``column=value`` that is
    not None applied (``project_id=None``: every project's); after ``marker``."""
    table = f"{V}.{TABLES[kind]}"
    where = ["status <> 'deleted'"]
    params: list[Any] = []
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if marker is not None:
        where.append(f"(created_at, id) < (SELECT created_at, id FROM {table} WHERE id = %s)")
        params.append(marker)
    columns = ", ".join(pending.columns(kind))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)}"
                          " ORDER BY created_at DESC, id DESC LIMIT %s", (*params, limit))
        return [_row(kind, r) for r in await cur.fetchall()]


async def one(pool: AsyncConnectionPool[Any], kind: type[S], ident: UUID,
              project_id: str | None) -> S | None:
    """A row that is not deleted, if ``project_id`` (None: any) owns it."""
    columns = ", ".join(pending.columns(kind))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {columns} FROM {V}.{TABLES[kind]} WHERE id = %s"
                          " AND status <> 'deleted'", (ident,))
        row = await cur.fetchone()
    if row is None or (project_id is not None and row["project_id"] != project_id):
        return None
    return _row(kind, row)


async def volumes_of_servers(pool: AsyncConnectionPool[Any],
                             server_ids: list[UUID]) -> dict[str, list[str]]:
    """Server id -> the ids of the volumes attached to it (in device order)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT server_id, id FROM {V}.volumes WHERE server_id = ANY(%s)"
            " ORDER BY device", ([str(s) for s in server_ids],))
        found: dict[str, list[str]] = {}
        for server_id, volume_id in await cur.fetchall():
            found.setdefault(str(server_id), []).append(str(volume_id))
        return found


async def attached_to(pool: AsyncConnectionPool[Any], server_id: UUID) -> list[Volume]:
    """The volumes attached, or being attached or detached, to a server."""
    columns = ", ".join(pending.columns(Volume))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {columns} FROM {V}.volumes WHERE server_id = %s"
                          " ORDER BY device", (str(server_id),))
        return [_row(Volume, r) for r in await cur.fetchall()]
