"""Which views are stuck, where, and why: the ``view_faults`` table.

A view that meets an event it cannot apply (a value its tables cannot hold,
an event this code cannot decode, a bug in the view) stops at that event
instead of holding every other view back: the projector records it here in
the batch's own transaction and skips the view from then on. Its rows stay
as they were just before that position. Nothing clears a row but a replay
that reaches the log head (its fresh schema has none), after the cause is
fixed. The projector, replay and the health query read it through this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg import sql

_ERROR_LENGTH = 1000


class ViewFault(msgspec.Struct, frozen=True, kw_only=True):
    view: str
    position: int  # the first log position the view did not apply
    event_type: str
    aggregate_id: UUID
    error: str
    at: datetime | None = None  # when it was recorded (the database's clock)

    def describe(self) -> str:
        return (f"view {self.view} cannot apply log position {self.position}"
                f" ({self.event_type} of {self.aggregate_id}): {self.error}")


def reason(exc: BaseException) -> str:
    """What to record of an error: the database's own message without its
    DETAIL (which quotes the row), or the exception's type and text."""
    if isinstance(exc, psycopg.Error):
        text = exc.diag.message_primary or str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text.replace("\x00", "\\x00")[:_ERROR_LENGTH]


def record(conn: psycopg.Connection[Any], fault: ViewFault) -> None:
    """Mark the view stuck (in the caller's transaction and search_path)."""
    conn.execute(
        "INSERT INTO view_faults (view, position, event_type, aggregate_id, error)"
        " VALUES (%s, %s, %s, %s, %s)",
        (fault.view, fault.position, fault.event_type, fault.aggregate_id, fault.error),
    )


def select(schema: str) -> sql.Composed:
    """The query for the stuck views of ``schema``, oldest position first."""
    return sql.SQL(
        "SELECT view, position, event_type, aggregate_id, error, at FROM {}.view_faults"
        " ORDER BY position, view").format(sql.Identifier(schema))


def from_row(row: Any) -> ViewFault:
    return ViewFault(view=row[0], position=row[1], event_type=row[2], aggregate_id=row[3],
                     error=row[4], at=row[5])


def stuck(conn: psycopg.Connection[Any], schema: str) -> list[ViewFault]:
    """The stuck views of ``schema`` (the live views, or a replay's rebuild)."""
    return [from_row(r) for r in conn.execute(select(schema)).fetchall()]
