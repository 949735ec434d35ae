"""The floating IP and security group views, from their events.

Each batch is folded with the same ``evolve`` the write side uses, so a view
cannot drift from the model: the rows a batch touches are read once, the
events applied in log order, and the rows written back in one statement
each (projections/upsert.py). A deleted floating IP or group keeps its row,
``deleted``; lists leave it out. A group's rules are rows of their own,
written again whole for each group the batch touched.

Which groups are in use and which ports a server has are read from the
``ports`` view (projections/networks.py).
Tables are named without a schema so that replay can rebuild into a fresh one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg

from domain import floating_ip as fip_model
from domain import security_group as sg_model
from projections.log import LogEntry
from projections.upsert import Upsert

# --- floating IPs --------------------------------------------------------------------

_FIP_FIELDS = fip_model.FloatingIp.__struct_fields__
_FIP_UPSERT = Upsert("floating_ips", _FIP_FIELDS)


def apply_floating_ips(conn: psycopg.Connection[Any],
                       items: list[tuple[LogEntry, fip_model.AnyFloatingIpEvent]]) -> None:
    """Apply floating IP events (in log order) inside the caller's transaction."""
    ids = list({entry.aggregate_id for entry, _ in items})
    rows = conn.execute(f"SELECT {', '.join(_FIP_FIELDS)} FROM floating_ips"
                        " WHERE id = ANY(%s)", (ids,)).fetchall()
    states = {row[0]: msgspec.convert({**dict(zip(_FIP_FIELDS, row, strict=True)),
                                       "id": str(row[0])}, fip_model.FloatingIp)
              for row in rows}
    touched: set[UUID] = set()
    for entry, event in items:
        states[entry.aggregate_id] = fip_model.evolve(states.get(entry.aggregate_id), event,
                                                      str(entry.aggregate_id))
        touched.add(entry.aggregate_id)
    _FIP_UPSERT.send(conn, [(i, *msgspec.structs.astuple(states[i])[1:]) for i in touched])


# --- security groups -----------------------------------------------------------------

_GROUP_COLUMNS = ("id", "project_id", "name", "description", "created_at", "updated_at",
                  "deleted", "revision_number")
_RULE_FIELDS = sg_model.Rule.__struct_fields__
_RULE_COLUMNS = (*_RULE_FIELDS, "security_group_id", "project_id", "created_at", "position")
_GROUP_UPSERT = Upsert("security_groups", _GROUP_COLUMNS)
_RULE_INSERT = Upsert("security_group_rules", _RULE_COLUMNS)


def _load_groups(conn: psycopg.Connection[Any], ids: list[UUID]) -> tuple[
        dict[UUID, sg_model.SecurityGroup], dict[str, datetime]]:
    """The touched groups' states, and when each of their rules came."""
    rules: dict[UUID, list[sg_model.Rule]] = {}
    since: dict[str, datetime] = {}
    for row in conn.execute(f"SELECT {', '.join(_RULE_FIELDS)}, security_group_id, created_at"
                            " FROM security_group_rules WHERE security_group_id = ANY(%s)"
                            " ORDER BY security_group_id, position", (ids,)).fetchall():
        values = dict(zip(_RULE_FIELDS, row, strict=False))
        values["id"] = str(values["id"])
        rules.setdefault(row[-2], []).append(msgspec.convert(values, sg_model.Rule))
        since[values["id"]] = row[-1]
    groups = {
        row[0]: sg_model.SecurityGroup(
            id=str(row[0]), project_id=row[1], name=row[2], description=row[3],
            created_at=row[4], updated_at=row[5], deleted=row[6], revision_number=row[7],
            rules=tuple(rules.get(row[0], ())))
        for row in conn.execute(f"SELECT {', '.join(_GROUP_COLUMNS)} FROM"
                                " security_groups WHERE id = ANY(%s)", (ids,)).fetchall()}
    return groups, since


def apply_security_groups(conn: psycopg.Connection[Any],
                          items: list[tuple[LogEntry, sg_model.AnySecurityGroupEvent]]) -> None:
    """Apply security group events (in log order) inside the caller's transaction."""
    ids = list({entry.aggregate_id for entry, _ in items})
    states, since = _load_groups(conn, ids)
    touched: list[UUID] = []
    for entry, event in items:
        state = sg_model.evolve(states.get(entry.aggregate_id), event, str(entry.aggregate_id))
        states[entry.aggregate_id] = state
        if entry.aggregate_id not in touched:
            touched.append(entry.aggregate_id)
        for rule in state.rules:
            since.setdefault(rule.id, event.at)
    _GROUP_UPSERT.send(conn, [
        (i, s.project_id, s.name, s.description, s.created_at, s.updated_at, s.deleted,
         s.revision_number) for i, s in ((i, states[i]) for i in touched)])
    conn.execute("DELETE FROM security_group_rules WHERE security_group_id = ANY(%s)",
                 (touched,))
    _RULE_INSERT.send(conn, [
        (UUID(rule.id), *msgspec.structs.astuple(rule)[1:], i, state.project_id,
         since[rule.id], place)
        for i in touched if not (state := states[i]).deleted
        for place, rule in enumerate(state.rules)])
