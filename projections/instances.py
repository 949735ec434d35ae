"""The instances view and the instance-actions view, from instance events.

A batch of log entries is applied in the caller's transaction: the rows it
touches are read once, each event is folded with the same ``evolve`` the
write side uses (so the view cannot drift from the model), and the rows are
written back in one statement (projections/upsert.py). Every statement names
tables without a schema: the caller's ``search_path`` picks the live views or
a schema being rebuilt by replay.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from domain import events as ev
from domain import instance as model
from domain import instance_observations as observations
from projections import pending
from projections.log import LogEntry
from projections.upsert import Upsert

_COLUMNS = (
    "id", "version", "project_id", "user_id", "name", "host", "flavor_id", "image_ref",
    "vcpus", "memory_mb", "disk_gb", "vm_state", "task_state", "power_state", "status",
    "pending", "pending_kind", "fault", "created_at", "updated_at", "launched_at",
    "deleted_at", "fault_at", "key_name", "public_key", "metadata", "user_data",
    "availability_zone", "reservation_id", "launch_index", "description", "locked",
    "locked_by_admin", "locked_reason",
)
_STATE_FIELDS = tuple(c for c in _COLUMNS if c not in ("version", "status"))

_UPSERT = Upsert("instances", _COLUMNS)
_INSERT_ACTION = Upsert("instance_actions", (
    "instance_id", "request_id", "action", "project_id", "user_id", "start_time", "position",
    "host", "finish_time"), key=None)
# Changes that need no host and that Nova records as actions (with no events).
_INSTANT_ACTIONS: dict[type[ev.InstanceChanged], str] = {
    ev.InstanceLocked: "lock",
    ev.InstanceUnlocked: "unlock",
}
# What a host reported that differs from the record: an action of the reconciler's.
_INSERT_OBSERVATION = Upsert("instance_actions", (
    "instance_id", "request_id", "action", "project_id", "user_id", "start_time", "position",
    "host", "finish_time", "result", "message"), key=None)
_FINISH_ACTION = (
    "UPDATE instance_actions SET finish_time = %s, result = %s, message = %s"
    " WHERE instance_id = %s AND request_id = %s"
)


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, ev.InstanceEvent]]) -> None:
    """Apply instance events (in log order) inside the caller's transaction."""
    states = _load(conn, list({entry.aggregate_id for entry, _ in items}))
    versions: dict[UUID, int] = {}
    started: list[tuple[Any, ...]] = []
    finished: list[tuple[Any, ...]] = []
    observed: list[tuple[Any, ...]] = []
    for entry, event in items:
        state = model.evolve(states.get(entry.aggregate_id), event, str(entry.aggregate_id))
        states[entry.aggregate_id] = state
        versions[entry.aggregate_id] = entry.version
        if isinstance(event, ev.InstanceRequested):
            started.append((entry.aggregate_id, event.request_id, model.action_of(event),
                            state.project_id, event.user_id, event.at, entry.position,
                            event.host, None))
        elif type(event) in _INSTANT_ACTIONS:
            assert isinstance(event, ev.InstanceChanged)
            started.append((entry.aggregate_id, event.request_id, _INSTANT_ACTIONS[type(event)],
                            state.project_id, event.user_id, event.at, entry.position,
                            None, event.at))
        elif isinstance(event, ev.InstanceObserved):
            observed.append((entry.aggregate_id, event.request_id,
                             observations.ACTIONS[type(event)], state.project_id,
                             model.RECONCILER_USER, event.at, entry.position, event.host,
                             event.at, "Success", event.reason))
        elif isinstance(event, ev.InstanceOperationFailed):
            finished.append((event.at, "Error", event.reason, entry.aggregate_id,
                             event.request_id))
        elif isinstance(event, ev.InstanceOutcome):
            finished.append((event.at, "Success", None, entry.aggregate_id, event.request_id))
    _UPSERT.send(conn, [_row(states[i], versions[i]) for i in versions])
    _INSERT_ACTION.send(conn, started)
    _INSERT_OBSERVATION.send(conn, observed)
    with conn.cursor() as cur:
        if finished:
            cur.executemany(_FINISH_ACTION, finished)


def _load(conn: psycopg.Connection[Any], ids: list[UUID]) -> dict[UUID, model.Instance]:
    fields = ", ".join(_STATE_FIELDS)
    rows = conn.execute(f"SELECT {fields} FROM instances WHERE id = ANY(%s)", (ids,))
    out: dict[UUID, model.Instance] = {}
    for row in rows.fetchall():
        values = dict(zip(_STATE_FIELDS, row, strict=True))
        values["id"] = str(values["id"])
        out[row[0]] = pending.from_row(values, model.Instance)
    return out


def _row(state: model.Instance, version: int) -> tuple[Any, ...]:
    values = pending.to_row(state)
    values["id"] = UUID(state.id)
    values["version"] = version
    values["status"] = model.status(state.vm_state, state.task_state)
    values["metadata"] = Jsonb(state.metadata)
    return tuple(values[c] for c in _COLUMNS)
