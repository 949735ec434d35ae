"""What the floating IP, security group and server action routes ask of the
views (projections/network_security.py).

Lists are oldest first (as Neutron's), deleted rows left out, narrowed by
equality filters each of which may name several values (``?id=a&id=b``).
``project_id=None`` is an admin's: every project's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from migrations.runner import VIEWS_SCHEMA

V = VIEWS_SCHEMA
Filters = Mapping[str, Sequence[str]]


class FloatingIpView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: str
    floating_network_id: str
    floating_ip_address: str
    description: str
    port_id: str | None
    fixed_ip_address: str | None
    created_at: datetime
    updated_at: datetime
    revision_number: int

    @property
    def status(self) -> str:
        return "ACTIVE" if self.port_id else "DOWN"


class RuleView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    security_group_id: UUID
    project_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    description: str
    created_at: datetime


class SecurityGroupView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    project_id: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    revision_number: int
    rules: list[RuleView] = []


class PortGroupsView(msgspec.Struct, frozen=True, kw_only=True):
    port_id: UUID
    project_id: str
    device_id: str
    security_groups: list[str]


FLOATING_IP_FILTERS = ("id", "floating_ip_address", "floating_network_id", "port_id",
                       "fixed_ip_address", "description")
GROUP_FILTERS = ("id", "name", "description")
RULE_FILTERS = ("id", "security_group_id", "direction", "ethertype", "protocol",
                "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id",
                "description")
_UUID_COLUMNS = {"id", "security_group_id"}
_INTEGER_COLUMNS = {"port_range_min", "port_range_max"}


def _where(filters: Filters, allowed: Sequence[str], project_id: str | None,
           table: str = "") -> tuple[list[str], list[Any]]:
    """SQL conditions for the filters ``allowed`` names. A value that a column
    cannot hold (an id that is no UUID, a port that is no number) matches nothing."""
    prefix = f"{table}." if table else ""
    where: list[str] = []
    params: list[Any] = []
    if project_id is not None:
        where.append(f"{prefix}project_id = %s")
        params.append(project_id)
    for column in allowed:
        values = list(filters.get(column, ()))
        if not values:
            continue
        kept: list[Any] = values
        if column in _UUID_COLUMNS:
            kept = [u for u in map(_uuid, values) if u is not None]
        elif column in _INTEGER_COLUMNS:
            kept = [n for n in map(_integer, values) if n is not None]
        where.append(f"{prefix}{column} = ANY(%s)")
        params.append(kept)
    return where, params


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _integer(value: str) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if -2**31 <= number < 2**31 else None


def _and(where: list[str]) -> str:
    return " AND ".join(where) if where else "true"


# --- floating IPs --------------------------------------------------------------------

_FIP_COLUMNS = ", ".join(FloatingIpView.__struct_fields__)


async def floating_ips(pool: AsyncConnectionPool[Any], project_id: str | None,
                       filters: Filters) -> list[FloatingIpView]:
    where, params = _where(filters, FLOATING_IP_FILTERS, project_id)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_FIP_COLUMNS} FROM {V}.floating_ips WHERE NOT deleted"
                          f" AND {_and(where)} ORDER BY created_at, id", params)
        return [msgspec.convert(r, FloatingIpView) for r in await cur.fetchall()]


async def floating_ip(pool: AsyncConnectionPool[Any], ident: UUID,
                      project_id: str | None) -> FloatingIpView | None:
    """One that is not deleted, if ``project_id`` (None: any) holds it."""
    found = await floating_ips(pool, project_id, {"id": [str(ident)]})
    return found[0] if found else None


# --- security groups and their rules -------------------------------------------------

_RULE_COLUMNS = ", ".join(f"r.{c}" for c in RuleView.__struct_fields__)
_GROUP_COLUMNS = ", ".join(f"g.{c}" for c in SecurityGroupView.__struct_fields__
                           if c != "rules")
# the rules of live groups only: a deleted group's have no rows anyway
_RULES_OF = (f"FROM {V}.security_group_rules r JOIN {V}.security_groups g"
             " ON g.id = r.security_group_id AND NOT g.deleted")


async def _rules(cur: Any, group_ids: list[UUID]) -> dict[UUID, list[RuleView]]:
    await cur.execute(f"SELECT {_RULE_COLUMNS} FROM {V}.security_group_rules r"
                      " WHERE r.security_group_id = ANY(%s)"
                      " ORDER BY r.security_group_id, r.position", (group_ids,))
    found: dict[UUID, list[RuleView]] = {}
    for row in await cur.fetchall():
        rule = msgspec.convert(row, RuleView)
        found.setdefault(rule.security_group_id, []).append(rule)
    return found


async def security_groups(pool: AsyncConnectionPool[Any], project_id: str | None,
                          filters: Filters) -> list[SecurityGroupView]:
    """Groups with their rules."""
    where, params = _where(filters, GROUP_FILTERS, project_id, "g")
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_GROUP_COLUMNS} FROM {V}.security_groups g"
                          f" WHERE NOT g.deleted AND {_and(where)}"
                          " ORDER BY g.created_at, g.id", params)
        groups = await cur.fetchall()
        rules = await _rules(cur, [g["id"] for g in groups])
    return [msgspec.convert({**g, "rules": rules.get(g["id"], [])}, SecurityGroupView)
            for g in groups]


async def security_group(pool: AsyncConnectionPool[Any], ident: UUID,
                         project_id: str | None) -> SecurityGroupView | None:
    found = await security_groups(pool, project_id, {"id": [str(ident)]})
    return found[0] if found else None


async def security_group_rules(pool: AsyncConnectionPool[Any], project_id: str | None,
                               filters: Filters) -> list[RuleView]:
    where, params = _where(filters, RULE_FILTERS, project_id, "r")
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_RULE_COLUMNS} {_RULES_OF} WHERE {_and(where)}"
                          " ORDER BY r.created_at, r.security_group_id, r.position", params)
        return [msgspec.convert(r, RuleView) for r in await cur.fetchall()]


async def security_group_rule(pool: AsyncConnectionPool[Any], ident: UUID,
                              project_id: str | None) -> RuleView | None:
    found = await security_group_rules(pool, project_id, {"id": [str(ident)]})
    return found[0] if found else None


async def groups_named(pool: AsyncConnectionPool[Any], project_id: str,
                       name_or_id: str) -> list[SecurityGroupView]:
    """The project's groups whose id or name is ``name_or_id`` (an id first)."""
    by_id = await security_groups(pool, project_id, {"id": [name_or_id]})
    return by_id or await security_groups(pool, project_id, {"name": [name_or_id]})


