"""What the network API (and a server's ``addresses``) asks of the network views.

Listings take Neutron's equality filters as ``column -> accepted values``
(a repeated query parameter accepts any of its values), compared as text so
that a malformed id matches nothing instead of failing. The caller's scope
decides what is visible: a project sees its own networks and every shared
or external one, the subnets of the networks it sees, and its own ports and
routers; ``scope=None`` (an admin) sees all. Deleted rows are never shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row

from domain.network import Pool
from domain.port import FixedIp
from domain.router import Interface
from migrations.runner import VIEWS_SCHEMA
from projections.views import Views

V = VIEWS_SCHEMA
Filters = Mapping[str, Sequence[str]]


class NetworkView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: int
    project_id: str
    name: str
    number: int
    external: bool
    shared: bool
    admin_state_up: bool
    mtu: int
    created_at: datetime
    updated_at: datetime
    subnets: list[str]


class SubnetView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    network_id: str
    project_id: str
    name: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: list[Pool]
    enable_dhcp: bool
    dns_nameservers: list[str]
    created_at: datetime
    updated_at: datetime


class PortView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: int
    project_id: str
    network_id: str
    name: str
    mac_address: str
    fixed_ips: list[FixedIp]
    device_id: str
    device_owner: str
    security_groups: list[str]
    admin_state_up: bool
    status: str
    binding_host: str
    created_at: datetime
    updated_at: datetime


class RouterView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: int
    project_id: str
    name: str
    admin_state_up: bool
    gateway_network_id: str | None
    interfaces: list[Interface]
    created_at: datetime
    updated_at: datetime


_NETWORK_SELECT = (
    "SELECT n.id::text AS id, n.version, n.project_id, n.name, n.number, n.external,"
    " n.shared, n.admin_state_up, n.mtu, n.created_at, n.updated_at,"
    f" COALESCE((SELECT jsonb_agg(s.id::text ORDER BY s.created_at, s.id) FROM {V}.subnets s"
    "  WHERE s.network_id = n.id::text), '[]'::jsonb) AS subnets"
    f" FROM {V}.networks n")
_NETWORK_SEEN = "(n.project_id = %s OR n.shared OR n.external)"
_SUBNET_SELECT = (
    "SELECT s.id::text AS id, s.network_id, s.project_id, s.name, s.cidr, s.gateway_ip,"
    " s.allocation_pools, s.enable_dhcp, s.dns_nameservers, s.created_at, s.updated_at"
    f" FROM {V}.subnets s JOIN {V}.networks n ON n.id::text = s.network_id")
_PORT_FIELDS = ("id", "version", "project_id", "network_id", "name", "mac_address",
                "fixed_ips", "device_id", "device_owner", "security_groups",
                "admin_state_up", "status", "binding_host", "created_at", "updated_at")
_ROUTER_FIELDS = ("id", "version", "project_id", "name", "admin_state_up",
                  "gateway_network_id", "interfaces", "created_at", "updated_at")


def _select(table: str, alias: str, fields: Sequence[str]) -> str:
    shown = ", ".join(f"{alias}.id::text AS id" if f == "id" else f"{alias}.{f}"
                      for f in fields)
    return f"SELECT {shown} FROM {V}.{table} {alias}"


def _where(alias: str, filters: Filters, where: list[str], params: list[Any]) -> None:
    for column, values in filters.items():
        if values:
            where.append(f"{alias}.{column}::text = ANY(%s)")
            params.append(list(values))


async def _rows(views: Views, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    async with views.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return list(await cur.fetchall())


async def _seen(views: Views, select: str, alias: str, scope: str | None,
                filters: Filters) -> list[dict[str, Any]]:
    """Rows of a live network (or of its subnets, ``alias`` "s") that ``scope``
    may see (None: every one), narrowed by ``filters``, oldest first."""
    where, params = ["NOT n.deleted"], []
    if scope is not None:
        where.append(_NETWORK_SEEN)
        params.append(scope)
    _where(alias, filters, where, params)
    return await _rows(views, f"{select} WHERE {' AND '.join(where)}"
                       f" ORDER BY {alias}.created_at, {alias}.id", params)


async def list_networks(views: Views, scope: str | None, filters: Filters) -> list[NetworkView]:
    rows = await _seen(views, _NETWORK_SELECT, "n", scope, filters)
    return [msgspec.convert(r, NetworkView) for r in rows]


async def get_network(views: Views, network_id: str, scope: str | None) -> NetworkView | None:
    found = await list_networks(views, scope, {"id": [network_id]})
    return found[0] if found else None


async def list_subnets(views: Views, scope: str | None, filters: Filters) -> list[SubnetView]:
    rows = await _seen(views, _SUBNET_SELECT, "s", scope, filters)
    return [msgspec.convert(r, SubnetView) for r in rows]


async def get_subnet(views: Views, subnet_id: str, scope: str | None) -> SubnetView | None:
    found = await list_subnets(views, scope, {"id": [subnet_id]})
    return found[0] if found else None


async def _owned(views: Views, table: str, fields: Sequence[str], scope: str | None,
                 filters: Filters) -> list[dict[str, Any]]:
    where, params = ["NOT t.deleted"], []
    if scope is not None:
        where.append("t.project_id = %s")
        params.append(scope)
    _where("t", filters, where, params)
    return await _rows(views, f"{_select(table, 't', fields)} WHERE {' AND '.join(where)}"
                       " ORDER BY t.created_at, t.id", params)


async def list_ports(views: Views, scope: str | None, filters: Filters) -> list[PortView]:
    rows = await _owned(views, "ports", _PORT_FIELDS, scope, filters)
    return [msgspec.convert(r, PortView) for r in rows]


async def get_port(views: Views, port_id: str, scope: str | None) -> PortView | None:
    found = await list_ports(views, scope, {"id": [port_id]})
    return found[0] if found else None


async def list_routers(views: Views, scope: str | None, filters: Filters) -> list[RouterView]:
    rows = await _owned(views, "routers", _ROUTER_FIELDS, scope, filters)
    return [msgspec.convert(r, RouterView) for r in rows]


async def get_router(views: Views, router_id: str, scope: str | None) -> RouterView | None:
    found = await list_routers(views, scope, {"id": [router_id]})
    return found[0] if found else None


async def networks_named(views: Views, ids: Sequence[str]) -> dict[str, str]:
    """Network id -> name, for the ids given (deleted ones too: a port outlives none)."""
    rows = await _rows(views, f"SELECT id::text AS id, name FROM {V}.networks"
                       " WHERE id::text = ANY(%s)", (list(ids),))
    return {r["id"]: r["name"] for r in rows}


async def addresses_of(views: Views, server_ids: Sequence[UUID | str]
                       ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Server id -> Nova's ``addresses``: network name -> the fixed addresses of the
    server's ports on it (oldest port first), each followed by the floating IP
    pointed at it, if any."""
    rows = await _rows(views, (
        f"SELECT p.device_id, n.name, p.mac_address, p.fixed_ips,"
        f" COALESCE((SELECT jsonb_object_agg(f.fixed_ip_address, f.floating_ip_address)"
        f"  FROM {V}.floating_ips f WHERE f.port_id = p.id::text AND NOT f.deleted),"
        " '{}'::jsonb) AS floating"
        f" FROM {V}.ports p JOIN {V}.networks n ON n.id::text = p.network_id"
        " WHERE NOT p.deleted AND p.device_id = ANY(%s) ORDER BY p.created_at, p.id"),
        ([str(s) for s in server_ids],))
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        addresses = found.setdefault(row["device_id"], {}).setdefault(row["name"], [])
        for fixed in row["fixed_ips"]:
            ip = fixed["ip_address"]
            mac = {"OS-EXT-IPS-MAC:mac_addr": row["mac_address"]}
            addresses.append({"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed", **mac})
            if ip in row["floating"]:
                addresses.append({"version": 4, "addr": row["floating"][ip],
                                  "OS-EXT-IPS:type": "floating", **mac})
    return found


async def owned_counts(views: Views, project_id: str) -> dict[str, int]:
    """How many live networks, subnets, ports and routers ``project_id`` owns
    (Neutron's quota details count them; nimbus keeps no limit on them)."""
    query = (f"SELECT (SELECT count(*) FROM {V}.networks WHERE project_id = %s AND NOT deleted),"
             f" (SELECT count(*) FROM {V}.subnets s JOIN {V}.networks n"
             f"  ON n.id::text = s.network_id WHERE s.project_id = %s AND NOT n.deleted),"
             f" (SELECT count(*) FROM {V}.ports WHERE project_id = %s AND NOT deleted),"
             f" (SELECT count(*) FROM {V}.routers WHERE project_id = %s AND NOT deleted)")
    async with views.connection() as conn, conn.cursor() as cur:
        await cur.execute(query, [project_id] * 4)
        row = await cur.fetchone()
    networks, subnets, ports, routers = row if row else (0, 0, 0, 0)
    return {"network": networks, "subnet": subnets, "port": ports, "router": routers}
