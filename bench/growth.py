"""A large event log made directly: copies of the run's own tenants, bulk-loaded.

Why: whether a command slows down as the log grows can only be seen with a
large log, and booting a million events' worth of servers through the API
would take hours. So the log is grown with valid stored events: the instance
and quota aggregates the run's own boots and lifecycles wrote (their topics
and msgspec states as nimbus stored them), copied with fresh aggregate ids
and a fresh project id per copy, in the order they were written, by COPY
into the event table under the same table lock the event store takes, so
the notification ids stay gap-free and in commit order.

What is not copied: hosts (two hosts cannot hold a million servers' claims),
identity, the catalog and name claims (their names must stay unique). The
aggregates a measured command touches therefore have the same history at
every size; only the log around them grows.

The relay's position is moved past the copies: they are history whose
requests the hosts would otherwise act on again. The views follow them as
they would any events (the projector catches up).
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from projections.log import EVENTS_TABLE, head

COPIED_MODULES = ("domain.events:", "domain.quota:")  # instances and project quotas
CHUNK = 20_000  # rows per transaction


@dataclass(frozen=True)
class Piece:
    """A template event, its state cut at the ids to replace in each copy."""

    originator: str
    version: int
    topic: str
    parts: list[bytes | str]  # literal bytes, or the id (dashed form) to replace


@dataclass(frozen=True)
class Grown:
    generated: int
    seconds: float
    size: int  # how many events the log holds afterwards
    timed_out: bool

    @property
    def per_second(self) -> float:
        return self.generated / self.seconds if self.seconds else 0.0


# an id as a state spells it: dashed, or 32 hex digits (project and user ids)
_ID = re.compile(rb"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})")


def template(conn: psycopg.Connection[Any]) -> list[Piece]:
    """The events to copy, in log order, cut at every id a copy replaces: the
    copied aggregates' own and their projects' (users stay who they are)."""
    rows = conn.execute(
        f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
        " ORDER BY notification_id").fetchall()
    copied = [r for r in rows if str(r[2]).startswith(COPIED_MODULES)]
    projects = {str(r[0]) for r in rows if str(r[2]) == "domain.identity:ProjectCreated"}
    ids = {str(r[0]) for r in copied} | projects
    forms = {**{i.encode(): i for i in ids}, **{i.replace("-", "").encode(): "hex:" + i
                                                 for i in ids}}
    pieces = []
    for originator, version, topic, state in copied:
        parts: list[bytes | str] = []
        for i, chunk in enumerate(_ID.split(bytes(state))):
            if i % 2 and chunk in forms:
                parts.append(forms[chunk])
            elif chunk:
                parts.append(chunk)
        pieces.append(Piece(str(originator), int(version), str(topic), parts))
    return pieces


def _copy(pieces: list[Piece]) -> Any:
    """Rows of one copy: every id replaced by a fresh one."""
    fresh: dict[str, uuid.UUID] = {}

    def new(dashed: str) -> uuid.UUID:
        if dashed not in fresh:
            fresh[dashed] = uuid.uuid4()
        return fresh[dashed]

    for piece in pieces:
        state = b"".join(
            part if isinstance(part, bytes)
            else (new(part[4:]).hex if part.startswith("hex:") else str(new(part))).encode()
            for part in piece.parts)
        yield new(piece.originator), piece.version, piece.topic, state


def count(conn: psycopg.Connection[Any]) -> int:
    """How many events the log holds (positions have gaps where a write rolled back)."""
    row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    return int(row[0]) if row else 0


def grow(database_url: str, pieces: list[Piece], size: int, timeout: float) -> Grown:
    """Append copies of ``pieces`` (``template``) until the log holds ``size``
    events (or ``timeout`` passes); move the relay's position past them."""
    began = time.perf_counter()
    generated = 0
    timed_out = False
    with psycopg.connect(database_url) as conn:
        wanted = size - count(conn)
        conn.commit()
        if not pieces and wanted > 0:
            raise RuntimeError("no instance or quota events to copy: boot something first")
        rows = (row for _ in itertools.count() for row in _copy(pieces))  # copies without end
        while generated < wanted and not timed_out:
            with conn.transaction():
                conn.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
                with conn.cursor().copy(
                        f"COPY {EVENTS_TABLE} (originator_id, originator_version, topic, state)"
                        " FROM STDIN") as copy:
                    for _ in range(min(CHUNK, wanted - generated)):
                        copy.write_row(next(rows))
                        generated += 1
            timed_out = time.perf_counter() - began > timeout
        with conn.transaction():
            at = head(conn)
            conn.execute("INSERT INTO relay_position (relay, position) VALUES ('relay', %s)"
                         " ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position",
                         (at,))
        conn.execute(f"ANALYZE {EVENTS_TABLE}")
        conn.commit()
        size = count(conn)
    return Grown(generated, time.perf_counter() - began, size, timed_out)