# --- the ports' groups ---------------------------------------------------------------

async def group_in_use(pool: AsyncConnectionPool[Any], group_id: UUID) -> bool:
    """Whether a live port has the group."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {V}.ports WHERE NOT deleted"
            " AND security_groups @> jsonb_build_array(%s::text))", (str(group_id),))
        row = await cur.fetchone()
    return bool(row and row[0])


async def ports_of_server(pool: AsyncConnectionPool[Any],
                          server_id: UUID) -> list[PortGroupsView]:
    """The live ports plugged into the server (``device_id``), oldest id first."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id AS port_id, project_id, device_id,"
            " ARRAY(SELECT jsonb_array_elements_text(security_groups)) AS security_groups"
            f" FROM {V}.ports WHERE NOT deleted AND device_id = %s ORDER BY id",
            (str(server_id),))
        return [msgspec.convert(r, PortGroupsView) for r in await cur.fetchall()]


async def groups_of_servers(pool: AsyncConnectionPool[Any],
                            server_ids: list[UUID]) -> dict[str, list[str]]:
    """Server id -> the names of its ports' groups (each once, in port order), for
    each server with a port; a server without ports has no entry."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT p.device_id, g.name FROM {V}.ports p LEFT JOIN LATERAL"
            " jsonb_array_elements_text(p.security_groups) WITH ORDINALITY AS u(gid, n)"
            f" ON true LEFT JOIN {V}.security_groups g ON g.id::text = u.gid AND NOT g.deleted"
            " WHERE NOT p.deleted AND p.device_id = ANY(%s) ORDER BY p.device_id, p.id, u.n",
            ([str(s) for s in server_ids],))
        found: dict[str, list[str]] = {}
        for device_id, name in await cur.fetchall():
            names = found.setdefault(str(device_id), [])
            if name is not None and name not in names:
                names.append(str(name))
        return found
