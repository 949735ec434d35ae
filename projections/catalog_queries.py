"""The questions the flavor, image and keypair APIs ask of the catalog views.

Visibility follows Nova: a project sees public flavors and the private ones
it was given access to; a user sees only their own keypairs. Admins see every
flavor. Image lists and members are projections/image_queries.py's; the
row (``ImageView``) is here with the other catalog rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA
T = TypeVar("T")


class FlavorView(msgspec.Struct, frozen=True):
    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int
    swap: int
    rxtx_factor: float
    is_public: bool
    description: str | None
    created_at: datetime
    extra_specs: dict[str, str] = {}


class ImageView(msgspec.Struct, frozen=True):
    id: UUID
    name: str | None
    owner: str
    visibility: str
    status: str
    disk_format: str | None
    container_format: str | None
    size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    protected: bool
    tags: list[str]
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class KeypairView(msgspec.Struct, frozen=True):
    id: UUID
    user_id: str
    name: str
    public_key: str
    fingerprint: str
    type: str
    created_at: datetime


_ACCESS = (f"EXISTS (SELECT 1 FROM {V}.flavor_access a"
           " WHERE a.flavor_id = f.id AND a.project_id = %s)")


async def list_flavors(pool: AsyncConnectionPool[Any], project_id: str, *, is_admin: bool,
                       is_public: bool | None = True, limit: int | None = None,
                       marker: str | None = None, min_disk: int | None = None,
                       min_ram: int | None = None) -> list[FlavorView]:
    """Flavors by id. ``is_public``: True = public and accessible, False = private
    only (admins), None = every flavor (admins); ``min_disk``, ``min_ram``: only
    flavors with at least that much (Nova's minDisk and minRam)."""
    where: list[str] = []
    params: list[Any] = []
    if not is_admin or is_public is True:
        where.append(f"(f.is_public OR {_ACCESS})")
        params.append(project_id)
    elif is_public is False:
        where.append("NOT f.is_public")
    if marker is not None:
        where.append("f.id > %s")
        params.append(marker)
    for column, least in (("disk", min_disk), ("ram", min_ram)):
        if least is not None:
            where.append(f"f.{column} >= %s")
            params.append(least)
    query = f"SELECT f.* FROM {V}.flavors f"
    if where:
        query += " WHERE " + " AND ".join(where)
    query += " ORDER BY f.id"
    if limit is not None:
        query += " LIMIT %s"
        params.append(limit)
    return await fetch(pool, FlavorView, query, params)


async def get_flavor(pool: AsyncConnectionPool[Any], flavor_id: str, project_id: str, *,
                     is_admin: bool) -> FlavorView | None:
    query = f"SELECT f.* FROM {V}.flavors f WHERE f.id = %s"
    params: list[Any] = [flavor_id]
    if not is_admin:
        query += f" AND (f.is_public OR {_ACCESS})"
        params.append(project_id)
    found = await fetch(pool, FlavorView, query, params)
    return found[0] if found else None


async def flavor_projects(pool: AsyncConnectionPool[Any], flavor_id: str) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT project_id FROM {V}.flavor_access"
                                 " WHERE flavor_id = %s ORDER BY project_id", (flavor_id,))
        return [str(r[0]) for r in await cur.fetchall()]


async def list_keypairs(pool: AsyncConnectionPool[Any], user_id: str) -> list[KeypairView]:
    return await fetch(pool, KeypairView, f"SELECT * FROM {V}.keypairs WHERE user_id = %s"
                        " ORDER BY name", [user_id])


async def get_keypair(pool: AsyncConnectionPool[Any], user_id: str,
                      name: str) -> KeypairView | None:
    found = await fetch(pool, KeypairView, f"SELECT * FROM {V}.keypairs"
                         " WHERE user_id = %s AND name = %s", [user_id, name])
    return found[0] if found else None


async def fetch(pool: AsyncConnectionPool[Any], kind: type[T], query: str,
                 params: list[Any]) -> list[T]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return [msgspec.convert(r, kind) for r in await cur.fetchall()]
