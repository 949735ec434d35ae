"""Which operations may be past their deadline, as the views say (a cheap look).

The deadline sweeper (commands/deadlines.py) asks this first, then lets the
domain decide on each candidate's write-side state (``domain.deadlines``).
A row with a ``pending`` operation whose ``updated_at`` is older than the
cutoff is a candidate: every event that asks a host sets ``updated_at``, so
it is never earlier than the request, and no operation is found before its
deadline (one whose aggregate changed meanwhile, say a rename, only later).
The partial indexes of migrations/views/0010_pending_operations.sql keep the
look to the rows that wait on a host.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from uuid import UUID

import psycopg

from migrations.runner import VIEWS_SCHEMA

# the views with a pending operation, by the aggregate kind (domain.registry) of their rows
TABLES = {"instance": "instances", "volume": "volumes", "snapshot": "snapshots"}
_QUERY = " UNION ALL ".join(
    f"(SELECT '{kind}' AS kind, id, updated_at FROM {VIEWS_SCHEMA}.{table}"
    f" WHERE pending IS NOT NULL AND updated_at <= %(before)s)"
    for kind, table in TABLES.items()) + " ORDER BY updated_at, id LIMIT %(limit)s"


class Overdue(NamedTuple):
    kind: str  # instance, volume or snapshot
    aggregate_id: UUID


def overdue(database_url: str, before: datetime, limit: int = 500) -> list[Overdue]:
    """The oldest ``limit`` rows waiting on a host since before ``before``."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(_QUERY, {"before": before, "limit": limit}).fetchall()
    return [Overdue(str(kind), aggregate_id) for kind, aggregate_id, _ in rows]
