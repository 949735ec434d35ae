"""The instances view and the instance-actions view, from instance events.

A batch of log entries is applied in the caller's transaction: the rows it
touches are read once, each event is folded with the same ``evolve`` the
write side uses (so the view cannot drift from the model), and the rows are
written back in one statement (projections/upsert.py). Every statement names
tables without a schema: the caller's ``search_path`` picks the live views or
a schema being rebuilt by replay.
"""

from __future__ import annotations

import operator
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from domain import events as ev
from domain import instance as model
from domain import instance_observations as observations
from domain import migration_events as mev
from projections import migrations, pending
from projections.log import LogEntry
from projections.upsert import Upsert

_COLUMNS = (
    "id", "version", "project_id", "user_id", "name", "host", "flavor_id", "image_ref",
    "vcpus", "memory_mb", "disk_gb", "vm_state", "task_state", "power_state", "status",
    "pending", "pending_kind", "fault", "created_at", "updated_at", "launched_at",
    "deleted_at", "fault_at", "key_name", "public_key", "metadata", "user_data",
    "availability_zone", "reservation_id", "launch_index", "description", "locked",
    "locked_by_admin", "locked_reason", "tags", "migration", "access_ip_v4", "access_ip_v6",
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

def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, ev.InstanceEvent]]) -> None:
    """Apply instance events (in log order) inside the caller's transaction.

    An action that starts and ends in the same batch is inserted ended; the
    others that end in it are updated together, in one statement. An
    instance whose first event in the batch is its first of all (version 1)
    has no row yet: it is not looked for, and its row and actions are
    written as new ones (projections/upsert.py ``fresh``)."""
    # Instances are keyed by their ids' ints here: a UUID hashes in Python, an int in C.
    first = {entry.aggregate_id.int: entry for entry, _ in reversed(items)}
    states = _load(conn, [e.aggregate_id for e in first.values() if e.version > 1])
    held = set(states)  # the instances the table holds
    versions: dict[int, int] = {}
    started: dict[tuple[int, str], list[Any]] = {}
    finished: dict[tuple[int, str], tuple[Any, ...]] = {}
    moved = migrations.Touched()
    for entry, event in items:
        instance_id = entry.aggregate_id
        key = instance_id.int
        before = states.get(key)
        state = model.evolve(before, event, str(instance_id) if before is None else before.id)
        states[key] = state
        versions[key] = entry.version
        if isinstance(event, mev.AnyMigrationEvent):
            moved.add(entry.position, instance_id, state, event)
        role = _ROLES.get(type(event)) or _role(type(event))
        if role is _REQUESTED:
            assert isinstance(event, ev.InstanceRequested)
            started[key, event.request_id] = [
                instance_id, event.request_id, model.action_of(event), state.project_id,
                event.user_id, event.at, entry.position, event.host, None, None, None]
        elif role is _INSTANT:
            assert isinstance(event, ev.InstanceChanged)
            started[key, event.request_id] = [
                instance_id, event.request_id, _INSTANT_ACTIONS[type(event)],
                state.project_id, event.user_id, event.at, entry.position, None, event.at,
                None, None]
        elif role is _OBSERVED:  # what a host saw: the reconciler's action
            assert isinstance(event, ev.InstanceObserved)
            started[key, event.request_id] = [
                instance_id, event.request_id, observations.ACTIONS[type(event)],
                state.project_id, model.RECONCILER_USER, event.at, entry.position, event.host,
                event.at, "Success", event.reason]
        elif role is _OUTCOME:
            assert isinstance(event, ev.InstanceOutcome)
            reason = (event.reason if isinstance(event, ev.InstanceOperationFailed
                                                 | mev.InstanceStepFailed) else None)
            end = (event.at, "Success" if reason is None else "Error", reason)
            action = (key, event.request_id)
            if action in started:
                started[action][8:] = end
            else:
                finished[action] = (instance_id, event.request_id, *end)
    rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] = ([], [])
    for key, version in versions.items():
        rows[key not in held].append(_row(first[key].aggregate_id, states[key], version))
    _UPSERT.send(conn, *rows)
    actions: tuple[list[list[Any]], list[list[Any]]] = ([], [])
    for started_action in started.values():
        actions[started_action[0].int not in held].append(started_action)
    _INSERT_ACTION.send(conn, *actions)
    if finished:
        columns = list(zip(*finished.values(), strict=True))
        conn.execute(_FINISH_ACTIONS, [list(c) for c in columns])
    moved.send(conn)


# What an event is to the actions view, by its class (looked up once per class).
_REQUESTED, _INSTANT, _OUTCOME, _NONE = "requested", "instant", "outcome", "none"
_OBSERVED = "observed"
_ROLES: dict[type[Any], str] = {}


def _role(kind: type[Any]) -> str:
    follows = issubclass(kind, ev.InstanceRequested) and issubclass(
        kind, mev.AnyMigrationRequest) and kind not in mev.USER_STEPS  # part of the user's
    role = (_NONE if follows else _REQUESTED if issubclass(kind, ev.InstanceRequested)
            else _INSTANT if kind in _INSTANT_ACTIONS
            else _OUTCOME if issubclass(kind, ev.InstanceOutcome)
            else _OBSERVED if issubclass(kind, ev.InstanceObserved) else _NONE)
    _ROLES[kind] = role
    return role


def _load(conn: psycopg.Connection[Any], ids: list[UUID]) -> dict[int, model.Instance]:
    """The instances of ``ids`` the table holds, by their ids' ints."""
    fields = ", ".join(_STATE_FIELDS)
    rows = conn.execute(f"SELECT {fields} FROM instances WHERE id = ANY(%s)", (ids,))
    out: dict[int, model.Instance] = {}
    for row in rows.fetchall():
        values = dict(zip(_STATE_FIELDS, row, strict=True))
        values["id"] = str(values["id"])
        out[row[0].int] = pending.from_row(values, model.Instance)
    return out


_TAKE = operator.itemgetter(*_COLUMNS)


def _row(instance_id: UUID, state: model.Instance, version: int) -> tuple[Any, ...]:
    values = pending.to_row(state)
    values["id"] = instance_id
    values["version"] = version
    values["status"] = model.status(state.vm_state, state.task_state)
    values["metadata"] = Jsonb(state.metadata, dumps=msgspec.json.encode)
    values["tags"] = Jsonb(state.tags, dumps=msgspec.json.encode)
    if state.migration is not None:
        values["migration"] = Jsonb(state.migration, dumps=msgspec.json.encode)
    return _TAKE(values)  # type: ignore[no-any-return]
