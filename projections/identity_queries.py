"""The questions the identity API asks of the identity views.

The Keystone admin routes list and show projects, users and role
assignments from here; ``RevocationReader`` is the small incremental read
with which every API process keeps its cache of revoked tokens current.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # when the Default domain was "made"

log = logging.getLogger(__name__)


class DomainRow(msgspec.Struct, frozen=True):
    id: str
    name: str
    description: str
    enabled: bool
    created_at: datetime


class ProjectRow(msgspec.Struct, frozen=True):
    id: str
    name: str
    description: str
    created_at: datetime
    enabled: bool = True
    tags: list[str] = []
    domain_id: str = "default"


class UserRow(msgspec.Struct, frozen=True):
    id: str
    name: str
    default_project_id: str | None
    created_at: datetime
    domain_id: str = "default"
    email: str | None = None
    description: str | None = None
    enabled: bool = True


async def list_domains(pool: AsyncConnectionPool[Any], *, name: str | None = None,
                       domain_id: str | None = None) -> list[DomainRow]:
    """The domains made through the API (the Default domain is no row)."""
    return await _fetch(
        pool, DomainRow,
        f"SELECT id, name, description, enabled, created_at FROM {V}.domains"
        " WHERE (%s::text IS NULL OR name = %s) AND (%s::text IS NULL OR id = %s)"
        " ORDER BY name",
        [name, name, domain_id, domain_id])


class AssignmentRow(msgspec.Struct, frozen=True):
    user_id: str
    project_id: str
    role: str


class RevocationRow(msgspec.Struct, frozen=True):
    position: int
    audit_id: str | None
    user_id: str | None
    project_id: str | None
    revoked_at: datetime


async def _fetch(pool: AsyncConnectionPool[Any], kind: type[Any], query: str,
                 params: list[Any]) -> list[Any]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return [msgspec.convert(row, kind) for row in await cur.fetchall()]


_PROJECT = "id, name, description, created_at, enabled, tags, domain_id"
_USER = "id, name, default_project_id, created_at, domain_id, email, description, enabled"


async def list_projects(pool: AsyncConnectionPool[Any], *, name: str | None = None,
                        ids: list[str] | None = None,
                        domain_id: str | None = None) -> list[ProjectRow]:
    """Projects by name and domain; ``ids`` limits them to those (None: all)."""
    return await _fetch(
        pool, ProjectRow,
        f"SELECT {_PROJECT} FROM {V}.projects"
        " WHERE (%s::text IS NULL OR name = %s) AND (%s::text[] IS NULL OR id = ANY(%s))"
        " AND (%s::text IS NULL OR domain_id = %s) ORDER BY name",
        [name, name, ids, ids, domain_id, domain_id])


async def get_project(pool: AsyncConnectionPool[Any], project_id: str) -> ProjectRow | None:
    rows = await _fetch(pool, ProjectRow,
                        f"SELECT {_PROJECT} FROM {V}.projects WHERE id = %s", [project_id])
    return rows[0] if rows else None


async def list_users(pool: AsyncConnectionPool[Any], *, name: str | None = None,
                     user_id: str | None = None, domain_id: str | None = None,
                     enabled: bool | None = None) -> list[UserRow]:
    return await _fetch(
        pool, UserRow,
        f"SELECT {_USER} FROM {V}.users"
        " WHERE (%s::text IS NULL OR name = %s) AND (%s::text IS NULL OR id = %s)"
        " AND (%s::text IS NULL OR domain_id = %s) AND (%s::bool IS NULL OR enabled = %s)"
        " ORDER BY name",
        [name, name, user_id, user_id, domain_id, domain_id, enabled, enabled])


async def list_assignments(pool: AsyncConnectionPool[Any], *, user_id: str | None = None,
                           project_id: str | None = None,
                           role: str | None = None) -> list[AssignmentRow]:
    return await _fetch(
        pool, AssignmentRow,
        f"SELECT user_id, project_id, role FROM {V}.role_assignments"
        " WHERE (%s::text IS NULL OR user_id = %s) AND (%s::text IS NULL OR project_id = %s)"
        " AND (%s::text IS NULL OR role = %s) ORDER BY user_id, project_id, role",
        [user_id, user_id, project_id, project_id, role, role])


def revocations_after(conn: psycopg.Connection[Any], position: int) -> list[RevocationRow]:
    """Revocations recorded after log position ``position`` (synchronous: the
    token check runs inside request handling and must not wait on a pool)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT position, audit_id, user_id, project_id, revoked_at"
                    f" FROM {V}.revocations WHERE position > %s ORDER BY position",
                    (position,))
        return [msgspec.convert(row, RevocationRow) for row in cur.fetchall()]


class RevocationReader:
    """The revocations recorded after a position, over one small synchronous
    connection of its own (the token check runs inside request handling and
    must not wait on a pool). Not thread-safe: its one user holds a lock."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: psycopg.Connection[Any] | None = None

    def after(self, position: int) -> list[RevocationRow] | None:
        """The revocations after ``position``, or None when the views cannot be
        read now (the connection is opened again on the next call)."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._url, autocommit=True)
            return revocations_after(self._conn, position)
        except psycopg.Error as exc:
            log.warning("could not refresh token revocations: %s", exc)
            self.close()  # a failed statement leaves the connection open: not dropped unclosed
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class CustomRoleRow(msgspec.Struct, frozen=True):
    id: str
    name: str
    domain_id: str | None
    description: str | None


