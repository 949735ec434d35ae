"""What the volume API asks of the volumes, snapshots and backups views.

Each view's rows are one state struct (domain.volume.Volume, ...), so one
pair of queries serves all three: a listing newest first with equality
filters, and one row by id. Deleted rows stay in the views (as ``deleted``)
but are never shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from domain.backup import Backup
from domain.errors import NotFound
from domain.snapshot import Snapshot
from domain.volume import Volume
from migrations.runner import VIEWS_SCHEMA
from projections import pending

V = VIEWS_SCHEMA
S = TypeVar("S", bound=msgspec.Struct)
TABLES: dict[type, str] = {Volume: "volumes", Snapshot: "snapshots", Backup: "backups"}


def _row(kind: type[S], row: dict[str, Any]) -> S:
    return pending.from_row({**row, "id": str(row["id"])}, kind)


SORTABLE = {"id": "id", "name": "name", "display_name": "name", "status": "status",
            "size": "size_gb", "created_at": "created_at", "updated_at": "updated_at"}
_TEXT = {"name", "status"}  # compared byte by byte, as clients sort strings
Order = list[tuple[str, bool]]  # (column, descending)
NEWEST_FIRST: Order = [("created_at", True), ("id", True)]


def _sorted_by(column: str) -> str:
    return f'{column} COLLATE "C"' if column in _TEXT else column


async def listed(pool: AsyncConnectionPool[Any], kind: type[S], *, limit: int,
                 marker: UUID | None = None, order: Order | None = None, offset: int = 0,
                 metadata: dict[str, str] | None = None, **equal: Any) -> list[S]:
    """Rows in ``order`` (columns of SORTABLE; default newest first, id last
    to break ties), deleted ones left out, each ``column=value`` that is not
    None applied (``project_id=None``: every project's), ``metadata`` (volumes)
    holding those pairs; after the row ``marker`` (404 when there is none)
    and ``offset`` more."""
    table = f"{V}.{TABLES[kind]}"
    keys = list(order or NEWEST_FIRST)
    if all(column != "id" for column, _ in keys):
        keys.append(("id", keys[-1][1]))
    where = ["status <> 'deleted'"]
    params: list[Any] = []
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if metadata:
        where.append("metadata @> %s")
        params.append(Jsonb(metadata))
    columns = ", ".join(pending.columns(kind))
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        if marker is not None:
            await cur.execute(f"SELECT 1 FROM {table} WHERE id = %s", (marker,))
            if await cur.fetchone() is None:
                raise NotFound(f"Marker {marker} could not be found.")
            after = []  # lexicographically past the marker's row, in each key's direction
            for i, (column, descending) in enumerate(keys):
                same = [f"{_sorted_by(c)} = (SELECT {_sorted_by(c)} FROM {table} WHERE id = %s)"
                        for c, _ in keys[:i]]
                past = (f"{_sorted_by(column)} {'<' if descending else '>'}"
                        f" (SELECT {_sorted_by(column)} FROM {table} WHERE id = %s)")
                after.append("(" + " AND ".join([*same, past]) + ")")
                params += [marker] * (i + 1)
            where.append("(" + " OR ".join(after) + ")")
        ordering = ", ".join(f"{_sorted_by(c)} {'DESC' if d else 'ASC'}" for c, d in keys)
        await cur.execute(f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)}"
                          f" ORDER BY {ordering} LIMIT %s OFFSET %s", (*params, limit, offset))
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


class HostUsage(msgspec.Struct, frozen=True):
    """What one project keeps on a storage host (Cinder's os-hosts resource)."""

    project_id: str
    volume_count: int
    volume_gb: int
    snapshot_count: int
    snapshot_gb: int


async def host_usage(pool: AsyncConnectionPool[Any], host: str) -> list[HostUsage]:
    """Per project, the volumes and snapshots on ``host`` that are not deleted."""
    query = (
        f"SELECT project_id, sum(vc)::int, sum(vg)::int, sum(sc)::int, sum(sg)::int FROM ("
        f" SELECT project_id, 1 AS vc, size_gb AS vg, 0 AS sc, 0 AS sg FROM {V}.volumes"
        "  WHERE host = %s AND status <> 'deleted' UNION ALL"
        f" SELECT project_id, 0, 0, 1, size_gb FROM {V}.snapshots"
        "  WHERE host = %s AND status <> 'deleted') used"
        " GROUP BY project_id ORDER BY project_id")
    async with pool.connection() as conn:
        cur = await conn.execute(query, (host, host))
        return [HostUsage(*row) for row in await cur.fetchall()]


async def allocated_gb(pool: AsyncConnectionPool[Any]) -> dict[str, int]:
    """Storage host -> the gigabytes its volumes that are not deleted hold."""
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT host, sum(size_gb)::int FROM {V}.volumes"
                                 " WHERE status <> 'deleted' GROUP BY host")
        return {host: total for host, total in await cur.fetchall()}


async def last_heard(pool: AsyncConnectionPool[Any]) -> dict[str, datetime]:
    """Storage host -> the last time one of its volumes, snapshots or backups changed."""
    query = " UNION ALL ".join(
        f"SELECT host, max(updated_at) FROM {V}.{table} GROUP BY host"
        for table in ("volumes", "snapshots", "backups"))
    async with pool.connection() as conn:
        cur = await conn.execute(query)
        found: dict[str, datetime] = {}
        for host, at in await cur.fetchall():
            if at is not None and (host not in found or at > found[host]):
                found[host] = at
        return found


async def cloud_started(pool: AsyncConnectionPool[Any]) -> datetime | None:
    """When the first volume type (the default one, seeded at the first start) was recorded."""
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT min(created_at) FROM {V}.volume_types")
        row = await cur.fetchone()
        return None if row is None else row[0]
