"""The volume types view, from the types' events.

Each batch is folded with the same ``evolve`` the write side uses (as the
volumes view is), so the view cannot drift from the model: the rows a batch
touches are read once, the events applied in log order, and the rows
written back, the extra specs and the access list as JSON. The name claims
have no view: they only keep names unique on the write side.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain import volume_types as model
from projections.log import LogEntry

COLUMNS = ("id", "name", "description", "is_public", "extra_specs", "projects", "deleted",
           "created_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM volume_types WHERE id = ANY(%s)"
_UPSERT = (f"INSERT INTO volume_types ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
           + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id"))


def from_row(row: dict[str, Any]) -> model.VolumeTypeState:
    return msgspec.convert({**row, "projects": frozenset(row["projects"])},
                           model.VolumeTypeState)


def _to_row(state: model.VolumeTypeState) -> tuple[Any, ...]:
    return (state.id, state.name, state.description, state.is_public,
            Jsonb(state.extra_specs), Jsonb(sorted(state.projects)), state.deleted,
            state.created_at)


def apply(conn: psycopg.Connection[Any],
          items: list[tuple[LogEntry, model.VolumeTypeEvent]]) -> None:
    """Apply events (in log order) inside the caller's transaction."""
    ids = list({e.type_id for _, e in items})
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_SELECT, (ids,))
        states = {r["id"]: from_row(r) for r in cur.fetchall()}
    for entry, event in items:
        states[event.type_id] = model.evolve(states.get(event.type_id), event,
                                             str(entry.aggregate_id))
    with conn.cursor() as cur:
        cur.executemany(_UPSERT, [_to_row(s) for s in states.values()])
