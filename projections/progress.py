"""How far each part that follows the log has got, and whether it is stuck.

The log's head is the last position written. Every view follows it (the
projector's one tracking row, or the position a stuck view stopped at:
projections/faults.py), so does the relay (its ``relay_position`` row), and
the ingester and each host follow a JetStream stream the relay fills (their
durable consumers: JetStream's own counts, ``consumer_part``). /readyz and
/metrics report each as a ``Part``: its position, how many events wait for
it and for how long the oldest has waited (0 when none does), and, when it
is stuck or too far behind, why. Each number comes from a primary-key or
index lookup: one read per part, whatever the length of the log.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Literal

import msgspec
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from messaging.nats import ConsumerState
from migrations.runner import VIEWS_SCHEMA
from projections import faults
from projections.faults import ViewFault
from projections.log import EVENTS_TABLE
from projections.projector import NAME as TRACKING
from projections.projector import PROJECTIONS

V = VIEWS_SCHEMA
Kind = Literal["view", "relay", "ingester", "host"]


class Part(msgspec.Struct, frozen=True, kw_only=True):
    """One follower of the log as /readyz and the web console show it."""

    name: str
    kind: Kind
    position: int | None  # the last log (or, for a consumer, stream) position applied
    lag_events: int | None  # how many wait to be applied
    lag_seconds: float | None  # how long the oldest of them has waited; 0 when none
    stuck: bool
    why: str | None  # what is wrong, when something is


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    head: int  # the log's last position
    views: int  # the position the views (all but the stuck ones) reflect
    stuck: list[ViewFault]
    parts: list[Part]  # the views, then the relay


class _Stamped(msgspec.Struct):
    """The one field of a stored event read here: when it happened."""

    at: datetime


_stamped = msgspec.json.Decoder(_Stamped)


def _behind(lag_events: int, lag_seconds: float | None,
            stuck_after: float) -> tuple[bool, str | None]:
    if lag_events <= 0:
        return False, None
    if lag_seconds is None:  # the oldest one's time cannot be read: not judged by it
        return False, f"{lag_events} events wait"
    why = f"{lag_events} events wait, the oldest for {lag_seconds:.0f} s"
    return lag_seconds > stuck_after, why


def event_age(state: bytes) -> float | None:
    """Seconds since the stored event happened; None when its bytes do not
    say (an event this code cannot decode: its view is stuck on it anyway)."""
    try:
        stamp = _stamped.decode(state).at
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return max(0.0, time.time() - stamp.timestamp())


async def log_progress(pool: AsyncConnectionPool[Any], stuck_after: float) -> Progress:
    """The head, the views' and the relay's positions, with each view's part;
    a part is stuck when it cannot apply an event or its oldest waiting
    event has waited longer than ``stuck_after`` seconds."""
    async with pool.connection() as conn:
        head, views, relay = await _positions(conn)
        cur = await conn.execute(faults.select(V))
        stuck = [faults.from_row(r) for r in await cur.fetchall()]
        waited: dict[int, float | None] = {}  # the oldest unapplied event's age, by position
        for after in {views, relay, *(f.position - 1 for f in stuck)}:
            if after < head:  # the first event after it, by the log's unique index
                cur = await conn.execute(
                    f"SELECT state FROM {EVENTS_TABLE} WHERE notification_id > %s"
                    " ORDER BY notification_id LIMIT 1", (after,))
                found = await cur.fetchone()
                if found is not None:
                    waited[after] = event_age(bytes(found[0]))
    faulted = {f.view: f for f in stuck}
    parts = []
    for projection in PROJECTIONS:
        fault = faulted.get(projection.name)
        at = views if fault is None else fault.position - 1
        lag = head - at
        is_stuck, why = _behind(lag, waited.get(at, 0.0), stuck_after)
        if fault is not None:
            is_stuck, why = True, fault.describe()
        parts.append(Part(name=projection.name, kind="view", position=at, lag_events=lag,
                          lag_seconds=waited.get(at, 0.0), stuck=is_stuck, why=why))
    is_stuck, why = _behind(head - relay, waited.get(relay, 0.0), stuck_after)
    parts.append(Part(name="relay", kind="relay", position=relay, lag_events=head - relay,
                      lag_seconds=waited.get(relay, 0.0), stuck=is_stuck, why=why))
    return Progress(head=head, views=views, stuck=stuck, parts=parts)


async def _positions(conn: AsyncConnection[Any]) -> tuple[int, int, int]:
    """The log's head, the views' position and the relay's, in one round trip."""
    cur = await conn.execute(
        f"SELECT (SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE}),"
        f" (SELECT position FROM {V}.tracking WHERE projection = %s),"
        " (SELECT position FROM public.relay_position WHERE relay = 'relay')",
        (TRACKING,))
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1] or 0), int(row[2] or 0)


async def head_and_views(pool: AsyncConnectionPool[Any]) -> tuple[int, int]:
    """The log's head and the position the views reflect."""
    async with pool.connection() as conn:
        head, views, _relay = await _positions(conn)
    return head, views


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    seconds_since_seen: float


def with_heartbeats(parts: list[Part], beats: list[Heartbeat], down_after: float) -> list[Part]:
    """``parts`` with each host's worker's consumers (``hypervisor-<host>``,
    ``hypervisor-disks-<host>``) stuck when the host has not reported for
    longer than ``down_after`` seconds (it is down: what waits for it waits
    until it is back)."""
    silent = {b.host: b.seconds_since_seen for b in beats if b.seconds_since_seen > down_after}
    found = []
    for part in parts:
        host = next((h for h in silent if part.name.endswith(f"-{h}")), None)
        if part.kind == "host" and host is not None and not part.stuck:
            part = msgspec.structs.replace(
                part, stuck=True, why=f"host {host} has not reported for {silent[host]:.0f} s")
        found.append(part)
    return found


async def heartbeats(pool: AsyncConnectionPool[Any]) -> list[Heartbeat]:
    """How long ago each host last reported (one row per host)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT host, EXTRACT(EPOCH FROM now() - last_seen)::float8"
            " FROM public.host_heartbeats ORDER BY host")
        return [Heartbeat(host=r[0], seconds_since_seen=float(r[1]))
                for r in await cur.fetchall()]


def consumer_part(state: ConsumerState, stuck_after: float) -> Part:
    """A durable consumer as a part: the ingester's, or a host's worker's
    (named by its durable, e.g. ``hypervisor-compute1``). Its position and
    lag are JetStream's: the stream sequence before which it has handled
    every message for it, and its messages not yet acknowledged. The relay
    publishes every log entry in log order, so on an events stream as old
    as the log a host's position is a log position."""
    lag_seconds = (max(0.0, time.time() - state.oldest_at.timestamp())
                   if state.oldest_at is not None and state.waiting else 0.0)
    is_stuck, why = _behind(state.waiting, lag_seconds, stuck_after)
    kind: Kind = "ingester" if state.durable == "ingester" else "host"
    return Part(name=state.durable, kind=kind, position=state.applied,
                lag_events=state.waiting, lag_seconds=lag_seconds, stuck=is_stuck, why=why)
