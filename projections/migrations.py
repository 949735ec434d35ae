"""The migrations view: one row per move of a server, from the instance events.

The instances view's batch (projections/instances.py) folds each instance's
events, its latest migration in its state; this writes the rows of the
migrations those events touched, in the same transaction. A row is numbered
by the log position of the request that started its migration (the integer
id Nova's API shows), which a replay gives again; later events only change
its status and time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from domain import migration_events as mev
from domain.instance import Instance

_PROGRESS = tuple(mev.Progress.__struct_fields__)
_UPSERT = (
    "INSERT INTO migrations (id, uuid, instance_uuid, project_id, user_id, migration_type,"
    " source_compute, dest_compute, old_flavor_id, new_flavor_id, status, created_at,"
    f" updated_at, {', '.join(_PROGRESS)}) SELECT * FROM unnest(%s::bigint[], %s::uuid[],"
    " %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[]"
    f"{', %s::bigint[]' * len(_PROGRESS)})"
    " ON CONFLICT (uuid) DO UPDATE SET status = EXCLUDED.status,"
    " updated_at = EXCLUDED.updated_at"
    f"{''.join(f', {c} = EXCLUDED.{c}' for c in _PROGRESS)}"
)


class Touched:
    """The migrations a batch changed: their rows, by migration id."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {}

    def add(self, position: int, instance_id: UUID, state: Instance,
            event: mev.AnyMigrationEvent) -> None:
        migration = state.migration
        if migration is None:
            return
        at: datetime = event.at
        row = self.rows.get(migration.id)
        if row is None:
            started = isinstance(event, mev.STARTS)
            row = self.rows[migration.id] = [
                position if started else 0, UUID(migration.id), instance_id,
                state.project_id, state.user_id, migration.migration_type,
                migration.source_host, migration.dest_host, migration.old.flavor_id,
                migration.new.flavor_id, migration.status, at, at,
                *(0 for _ in _PROGRESS)]
        row[10], row[12] = migration.status, at
        row[13:] = [getattr(migration.progress, f) for f in _PROGRESS]

    def send(self, conn: psycopg.Connection[Any]) -> None:
        if self.rows:
            columns = list(zip(*self.rows.values(), strict=True))
            conn.execute(_UPSERT, [list(c) for c in columns])
