"""The networks, subnets, ports and routers views, from their events.

Each batch is folded with the same ``evolve`` the write side uses, so the
views cannot drift from the model: the rows a batch touches are read once,
the events applied in log order, and the rows written back in one statement
per table (projections/upsert.py). A network's subnets are rows of their
own (the API lists and filters them); the addresses a network hands out are
not kept here, since each port's row holds its own (``fixed_ips``). A
deleted network, port or router keeps its row, marked ``deleted``; queries
leave it out. Tables are named without a schema so that replay can rebuild
into a fresh one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain import network as net_model
from domain import port as port_model
from domain import router as router_model
from projections.log import LogEntry
from projections.upsert import Upsert

_NETWORK_COLUMNS = ("id", "version", "project_id", "name", "number", "external", "shared",
                    "admin_state_up", "mtu", "created_at", "updated_at", "deleted")
_SUBNET_COLUMNS = ("id", "network_id", "project_id", "name", "cidr", "gateway_ip",
                   "allocation_pools", "enable_dhcp", "dns_nameservers", "created_at",
                   "updated_at")
# (a port's floating IPs are the floating_ips view's, not columns here)
_PORT_COLUMNS = ("id", "version", *(f for f in port_model.Port.__struct_fields__
                                    if f not in ("id", "floating")))
_ROUTER_COLUMNS = ("id", "version",
                   *(f for f in router_model.Router.__struct_fields__ if f != "id"))
_JSON = {"allocation_pools", "dns_nameservers", "fixed_ips", "security_groups", "interfaces"}

_NETWORKS = Upsert("networks", _NETWORK_COLUMNS)
_SUBNETS = Upsert("subnets", _SUBNET_COLUMNS)
_PORTS = Upsert("ports", _PORT_COLUMNS)
_ROUTERS = Upsert("routers", _ROUTER_COLUMNS)
_GONE_SUBNETS = "DELETE FROM subnets WHERE network_id = ANY(%s) AND id <> ALL(%s)"


def _fetch(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...],
           column: str, keys: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {column} = ANY(%s)",
                    (keys,))
        return [{**row, "id": str(row["id"])} for row in cur.fetchall()]


def _values(row: dict[str, Any], columns: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(Jsonb(row[c]) if c in _JSON else row[c] for c in columns)


def apply_networks(conn: psycopg.Connection[Any],
                   items: list[tuple[LogEntry, net_model.AnyNetworkEvent]]) -> None:
    """Apply network events (in log order): the network rows and their subnets."""
    ids = list({entry.aggregate_id for entry, _ in items})
    subnets: dict[str, list[net_model.Subnet]] = {}
    for row in _fetch(conn, "subnets", _SUBNET_COLUMNS, "network_id", [str(i) for i in ids]):
        row.pop("updated_at")
        subnets.setdefault(row.pop("network_id"), []).append(
            msgspec.convert(row, net_model.Subnet))
    states: dict[UUID, net_model.Network] = {}
    for row in _fetch(conn, "networks", _NETWORK_COLUMNS, "id", ids):
        row.pop("version")
        found = sorted(subnets.get(row["id"], []), key=lambda s: (s.created_at, s.id))
        states[UUID(row["id"])] = msgspec.convert({**row, "subnets": found},
                                                  net_model.Network)
    versions: dict[UUID, int] = {}
    for entry, event in items:
        states[entry.aggregate_id] = net_model.evolve(states.get(entry.aggregate_id), event,
                                                      str(entry.aggregate_id))
        versions[entry.aggregate_id] = entry.version
    network_rows, subnet_rows, kept = [], [], []
    for key, state in states.items():
        if key not in versions:
            continue
        network_rows.append(_values({**msgspec.structs.asdict(state), "id": key,
                                     "version": versions[key]}, _NETWORK_COLUMNS))
        for subnet in () if state.deleted else state.subnets:
            kept.append(UUID(subnet.id))
            row = msgspec.to_builtins(subnet)
            row.update(id=UUID(subnet.id), network_id=state.id, created_at=subnet.created_at,
                       updated_at=subnet.created_at)
            subnet_rows.append(_values(row, _SUBNET_COLUMNS))
    conn.execute(_GONE_SUBNETS, ([str(i) for i in versions], kept))
    _NETWORKS.send(conn, network_rows)
    _SUBNETS.send(conn, subnet_rows)


def _folded(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, Any]], table: str,
            columns: tuple[str, ...], kind: type[Any], evolve: Any, upsert: Upsert) -> None:
    ids = list({entry.aggregate_id for entry, _ in items})
    states: dict[UUID, Any] = {}
    for row in _fetch(conn, table, columns, "id", ids):
        row.pop("version")
        states[UUID(row["id"])] = msgspec.convert(row, kind)
    versions: dict[UUID, int] = {}
    for entry, event in items:
        states[entry.aggregate_id] = evolve(states.get(entry.aggregate_id), event,
                                            str(entry.aggregate_id))
        versions[entry.aggregate_id] = entry.version
    rows = []
    for key, version in versions.items():
        row = msgspec.to_builtins(states[key], builtin_types=(type(states[key].created_at),))
        rows.append(_values({**row, "id": key, "version": version}, columns))
    upsert.send(conn, rows)


def apply_ports(conn: psycopg.Connection[Any],
                items: list[tuple[LogEntry, port_model.AnyPortEvent]]) -> None:
    """Apply port events (in log order)."""
    _folded(conn, items, "ports", _PORT_COLUMNS, port_model.Port, port_model.evolve, _PORTS)


def apply_routers(conn: psycopg.Connection[Any],
                  items: list[tuple[LogEntry, router_model.AnyRouterEvent]]) -> None:
    """Apply router events (in log order)."""
    _folded(conn, items, "routers", _ROUTER_COLUMNS, router_model.Router,
            router_model.evolve, _ROUTERS)
