"""The questions the image API asks of the images and image_members views.

Who sees what follows Glance v2: everyone sees ``public`` and ``community``
images, a project its own, and the ``shared`` images it is a member of
(any member status for one image; in lists, accepted ones unless
``member_status`` says otherwise); admins see every image. A list without a
``visibility`` filter leaves out community images of other projects, as
Glance's does. Lists sort by any of Glance's sort keys (newest first by
default), the id breaking ties, and page by marker: the rows after the
marker's place in that order, the marker judged in the same scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA
from projections.catalog_queries import ImageView, fetch

V = VIEWS_SCHEMA
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at", "min_disk", "min_ram", "owner", "visibility", "protected")
FILTER_COLUMNS = ("name", "owner", "status", "disk_format", "container_format")


class ImageFilters(msgspec.Struct, frozen=True, kw_only=True):
    """A list's filters, already checked by the API (api/image/listing.py)."""

    visibility: str | None = None  # None: Glance's default scope; "all": every visible
    member_status: str = "accepted"  # or pending, rejected, all
    equal: dict[str, list[str]] = {}  # column -> any of these values
    ids: list[UUID] | None = None
    size_min: int | None = None
    size_max: int | None = None
    tags: list[str] = []
    protected: bool | None = None
    properties: dict[str, str] = {}
    changed_since: datetime | None = None  # updated at or after (Nova's changes-since)
    min_disk: int | None = None  # at least this min_disk (Nova's minDisk filter)
    min_ram: int | None = None
    sort: list[tuple[str, str]] = msgspec.field(  # (key, asc|desc)
        default_factory=lambda: [("created_at", "desc")])
    limit: int | None = None
    marker: UUID | None = None


class MemberView(msgspec.Struct, frozen=True):
    image_id: UUID
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime


def _member(status: str, params: list[Any], project_id: str) -> str:
    params.append(project_id)
    clause = "m.image_id = i.id AND m.member_id = %s"
    if status != "all":
        clause += " AND m.status = %s"
        params.append(status)
    return f"EXISTS (SELECT 1 FROM {V}.image_members m WHERE {clause})"


def _scope(project_id: str, is_admin: bool, visibility: str | None, member_status: str,
           params: list[Any]) -> str:
    """Which images a list may show, as Glance scopes it."""
    if visibility in ("public", "community"):
        params.append(visibility)
        return "i.visibility = %s"
    if visibility == "private":
        if is_admin:
            return "i.visibility = 'private'"
        params.append(project_id)
        return "i.visibility = 'private' AND i.owner = %s"
    if visibility == "shared":
        if is_admin:
            return "i.visibility = 'shared'"
        params.append(project_id)
        return (f"i.visibility = 'shared' AND (i.owner = %s"
                f" OR {_member(member_status, params, project_id)})")
    if is_admin:
        return "TRUE"
    seen = "i.visibility = 'public'" + (" OR i.visibility = 'community'"
                                        if visibility == "all" else "")
    params.append(project_id)
    return (f"({seen} OR i.owner = %s OR (i.visibility = 'shared'"
            f" AND {_member(member_status, params, project_id)}))")


def _filters(filters: ImageFilters, params: list[Any]) -> list[str]:
    where: list[str] = []
    for column, values in filters.equal.items():
        assert column in FILTER_COLUMNS
        where.append(f"i.{column} = ANY(%s)")
        params.append(values)
    if filters.ids is not None:
        where.append("i.id = ANY(%s)")
        params.append(filters.ids)
    if filters.size_min is not None:
        where.append("i.size >= %s")
        params.append(filters.size_min)
    if filters.size_max is not None:
        where.append("i.size <= %s")
        params.append(filters.size_max)
    if filters.tags:
        where.append("i.tags @> %s")
        params.append(Jsonb(filters.tags))
    if filters.protected is not None:
        where.append("i.protected = %s")
        params.append(filters.protected)
    if filters.properties:
        where.append("i.properties @> %s")
        params.append(Jsonb(filters.properties))
    for clause, value in (("i.updated_at >= %s", filters.changed_since),
                          ("i.min_disk >= %s", filters.min_disk),
                          ("i.min_ram >= %s", filters.min_ram)):
        if value is not None:
            where.append(clause)
            params.append(value)
    return where


def _order(sort: list[tuple[str, str]]) -> str:
    keys = [(k, d) for k, d in sort if k in SORT_KEYS and d in ("asc", "desc")]
    assert len(keys) == len(sort), "sort keys are checked by the API"
    if not any(k == "id" for k, _ in keys):
        keys.append(("id", keys[-1][1] if keys else "desc"))
    return ", ".join(f"i.{k} {d.upper()}" for k, d in keys)


async def list_images(pool: AsyncConnectionPool[Any], project_id: str, *, is_admin: bool,
                      filters: ImageFilters) -> list[ImageView] | None:
    """A page of images; None when the marker is not an image this list could show."""
    scoped: list[Any] = []
    scope = _scope(project_id, is_admin, filters.visibility, filters.member_status, scoped)
    if filters.marker is not None and not await fetch(
            pool, ImageView, f"SELECT i.* FROM {V}.images i WHERE i.id = %s AND {scope}",
            [filters.marker, *scoped]):
        return None
    params = list(scoped)
    where = _filters(filters, params)
    if filters.marker is not None:
        where.append("i.place > (SELECT place FROM ordered WHERE id = %s)")
        params.append(filters.marker)
    query = (f"WITH ordered AS (SELECT i.*, row_number() OVER (ORDER BY {_order(filters.sort)})"
             f" AS place FROM {V}.images i WHERE {scope}) SELECT * FROM ordered i")
    if where:
        query += " WHERE " + " AND ".join(where)
    query += " ORDER BY i.place"
    if filters.limit is not None:
        query += " LIMIT %s"
        params.append(filters.limit)
    return await fetch(pool, ImageView, query, params)


async def get_image(pool: AsyncConnectionPool[Any], image_id: UUID, project_id: str, *,
                    is_admin: bool) -> ImageView | None:
    """One image the caller may see: a member sees a shared image whatever its answer."""
    params: list[Any] = [image_id]
    scope = _scope(project_id, is_admin, "all", "all", params)
    found = await fetch(pool, ImageView, f"SELECT i.* FROM {V}.images i WHERE i.id = %s"
                        f" AND {scope}", params)
    return found[0] if found else None


async def list_members(pool: AsyncConnectionPool[Any], image_id: UUID,
                       member_id: str | None = None) -> list[MemberView]:
    """An image's members by id (one of them, with ``member_id``)."""
    query = f"SELECT * FROM {V}.image_members WHERE image_id = %s"
    params: list[Any] = [image_id]
    if member_id is not None:
        query += " AND member_id = %s"
        params.append(member_id)
    return await fetch(pool, MemberView, query + " ORDER BY member_id", params)
