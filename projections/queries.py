"""The questions the query API asks of the views, and read-your-writes.

A command's response carries the log position of its events; a query that
passes it waits (briefly) until the projector has applied that position, so
a client always sees its own writes. A view that is stuck (projections/
faults.py) does not hold that position back: a query of it answers its rows
as of the position it is stuck at, and ``progress.log_progress`` names it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from psycopg.errors import InvalidRegularExpression
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from domain.errors import InvalidInput
from migrations.runner import VIEWS_SCHEMA
from projections.log import LogEntry, read_after_async
from projections.projector import NAME as TRACKING

V = VIEWS_SCHEMA
T = TypeVar("T")
Row = TypeVar("Row", bound=msgspec.Struct)


class InstanceView(msgspec.Struct, frozen=True):
    id: UUID
    version: int
    project_id: str
    user_id: str
    name: str
    host: str
    flavor_id: str
    image_ref: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    vm_state: str
    task_state: str | None
    power_state: int
    status: str
    pending: str | None
    pending_kind: str | None
    fault: str | None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    deleted_at: datetime | None
    fault_at: datetime | None = None
    key_name: str | None = None
    public_key: str | None = None
    metadata: dict[str, str] = {}
    user_data: str | None = None
    availability_zone: str = "nova"
    reservation_id: str = ""
    launch_index: int = 0
    description: str | None = None
    locked: bool = False
    locked_by_admin: bool = False
    locked_reason: str | None = None
    access_ip_v4: str = ""
    access_ip_v6: str = ""
    tags: list[str] = []


class InstanceBrief(msgspec.Struct, frozen=True):
    """What a brief server list shows: read alone, it spares decoding the rest of the row."""

    id: UUID
    name: str


def columns(kind: type[msgspec.Struct]) -> str:
    """The select list of ``kind``'s fields: the row holds more (a migration's
    jsonb, user data) than any one answer shows, and each column read is decoded."""
    return ", ".join(kind.__struct_fields__)


class ServerFilters(msgspec.Struct, frozen=True, kw_only=True):
    """What a server list may be narrowed by (Nova's query parameters)."""

    name: str | None = None  # a POSIX regular expression, as Nova
    status: str | None = None
    host: str | None = None
    flavor_id: str | None = None
    image_ref: str | None = None
    reservation_id: str | None = None  # the servers one boot request started
    changes_since: datetime | None = None  # also lists instances deleted since
    ip: str | None = None  # a regular expression a fixed IPv4 address matches from its start
    ip6: str | None = None  # the same for IPv6: ports have IPv4 addresses only
    # tags (2.26): every one of ``tags``, at least one of ``tags_any``, not all of
    # ``not_tags``, none of ``not_tags_any``
    tags: list[str] | None = None
    tags_any: list[str] | None = None
    not_tags: list[str] | None = None
    not_tags_any: list[str] | None = None


class ActionView(msgspec.Struct, frozen=True):
    instance_id: UUID
    request_id: str
    action: str
    project_id: str
    user_id: str
    start_time: datetime
    finish_time: datetime | None
    result: str | None
    message: str | None
    position: int | None = None
    host: str | None = None


WAIT_FIRST, WAIT_LAST = 0.001, 0.008  # seconds between looks at the views' position


async def position(pool: AsyncConnectionPool[Any]) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT position FROM {V}.tracking WHERE projection = %s", (TRACKING,)
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def wait_for(pool: AsyncConnectionPool[Any], target: int, limit_seconds: float) -> bool:
    """True once the views include log position ``target``; False after the limit.

    The projector applies a command's events within milliseconds, so the
    views are looked at again after 1, 2, 4 and then every 8 ms: a longer
    pause would be most of what a client waits for its own write.
    """
    deadline = time.monotonic() + limit_seconds
    delay = WAIT_FIRST
    while await position(pool) < target:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, WAIT_LAST)
    return True


