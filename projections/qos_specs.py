"""The QoS specs view, from the specs' events, folded with the write side's
``evolve`` (as the volume types view is)."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain import qos_specs as model
from projections.log import LogEntry

COLUMNS = ("id", "name", "consumer", "specs", "types", "deleted", "created_at")
_UPSERT = (f"INSERT INTO qos_specs ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
           + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id"))


def state_of(row: dict[str, Any]) -> model.QosSpecs:
    return msgspec.convert({**row, "types": frozenset(row["types"])}, model.QosSpecs)


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, model.QosSpecsEvent]]
          ) -> None:
    """Apply events (in log order) inside the caller's transaction."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM qos_specs WHERE id = ANY(%s)",
                    (list({e.qos_id for _, e in items}),))
        states = {r["id"]: state_of(r) for r in cur.fetchall()}
    for entry, event in items:
        states[event.qos_id] = model.evolve(states.get(event.qos_id), event,
                                            str(entry.aggregate_id))
    with conn.cursor() as cur:
        cur.executemany(_UPSERT, [
            (s.id, s.name, s.consumer, Jsonb(s.specs), Jsonb(sorted(s.types)), s.deleted,
             s.created_at) for s in states.values()])
