"""What the web console asks of the log that no view answers: one request's
events, and one aggregate's events folded state by state.

Both read the event log itself (``nimbus_events``), not a view, so they see
exactly what was stored and in what order. A request's events are found by
the request id each event carries (``request_id``, a field of the stored
JSON): the bytes are searched for the id, then each match is decoded and its
``request_id`` compared, so an id that merely appears inside another field is
not taken; the events written in the same commits are added (``_same_commit``),
as a boot's quota and host claims carry no request id. That search reads the
whole log (there is no index on a field of the stored JSON): it is an
operator's tool, asked one request at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.base import Event
from domain.registry import KINDS, Role
from projections.log import EVENTS_TABLE, LogEntry
from projections.progress import head_and_views
from projections.shown import shown
from projections.views import Views

_COLUMNS = "notification_id, originator_id, originator_version, topic, state"
MAX_REQUEST_EVENTS = 500  # a request that wrote more is cut here (the answer says so)
MAX_AGGREGATE_EVENTS = 2000
COMMIT_WINDOW = 16  # positions looked at either side of a request's event for its commit


class Step(msgspec.Struct, frozen=True):
    """One event of a request, where it stands in the log and what it is.
    ``phase`` is ``command`` for the events the API's command wrote (up to
    and with the first one addressed to a host, and any more of the same
    time: a command stamps all it writes with one time) and ``outcome`` for
    those written after a host was asked (its reports, a deadline, or a step of the
    request sent on to another host); ``to_host``: the event asks its
    ``host`` to act."""

    position: int
    aggregate_id: str
    aggregate: str
    version: int
    type: str
    at: str
    phase: str
    host: str | None
    to_host: bool
    carries_request: bool  # False: written in the same commit, naming no request itself
    applied: bool  # whether the views have applied this position
    event: dict[str, Any]


class RequestTrace(msgspec.Struct, frozen=True):
    request_id: str
    views_position: int
    head: int
    steps: list[Step]
    truncated: bool


class State(msgspec.Struct, frozen=True):
    """An aggregate after one of its events."""

    version: int
    position: int
    type: str
    at: str
    event: dict[str, Any]
    state: Any


class AggregateStates(msgspec.Struct, frozen=True):
    aggregate_id: str
    kind: str
    states: list[State]
    truncated: bool  # it has more events than MAX_AGGREGATE_EVENTS: the first are shown


# every event that some host acts on: the ones a request sends to a host
_ADDRESSED: frozenset[type[Event]] = frozenset(
    cls for kind in KINDS.values() for role in Role for cls in kind.work.get(role, ()))


async def _entries(views: Views, where: str, params: tuple[Any, ...]) -> list[LogEntry]:
    async with views.connection() as conn, conn.cursor(binary=True) as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} WHERE {where}", params)
        rows = await cur.fetchall()
    return [LogEntry(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]


def _same_commit(found: dict[int, tuple[LogEntry, Event]], near: dict[int, tuple[LogEntry, Event]]
                 ) -> dict[int, tuple[LogEntry, Event]]:
    """The events of ``near`` written in one commit with one of ``found``:
    a commit's events have adjacent positions (the store locks the table for
    each insert) and one time (a command decides at one clock reading), so
    the run of neighbours of the same time that carry no request of their own
    (a quota or host claim) is the rest of that commit."""
    joined: dict[int, tuple[LogEntry, Event]] = {}
    for position, (_, event) in found.items():
        for step in (-1, 1):
            at = position + step
            while (at in near and at not in found and near[at][1].at == event.at
                   and getattr(near[at][1], "request_id", None) is None):
                joined[at] = near[at]
                at += step
    return joined


async def request_trace(views: Views, request_id: str) -> RequestTrace:
    """Every stored event that carries ``request_id``, and the events written
    in the same commits as they were, in log order."""
    entries = await _entries(
        views, "position(%s::bytea in state) > 0 ORDER BY notification_id LIMIT %s",
        (request_id.encode(), MAX_REQUEST_EVENTS + 1))
    found = {e.position: (e, event) for e in entries[:MAX_REQUEST_EVENTS]
             if getattr(event := e.decode(), "request_id", None) == request_id}
    around = sorted({p + d for p in found for d in range(-COMMIT_WINDOW, COMMIT_WINDOW + 1)}
                    - found.keys())
    near = {e.position: (e, e.decode()) for e in await _entries(
        views, "notification_id = ANY(%s) ORDER BY notification_id", (around,))}
    joined = _same_commit(found, near)
    head, applied = await head_and_views(views)
    steps: list[Step] = []
    asked = False
    started: datetime | None = None  # the command's time, which all its events carry
    for position in sorted(found.keys() | joined.keys()):
        entry, event = found.get(position) or joined[position]
        started = started or event.at
        addressed = type(event) in _ADDRESSED
        phase = "outcome" if asked and event.at != started else "command"
        asked = asked or addressed
        host = getattr(event, "host", None)
        steps.append(Step(
            position=entry.position, aggregate_id=str(entry.aggregate_id),
            aggregate=entry.aggregate, version=entry.version, type=entry.event_type,
            at=event.at.isoformat(), phase=phase, host=host if isinstance(host, str) else None,
            to_host=addressed, carries_request=position in found,
            applied=entry.position <= applied, event=shown(event)))
    return RequestTrace(request_id=request_id, views_position=applied,
                        head=head, steps=steps,
                        truncated=len(entries) > MAX_REQUEST_EVENTS)


async def aggregate_states(views: Views, aggregate_id: UUID) -> AggregateStates | None:
    """The aggregate's state after each of its events, folded with its kind's
    own ``evolve`` as the write side folds it; None when it has no events."""
    entries = await _entries(
        views, "originator_id = %s ORDER BY originator_version LIMIT %s",
        (aggregate_id, MAX_AGGREGATE_EVENTS + 1))
    if not entries:
        return None
    kind = KINDS[entries[0].aggregate]
    state: Any = None
    states: list[State] = []
    for entry in entries[:MAX_AGGREGATE_EVENTS]:
        event = entry.decode()
        state = kind.evolve(state, event, str(aggregate_id))
        states.append(State(version=entry.version, position=entry.position,
                            type=entry.event_type, at=event.at.isoformat(),
                            event=shown(event), state=shown(state)))
    return AggregateStates(aggregate_id=str(aggregate_id), kind=kind.name, states=states,
                           truncated=len(entries) > MAX_AGGREGATE_EVENTS)
