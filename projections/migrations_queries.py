"""What os-migrations and /servers/{id}/migrations ask of the migrations view."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class MigrationView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    uuid: UUID
    instance_uuid: UUID
    project_id: str
    user_id: str
    migration_type: str
    source_compute: str
    dest_compute: str
    old_flavor_id: str
    new_flavor_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    memory_total_bytes: int = 0
    memory_processed_bytes: int = 0
    memory_remaining_bytes: int = 0
    disk_total_bytes: int = 0
    disk_processed_bytes: int = 0
    disk_remaining_bytes: int = 0

    @property
    def live_in_progress(self) -> bool:
        return self.migration_type == "live-migration" and self.status in (
            "queued", "preparing", "running")


_FILTERS = {"instance_uuid": "instance_uuid = %s::uuid", "status": "status = %s",
            "id": "id = %s::bigint",
            "migration_type": "migration_type = %s", "source_compute": "source_compute = %s",
            "host": "(source_compute = %s OR dest_compute = %s)"}


async def list_migrations(pool: AsyncConnectionPool[Any], *, limit: int = 1000,
                          **filters: str | None) -> list[MigrationView]:
    """The migrations, newest first, matching every filter given (None: any)."""
    where, params = [], []
    for name, value in filters.items():
        if value is None:
            continue
        clause = _FILTERS[name]
        where.append(clause)
        params += [value] * clause.count("%s")
    sql = f"SELECT * FROM {V}.migrations"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT %s"
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, (*params, limit))
        return [msgspec.convert(r, MigrationView) for r in await cur.fetchall()]
