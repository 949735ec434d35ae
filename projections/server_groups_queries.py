"""What os-server-groups asks of the server groups view: groups with their
live members (a deleted server is no longer a member)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA


class ServerGroupView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    policy: str
    project_id: str
    user_id: str
    members: list[str]


_GROUPS = f"""
SELECT g.id, g.name, g.policy, g.project_id, g.user_id,
       COALESCE((SELECT array_agg(m.instance_id::text ORDER BY m.joined_at, m.instance_id)
                 FROM {V}.server_group_members m JOIN {V}.instances i ON i.id = m.instance_id
                 WHERE m.group_id = g.id AND i.deleted_at IS NULL), '{{}}') AS members
FROM {V}.server_groups g
"""


async def list_server_groups(pool: AsyncConnectionPool[Any], project_id: str | None, *,
                             limit: int, offset: int) -> list[ServerGroupView]:
    """Groups by creation (``project_id`` None: every project's)."""
    where, params = ("", []) if project_id is None else (" WHERE g.project_id = %s",
                                                         [project_id])
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_GROUPS + where + " ORDER BY g.created_at, g.id LIMIT %s OFFSET %s",
                          [*params, limit, offset])
        return [msgspec.convert(r, ServerGroupView) for r in await cur.fetchall()]


async def get_server_group(pool: AsyncConnectionPool[Any], group_id: UUID,
                           project_id: str | None) -> ServerGroupView | None:
    query = _GROUPS + " WHERE g.id = %s"
    params: list[Any] = [group_id]
    if project_id is not None:
        query += " AND g.project_id = %s"
        params.append(project_id)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        row = await cur.fetchone()
        return msgspec.convert(row, ServerGroupView) if row else None
