"""The volumes, snapshots and backups views, from their events.

Each batch is folded with the same ``evolve`` the write side uses, so the
view cannot drift from the model: the rows a batch touches are read once,
the events applied in log order, and the rows written back (a deleted volume
keeps its row with status ``deleted``; lists leave it out). Tables are named
without a schema so that replay can rebuild into a fresh one.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain import registry
from domain.registry import Kind
from projections import pending
from projections.log import LogEntry

S = TypeVar("S", bound=msgspec.Struct)


class _Folded(Generic[S]):
    """A view whose rows are one state struct each, folded with ``evolve``."""

    def __init__(self, table: str, kind: Kind[S]) -> None:
        self.kind = kind.state
        self.evolve = kind.evolve
        self.columns = pending.columns(kind.state)
        self.select = f"SELECT {', '.join(self.columns)} FROM {table} WHERE id = ANY(%s)"
        self.upsert = (
            f"INSERT INTO {table} ({', '.join(self.columns)}) "
            f"VALUES ({', '.join(['%s'] * len(self.columns))}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns if c != "id"))

    def apply(self, conn: psycopg.Connection[Any], items: list[tuple[LogEntry, Any]]) -> None:
        """Apply events (in log order) inside the caller's transaction."""
        ids = list({entry.aggregate_id for entry, _ in items})
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(self.select, (ids,))
            states: dict[UUID, S] = {
                UUID(str(r["id"])): pending.from_row({**r, "id": str(r["id"])}, self.kind)
                for r in cur.fetchall()}
        for entry, event in items:
            states[entry.aggregate_id] = self.evolve(states.get(entry.aggregate_id), event,
                                                     str(entry.aggregate_id))
        with conn.cursor() as cur:
            rows = [pending.to_row(state) for state in states.values()]
            cur.executemany(self.upsert, [tuple(_value(row[c]) for c in self.columns)
                                          for row in rows])


def _value(value: Any) -> Any:
    """A state's field as its column takes it: a mapping (metadata) as JSON."""
    return Jsonb(value) if isinstance(value, dict) else value


apply_volumes = _Folded("volumes", registry.VOLUME).apply
apply_snapshots = _Folded("snapshots", registry.SNAPSHOT).apply
apply_backups = _Folded("backups", registry.BACKUP).apply