async def list_instances(
    pool: AsyncConnectionPool[Any], project_id: str | None, kind: type[Row], *,
    filters: ServerFilters | None = None, name: str | None = None,
    limit: int | None = None, marker: UUID | None = None,
) -> list[Row]:
    """Instances newest first, as ``kind`` (InstanceView or InstanceBrief);
    all projects when ``project_id`` is None.

    Deleted instances are listed only with ``changes_since`` (as Nova).
    An invalid ``name`` expression raises ``InvalidInput``.
    """
    f = filters or ServerFilters(name=name)
    where: list[str] = []
    params: list[Any] = []

    def add(clause: str, value: Any) -> None:
        where.append(clause)
        params.append(value)

    if f.changes_since is None:
        where.append("vm_state <> 'deleted'")
    else:
        add("updated_at >= %s", f.changes_since)
    if project_id is not None:
        add("project_id = %s", project_id)
    if f.name:
        add("name ~ %s", f.name)
    if f.status:
        add("status = %s", f.status.upper())
    if f.host:
        add("host = %s", f.host)
    if f.flavor_id:
        add("flavor_id = %s", f.flavor_id)
    if f.image_ref:
        add("image_ref = %s", f.image_ref)
    if f.reservation_id:
        add("reservation_id = %s", f.reservation_id)
    if f.ip:
        add(f"id::text IN (SELECT p.device_id FROM {V}.ports p,"
            " jsonb_array_elements(p.fixed_ips) a WHERE NOT p.deleted"
            " AND a->>'ip_address' ~ ('^(?:' || %s || ')'))", f.ip)
    if f.ip6:
        where.append("false")  # no port has an IPv6 address
    if f.tags:
        add("tags @> %s", Jsonb(f.tags))
    if f.tags_any:
        add("tags ?| %s", f.tags_any)
    if f.not_tags:
        add("NOT tags @> %s", Jsonb(f.not_tags))
    if f.not_tags_any:
        add("NOT tags ?| %s", f.not_tags_any)
    if marker is not None:
        add(f"(created_at, id) < (SELECT created_at, id FROM {V}.instances WHERE id = %s)",
            marker)
    query = f"SELECT {columns(kind)} FROM {V}.instances"
    if where:
        query += f" WHERE {' AND '.join(where)}"
    query += " ORDER BY created_at DESC, id DESC"
    if limit is not None:
        query += " LIMIT %s"
        params.append(limit)
    try:
        return await _fetch(pool, kind, query, params)
    except InvalidRegularExpression as exc:
        which = "name" if f.name else "ip"
        raise InvalidInput(f"Invalid input for query parameter {which}: {exc}") from None


async def instance_exists(pool: AsyncConnectionPool[Any], instance_id: UUID,
                          project_id: str | None) -> bool:
    """Whether a marker names an instance the caller may page from."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT 1 FROM {V}.instances WHERE id = %s"
            " AND (%s::text IS NULL OR project_id = %s)", (instance_id, project_id, project_id))
        return await cur.fetchone() is not None


async def get_instance(
    pool: AsyncConnectionPool[Any], instance_id: UUID, project_id: str | None
) -> InstanceView | None:
    rows = await _fetch(
        pool, InstanceView,
        f"SELECT {columns(InstanceView)} FROM {V}.instances"
        " WHERE id = %s AND vm_state <> 'deleted'"
        " AND (%s::text IS NULL OR project_id = %s)",
        [instance_id, project_id, project_id],
    )
    return rows[0] if rows else None


async def list_actions(pool: AsyncConnectionPool[Any], instance_id: UUID) -> list[ActionView]:
    return await _fetch(
        pool, ActionView,
        f"SELECT * FROM {V}.instance_actions WHERE instance_id = %s"
        " ORDER BY position NULLS FIRST, start_time, request_id",
        [instance_id],
    )


async def instance_project(pool: AsyncConnectionPool[Any], instance_id: UUID) -> str | None:
    """The owner of an instance, deleted or not (actions outlive the instance)."""
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT project_id FROM {V}.instances WHERE id = %s",
                                 (instance_id,))
        row = await cur.fetchone()
        return str(row[0]) if row else None


async def events_after(pool: AsyncConnectionPool[Any], after: int, limit: int) -> list[LogEntry]:
    """The log itself, for the event stream."""
    async with pool.connection() as conn:
        return await read_after_async(conn, after, limit)


async def _fetch(
    pool: AsyncConnectionPool[Any], kind: type[T], query: str, params: list[Any]
) -> list[T]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return [msgspec.convert(r, kind) for r in await cur.fetchall()]
