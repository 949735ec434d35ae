"""Cinder v3 snapshots: list, show (queries, from the views), take and delete
(commands)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.bodies import convert, decode
from api.fields import LooseName, Metadata, Text255
from api.volume.listing import lister, shower
from api.volume.requests import PREFIX, done, who_asks
from api.volume.shapes import snapshot
from commands.snapshots import DeleteSnapshot, TakeSnapshot
from domain.errors import InvalidInput, NotFound
from domain.snapshot import Snapshot


class _NewSnapshot(msgspec.Struct, forbid_unknown_fields=False):
    """A snapshot's request body."""

    volume_id: Text255 | None = None  # required: None is Cinder's 404
    name: LooseName | None = None
    description: Text255 | None = None
    force: bool = False
    metadata: Metadata | None = None


class _SnapshotBody(msgspec.Struct):
    snapshot: _NewSnapshot


async def create_snapshot(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    new = decode(await request.body(), _SnapshotBody, service="cinder").snapshot
    if new.volume_id is None:
        raise NotFound("Volume None could not be found.")
    accepted = await run_in_threadpool(commands.snapshots.take, TakeSnapshot(
        request_id=request_id, caller=who.caller, volume_id=new.volume_id,
        name=new.name or "", description=new.description or "", force=new.force,
        metadata=new.metadata or {}))
    return done(accepted.position, {"snapshot": snapshot(accepted.state, shown=False)})


async def delete_snapshot(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    accepted = await run_in_threadpool(commands.snapshots.delete, DeleteSnapshot(
        request_id=request_id, caller=who.caller, snapshot_id=request.path_params["ident"]))
    return done(accepted.position)


class _Reset(msgspec.Struct):
    status: Text255


class _Progress(msgspec.Struct):
    status: Text255
    progress: Text255 | None = None


async def snapshot_action(request: Request) -> Response:
    """``POST snapshots/{id}/action``: an admin's os-reset_status and
    os-force_delete, and os-update_snapshot_status (a progress report)."""
    who, request_id, commands = await who_asks(request)
    body = decode(await request.body(), dict[str, Any], service="cinder")
    ident = request.path_params["ident"]
    snapshots = commands.snapshots
    if len(body) != 1:
        raise InvalidInput("Invalid request body: exactly one snapshot action is required.")
    (action, argument), = body.items()
    if action == "os-reset_status":
        status = convert(argument, _Reset, service="cinder", field=action).status
        accepted = await run_in_threadpool(snapshots.reset_status, ident, status, who.caller,
                                           request_id)
    elif action == "os-update_snapshot_status":
        report = convert(argument, _Progress, service="cinder", field=action)
        accepted = await run_in_threadpool(snapshots.report_progress, ident, report.status,
                                           report.progress, who.caller, request_id)
    elif action == "os-force_delete":
        accepted = await run_in_threadpool(snapshots.force_delete, ident, who.caller,
                                           request_id)
    else:
        raise InvalidInput(f"Invalid request body: there is no snapshot action {action}.")
    return done(accepted.position)


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/snapshots/{{ident}}/action", snapshot_action, methods=["POST"]),
    Route(f"{PREFIX}/snapshots", create_snapshot, methods=["POST"]),
    Route(f"{PREFIX}/snapshots/{{ident}}", delete_snapshot, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/snapshots", lister(Snapshot, "snapshots", detail=False), methods=["GET"]),
    Route(f"{PREFIX}/snapshots/detail", lister(Snapshot, "snapshots", detail=True),
          methods=["GET"]),
    Route(f"{PREFIX}/snapshots/{{ident}}", shower(Snapshot, "snapshot"), methods=["GET"]),
]
