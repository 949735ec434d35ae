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
_ACTION_COLUMNS = ("instance_id", "request_id", "action", "project_id", "user_id", "start_time",
                   "position", "host", "finish_time", "result", "message")
_INSERT_ACTION = Upsert("instance_actions", _ACTION_COLUMNS, key=None)
# Changes that need no host and that Nova records as actions (with no events).
_INSTANT_ACTIONS: dict[type[ev.InstanceChanged], str] = {
    ev.InstanceLocked: "lock",
    ev.InstanceUnlocked: "unlock",
}
# the actions that started before this batch and end in it, in one statement
_FINISH_ACTIONS = (
    "UPDATE instance_actions AS a"
    " SET finish_time = f.finish_time, result = f.result, message = f.message"
    " FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::text[], %s::text[])"
    " AS f(instance_id, request_id, finish_time, result, message)"
    " WHERE a.instance_id = f.instance_id AND a.request_id = f.request_id"
)

Action = tuple[UUID, str]  # instance id, request id


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, ev.InstanceEvent]]) -> None:
    """Apply instance events (in log order) inside the caller's transaction.

    An action that starts and ends in the same batch is inserted ended; the
    others that end in it are updated together, in one statement."""
    states = _load(conn, list({entry.aggregate_id for entry, _ in items}))
    versions: dict[UUID, int] = {}
    started: dict[Action, list[Any]] = {}
    finished: dict[Action, tuple[Any, ...]] = {}
    for entry, event in items:
        instance_id = entry.aggregate_id
        state = model.evolve(states.get(instance_id), event, str(instance_id))
        states[instance_id] = state
        versions[instance_id] = entry.version
        if isinstance(event, ev.InstanceRequested):
            started[instance_id, event.request_id] = [
                instance_id, event.request_id, model.action_of(event), state.project_id,
                event.user_id, event.at, entry.position, event.host, None, None, None]
        elif type(event) in _INSTANT_ACTIONS:
            assert isinstance(event, ev.InstanceChanged)
            started[instance_id, event.request_id] = [
                instance_id, event.request_id, _INSTANT_ACTIONS[type(event)],
                state.project_id, event.user_id, event.at, entry.position, None, event.at,
                None, None]
        elif isinstance(event, ev.InstanceObserved):  # what a host saw: the reconciler's
            started[instance_id, event.request_id] = [
                instance_id, event.request_id, observations.ACTIONS[type(event)],
                state.project_id, model.RECONCILER_USER, event.at, entry.position, event.host,
                event.at, "Success", event.reason]
        elif isinstance(event, ev.InstanceOutcome):
            reason = event.reason if isinstance(event, ev.InstanceOperationFailed) else None
            end = (event.at, "Success" if reason is None else "Error", reason)
            action = (instance_id, event.request_id)
            if action in started:
                started[action][8:] = end
            else:
                finished[action] = end
    _UPSERT.send(conn, [_row(states[i], versions[i]) for i in versions])
    _INSERT_ACTION.send(conn, list(started.values()))
    if finished:
        columns = list(zip(*((*action, *end) for action, end in finished.items()), strict=True))
        conn.execute(_FINISH_ACTIONS, [list(c) for c in columns])


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
