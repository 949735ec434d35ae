"""Reading the event log in its global order.

The event store takes a table lock on every insert, so positions
(notification ids) commit in order and a reader that asks for "after N"
never passes over an event that commits later with a smaller position.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
import psycopg

from domain import codec
from domain.base import Event
from messaging.subjects import NO_HOST
from messaging.wire import EventMessage, StoredEventMessage

EVENTS_TABLE = "public.nimbus_events"
CHANNEL = "nimbus_events"  # eventsourcing NOTIFYs this channel on every insert


class _Addressed(msgspec.Struct):
    """The one field of a stored event the relay reads: the host it is for."""

    host: str = ""


_addressed = msgspec.json.Decoder(_Addressed)


class LogEntry(msgspec.Struct, frozen=True):
    position: int
    aggregate_id: UUID
    version: int
    topic: str
    state: bytes

    @property
    def event_type(self) -> str:
        return self.topic.rpartition(":")[2]

    def decode(self) -> Event:
        return codec.decode(self.topic, self.state)

    def message(self) -> EventMessage:
        """The entry as the public wire format (docs/events.md)."""
        return EventMessage(
            id=f"{self.aggregate_id}:{self.version}", position=self.position,
            aggregate_id=str(self.aggregate_id), version=self.version,
            type=self.event_type, event=self.decode(),
        )

    def stored_message(self) -> StoredEventMessage:
        """The same message as ``message``, its event the stored bytes as they are."""
        return StoredEventMessage(
            id=f"{self.aggregate_id}:{self.version}", position=self.position,
            aggregate_id=str(self.aggregate_id), version=self.version,
            type=self.event_type, event=msgspec.Raw(self.state),
        )

    @property
    def aggregate(self) -> str:
        """The kind of aggregate the event is about (``Event.aggregate``)."""
        return codec.event_class(self.topic).aggregate

    @property
    def host(self) -> str:
        """The host the event is addressed to, or NO_HOST (``subject_host``)."""
        return _addressed.decode(self.state).host or NO_HOST


_SELECT = (
    f"SELECT notification_id, originator_id, originator_version, topic, state "
    f"FROM {EVENTS_TABLE} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)


def read_after(conn: psycopg.Connection[object], position: int, limit: int) -> list[LogEntry]:
    """Up to ``limit`` entries after ``position``, in log order (the rows come
    in binary: no hex to decode for the events' bytes)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(_SELECT, (position, limit), prepare=True)
        return [LogEntry(r[0], r[1], r[2], r[3], bytes(r[4])) for r in cur.fetchall()]  # type: ignore[index]


async def read_after_async(
    conn: psycopg.AsyncConnection[object], position: int, limit: int
) -> list[LogEntry]:
    async with conn.cursor(binary=True) as cur:
        await cur.execute(_SELECT, (position, limit), prepare=True)
        rows = await cur.fetchall()
        return [LogEntry(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]  # type: ignore[index]


def head(conn: psycopg.Connection[object]) -> int:
    """The last position in the log (0 when empty)."""
    row = conn.execute(f"SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE}").fetchone()
    return int(row[0]) if row else 0  # type: ignore[index]