async def list_custom_roles(pool: AsyncConnectionPool[Any], *, name: str | None = None,
                            role_id: str | None = None,
                            domain_id: str | None = None) -> list[CustomRoleRow]:
    """Custom roles by name, id and domain (None domain: the global ones)."""
    return await _fetch(
        pool, CustomRoleRow,
        f"SELECT id, name, domain_id, description FROM {V}.custom_roles"
        " WHERE (%s::text IS NULL OR name = %s) AND (%s::text IS NULL OR id = %s)"
        " AND (domain_id IS NOT DISTINCT FROM %s) ORDER BY name",
        [name, name, role_id, role_id, domain_id])


async def custom_roles_by_id(pool: AsyncConnectionPool[Any]) -> dict[str, CustomRoleRow]:
    """Every custom role (of any domain) by its id."""
    rows = await _fetch(pool, CustomRoleRow,
                        f"SELECT id, name, domain_id, description FROM {V}.custom_roles", [])
    return {r.id: r for r in rows}


class GroupRow(msgspec.Struct, frozen=True):
    id: str
    name: str
    domain_id: str
    description: str


async def list_groups(pool: AsyncConnectionPool[Any], *, name: str | None = None,
                      group_id: str | None = None, domain_id: str | None = None,
                      user_id: str | None = None) -> list[GroupRow]:
    """Groups by name, id and domain; ``user_id``: only those the user is in."""
    return await _fetch(
        pool, GroupRow,
        f"SELECT id, name, domain_id, description FROM {V}.groups g"
        " WHERE (%s::text IS NULL OR name = %s) AND (%s::text IS NULL OR id = %s)"
        " AND (%s::text IS NULL OR domain_id = %s)"
        f" AND (%s::text IS NULL OR EXISTS (SELECT 1 FROM {V}.group_members m"
        "   WHERE m.group_id = g.id AND m.user_id = %s)) ORDER BY name",
        [name, name, group_id, group_id, domain_id, domain_id, user_id, user_id])


async def group_member_ids(pool: AsyncConnectionPool[Any], group_id: str) -> list[str]:
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(f"SELECT user_id FROM {V}.group_members WHERE group_id = %s"
                          " ORDER BY user_id", [group_id])
        return [row[0] for row in await cur.fetchall()]


class GroupAssignmentRow(msgspec.Struct, frozen=True):
    group_id: str
    scope: str
    role: str


async def list_group_assignments(pool: AsyncConnectionPool[Any], *,
                                 group_id: str | None = None, scope: str | None = None,
                                 role: str | None = None) -> list[GroupAssignmentRow]:
    return await _fetch(
        pool, GroupAssignmentRow,
        f"SELECT group_id, scope, role FROM {V}.group_assignments"
        " WHERE (%s::text IS NULL OR group_id = %s) AND (%s::text IS NULL OR scope = %s)"
        " AND (%s::text IS NULL OR role = %s) ORDER BY group_id, scope, role",
        [group_id, group_id, scope, scope, role, role])


class CatalogEntryRow(msgspec.Struct, frozen=True):
    kind: str
    id: str
    attributes: dict[str, Any]


async def list_catalog_entries(pool: AsyncConnectionPool[Any], kind: str,
                               entry_id: str | None = None) -> list[CatalogEntryRow]:
    """The regions, services or endpoints an admin registered."""
    return await _fetch(
        pool, CatalogEntryRow,
        f"SELECT kind, id, attributes FROM {V}.catalog_entries WHERE kind = %s"
        " AND (%s::text IS NULL OR id = %s) ORDER BY id", [kind, entry_id, entry_id])


async def role_implications(pool: AsyncConnectionPool[Any]) -> dict[str, list[str]]:
    """The custom roles' implied role rules: what each prior role implies."""
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(f"SELECT prior, implied FROM {V}.role_implications"
                          " ORDER BY prior, implied")
        rules: dict[str, list[str]] = {}
        for prior, implied in await cur.fetchall():
            rules.setdefault(prior, []).append(implied)
        return rules


class CredentialRow(msgspec.Struct, frozen=True):
    id: str
    user_id: str
    project_id: str | None
    type: str
    sealed_blob: str
    access: str | None


async def list_credentials(pool: AsyncConnectionPool[Any], *, user_id: str | None = None,
                           cred_id: str | None = None, type: str | None = None,
                           access: str | None = None) -> list[CredentialRow]:
    return await _fetch(
        pool, CredentialRow,
        f"SELECT id, user_id, project_id, type, sealed_blob, access FROM {V}.credentials"
        " WHERE (%s::text IS NULL OR user_id = %s) AND (%s::text IS NULL OR id = %s)"
        " AND (%s::text IS NULL OR type = %s) AND (%s::text IS NULL OR access = %s)"
        " ORDER BY id", [user_id, user_id, cred_id, cred_id, type, type, access, access])


class AppCredentialRow(msgspec.Struct, frozen=True):
    id: str
    user_id: str
    project_id: str
    name: str
    description: str | None
    roles: list[str]
    expires_at: str | None
    unrestricted: bool


async def list_app_credentials(pool: AsyncConnectionPool[Any], user_id: str, *,
                               name: str | None = None,
                               cred_id: str | None = None) -> list[AppCredentialRow]:
    return await _fetch(
        pool, AppCredentialRow,
        f"SELECT id, user_id, project_id, name, description, roles, expires_at, unrestricted"
        f" FROM {V}.app_credentials WHERE user_id = %s AND (%s::text IS NULL OR name = %s)"
        " AND (%s::text IS NULL OR id = %s) ORDER BY name",
        [user_id, name, name, cred_id, cred_id])
