"""What the volume API asks of the volumes view."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain.backup import Backup
from domain.snapshot import Snapshot
from domain.volume import Volume
from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA
_COLUMNS = ", ".join(Volume.__struct_fields__)


def _volume(row: dict[str, Any]) -> Volume:
    return msgspec.convert({**row, "id": str(row["id"])}, Volume)


async def list_volumes(pool: AsyncConnectionPool[Any], project_id: str | None, *,
                       limit: int, marker: UUID | None = None,
                       name: str | None = None, status: str | None = None) -> list[Volume]:
    """Volumes newest first, deleted ones left out; every project's when
    ``project_id`` is None."""
    where = ["status <> 'deleted'"]
    params: list[Any] = []
    for clause, value in (("project_id = %s", project_id), ("name = %s", name),
                          ("status = %s", status)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if marker is not None:
        where.append(f"(created_at, id) < (SELECT created_at, id FROM {V}.volumes"
                     " WHERE id = %s)")
        params.append(marker)
    query = (f"SELECT {_COLUMNS} FROM {V}.volumes WHERE {' AND '.join(where)}"
             " ORDER BY created_at DESC, id DESC LIMIT %s")
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, (*params, limit))
        return [_volume(r) for r in await cur.fetchall()]


async def get_volume(pool: AsyncConnectionPool[Any], volume_id: UUID,
                     project_id: str | None) -> Volume | None:
    """A volume that is not deleted, if ``project_id`` (None: any) owns it."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM {V}.volumes WHERE id = %s"
                          " AND status <> 'deleted'", (volume_id,))
        row = await cur.fetchone()
    if row is None or (project_id is not None and row["project_id"] != project_id):
        return None
    return _volume(row)


async def attached_to(pool: AsyncConnectionPool[Any], server_id: UUID) -> list[Volume]:
    """The volumes attached, or being attached or detached, to a server."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM {V}.volumes WHERE server_id = %s"
                          " ORDER BY device", (str(server_id),))
        return [_volume(r) for r in await cur.fetchall()]


_SNAPSHOT_COLUMNS = ", ".join(Snapshot.__struct_fields__)


async def list_snapshots(pool: AsyncConnectionPool[Any], project_id: str | None, *,
                         limit: int, volume_id: str | None = None) -> list[Snapshot]:
    where = ["status <> 'deleted'"]
    params: list[Any] = []
    for clause, value in (("project_id = %s", project_id), ("volume_id = %s", volume_id)):
        if value is not None:
            where.append(clause)
            params.append(value)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_SNAPSHOT_COLUMNS} FROM {V}.snapshots WHERE"
                          f" {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT %s",
                          (*params, limit))
        return [msgspec.convert({**r, "id": str(r["id"])}, Snapshot)
                for r in await cur.fetchall()]


async def get_snapshot(pool: AsyncConnectionPool[Any], snapshot_id: UUID,
                       project_id: str | None) -> Snapshot | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_SNAPSHOT_COLUMNS} FROM {V}.snapshots WHERE id = %s"
                          " AND status <> 'deleted'", (snapshot_id,))
        row = await cur.fetchone()
    if row is None or (project_id is not None and row["project_id"] != project_id):
        return None
    return msgspec.convert({**row, "id": str(row["id"])}, Snapshot)


_BACKUP_COLUMNS = ", ".join(Backup.__struct_fields__)


async def list_backups(pool: AsyncConnectionPool[Any], project_id: str | None, *,
                       limit: int) -> list[Backup]:
    where, params = "status <> 'deleted'", []
    if project_id is not None:
        where, params = where + " AND project_id = %s", [project_id]
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_BACKUP_COLUMNS} FROM {V}.backups WHERE {where}"
                          " ORDER BY created_at DESC, id DESC LIMIT %s", (*params, limit))
        return [msgspec.convert({**r, "id": str(r["id"])}, Backup)
                for r in await cur.fetchall()]


async def get_backup(pool: AsyncConnectionPool[Any], backup_id: UUID,
                     project_id: str | None) -> Backup | None:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_BACKUP_COLUMNS} FROM {V}.backups WHERE id = %s"
                          " AND status <> 'deleted'", (backup_id,))
        row = await cur.fetchone()
    if row is None or (project_id is not None and row["project_id"] != project_id):
        return None
    return msgspec.convert({**row, "id": str(row["id"])}, Backup)
