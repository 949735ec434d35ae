"""The volumes view, from volume events.

Each batch is folded with the same ``evolve`` the write side uses, so the
view cannot drift from the model: the rows a batch touches are read once,
the events applied in log order, and the rows written back (a deleted volume
keeps its row with status ``deleted``; lists leave it out). Tables are named
without a schema so that replay can rebuild into a fresh one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row

from domain import volume as model
from projections.log import LogEntry

EVENTS = model.VolumeEvent

_COLUMNS = model.Volume.__struct_fields__
_UPSERT = (
    f"INSERT INTO volumes ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "id")
)


def _load(conn: psycopg.Connection[Any], ids: list[UUID]) -> dict[UUID, model.Volume]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM volumes WHERE id = ANY(%s)", (ids,))
        rows = cur.fetchall()
    return {UUID(str(r["id"])): msgspec.convert({**r, "id": str(r["id"])}, model.Volume)
            for r in rows}


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, model.VolumeEvent]]) -> None:
    """Apply volume events (in log order) inside the caller's transaction."""
    states = _load(conn, list({entry.aggregate_id for entry, _ in items}))
    for entry, event in items:
        states[entry.aggregate_id] = model.evolve(states.get(entry.aggregate_id), event,
                                                  str(entry.aggregate_id))
    with conn.cursor() as cur:
        cur.executemany(_UPSERT, [tuple(getattr(v, c) for c in _COLUMNS)
                                  for v in states.values()])
