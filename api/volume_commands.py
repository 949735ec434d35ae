"""Cinder v3 command routes (volumes, snapshots, backups and restore) and
Nova's ``os-volume_attachments`` (attach, detach).

Creates and deletes answer 202 with what the write side knows, and
``Nimbus-Log-Position``; ``Idempotency-Key`` makes a retry return the first
answer. A size that is not a positive whole number, an unknown type or zone,
or a quota overrun is a 4xx in Cinder's words, and nothing is written.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import idempotency
from api.bodies import decode
from api.consistency import positioned
from api.context import claims, context
from api.fields import Integer, LooseName, Metadata, Text255
from api.tokens import Claims
from api.volume_views import PREFIX, own_project, snapshot, volume, volume_attachment
from commands.backups import DeleteBackup, TakeBackup
from commands.services import Commands
from commands.snapshots import DeleteSnapshot, TakeSnapshot
from commands.volumes import AttachVolume, CreateVolume, DeleteVolume, DetachVolume, UpdateVolume
from domain.errors import InvalidInput


class _NewVolume(msgspec.Struct, forbid_unknown_fields=False):
    size: Integer | None = None  # may be left out with snapshot_id
    snapshot_id: Text255 | None = None
    name: LooseName | None = None
    description: Text255 | None = None
    volume_type: Text255 | None = None
    availability_zone: Text255 | None = None
    metadata: Metadata | None = None  # accepted (OSC sends null), not kept yet


class _VolumeBody(msgspec.Struct):
    volume: _NewVolume


class _VolumeChange(msgspec.Struct, forbid_unknown_fields=False):
    name: LooseName | None = None
    description: Text255 | None = None


class _UpdateBody(msgspec.Struct):
    volume: _VolumeChange


class _NewCopy(msgspec.Struct, forbid_unknown_fields=False):
    """A snapshot's or a backup's request body."""

    volume_id: Text255
    name: LooseName | None = None
    description: Text255 | None = None
    force: bool = False


class _SnapshotBody(msgspec.Struct):
    snapshot: _NewCopy


class _BackupBody(msgspec.Struct):
    backup: _NewCopy


class _Restore(msgspec.Struct, forbid_unknown_fields=False):
    name: LooseName | None = None
    volume_id: Text255 | None = None


class _RestoreBody(msgspec.Struct):
    restore: _Restore


class _Attachment(msgspec.Struct, forbid_unknown_fields=False):
    volumeId: Text255
    device: Text255 | None = None


class _AttachBody(msgspec.Struct):
    volumeAttachment: _Attachment


async def _asked(request: Request, *, cinder: bool = True) -> tuple[Claims, str, Commands]:
    """Who asks (in their own project's URL, for Cinder's routes), the
    request id, and the command services."""
    who = claims(request)
    if cinder:
        own_project(who, request.path_params["project_id"])
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return who, await idempotency.request_id(request, who), commands


def _done(position: int | None, body: dict[str, Any] | None = None,
          status: int = 202) -> Response:
    if body is None:
        return Response(status_code=status, headers=positioned(position))
    return JSONResponse(body, status_code=status, headers=positioned(position))


async def create_volume(request: Request) -> Response:
    who, request_id, commands = await _asked(request)
    new = decode(await request.body(), _VolumeBody, service="cinder").volume
    accepted = await run_in_threadpool(commands.volumes.create, CreateVolume(
        request_id=request_id, caller=who.caller, size_gb=new.size,
        snapshot_id=new.snapshot_id, name=new.name or "", description=new.description or "",
        volume_type=new.volume_type, availability_zone=new.availability_zone))
    body = volume(context(request).base_url, accepted.state, admin=who.caller.is_admin)
    return _done(accepted.position, {"volume": body})


async def update_volume(request: Request) -> Response:
    """Cinder's ``PUT /volumes/{id}``: 200 with the volume renamed."""
    who, request_id, commands = await _asked(request)
    change = decode(await request.body(), _UpdateBody, service="cinder").volume
    accepted = await run_in_threadpool(commands.volumes.update, UpdateVolume(
        request_id=request_id, caller=who.caller, volume_id=request.path_params["ident"],
        name=change.name, description=change.description))
    body = volume(context(request).base_url, accepted.state, admin=who.caller.is_admin)
    return _done(accepted.position, {"volume": body}, status=200)


async def delete_volume(request: Request) -> Response:
    who, request_id, commands = await _asked(request)
    accepted = await run_in_threadpool(commands.volumes.delete, DeleteVolume(
        request_id=request_id, caller=who.caller, volume_id=request.path_params["ident"]))
    return _done(accepted.position)


async def create_snapshot(request: Request) -> Response:
    who, request_id, commands = await _asked(request)
    new = decode(await request.body(), _SnapshotBody, service="cinder").snapshot
    accepted = await run_in_threadpool(commands.snapshots.take, TakeSnapshot(
        request_id=request_id, caller=who.caller, volume_id=new.volume_id,
        name=new.name or "", description=new.description or "", force=new.force))
    return _done(accepted.position, {"snapshot": snapshot(accepted.state)})


async def delete_snapshot(request: Request) -> Response:
    who, request_id, commands = await _asked(request)
    accepted = await run_in_threadpool(commands.snapshots.delete, DeleteSnapshot(
        request_id=request_id, caller=who.caller, snapshot_id=request.path_params["ident"]))
    return _done(accepted.position)


async def create_backup(request: Request) -> Response:
    who, request_id, commands = await _asked(request)
    new = decode(await request.body(), _BackupBody, service="cinder").backup
    accepted = await run_in_threadpool(commands.backups.take, TakeBackup(
        request_id=request_id, caller=who.caller, volume_id=new.volume_id,
        name=new.name or "", description=new.description or "", force=new.force))
    made = accepted.state
    return _done(accepted.position, {"backup": {"id": made.id, "name": made.name}})


async def delete_backup(request: Request) -> Response:
    who, request_id, commands = await _asked(request)
    accepted = await run_in_threadpool(commands.backups.delete, DeleteBackup(
        request_id=request_id, caller=who.caller, backup_id=request.path_params["ident"]))
    return _done(accepted.position)


async def restore_backup(request: Request) -> Response:
    """Cinder's restore into a new volume (restoring over an existing one is not served)."""
    who, request_id, commands = await _asked(request)
    asked = decode(await request.body(), _RestoreBody, service="cinder").restore
    if asked.volume_id is not None:
        raise InvalidInput("Invalid input for field/attribute volume_id: restoring over an "
                           "existing volume is not supported; leave it out for a new volume.")
    backup_id = request.path_params["ident"]
    accepted = await run_in_threadpool(commands.volumes.create, CreateVolume(
        request_id=request_id, caller=who.caller, size_gb=None, backup_id=backup_id,
        name=asked.name or f"restore_backup_{backup_id}"))
    made = accepted.state
    return _done(accepted.position, {"restore": {"backup_id": backup_id, "volume_id": made.id,
                                                 "volume_name": made.name}})


async def attach_volume(request: Request) -> Response:
    """Nova's ``POST /servers/{id}/os-volume_attachments``: 200 with the device."""
    who, request_id, commands = await _asked(request, cinder=False)
    asked = decode(await request.body(), _AttachBody).volumeAttachment
    accepted = await run_in_threadpool(commands.volumes.attach, AttachVolume(
        request_id=request_id, caller=who.caller, server_id=request.path_params["server_id"],
        volume_id=asked.volumeId, device=asked.device))
    return _done(accepted.position, {"volumeAttachment": volume_attachment(accepted.state)},
                 status=200)


async def detach_volume(request: Request) -> Response:
    who, request_id, commands = await _asked(request, cinder=False)
    accepted = await run_in_threadpool(commands.volumes.detach, DetachVolume(
        request_id=request_id, caller=who.caller, server_id=request.path_params["server_id"],
        volume_id=request.path_params["volume_id"]))
    return _done(accepted.position)


S = "/compute/v2.1/servers/{server_id}/os-volume_attachments"

routes = [
    Route(f"{PREFIX}/volumes", create_volume, methods=["POST"]),
    Route(f"{PREFIX}/volumes/{{ident}}", update_volume, methods=["PUT"]),
    Route(f"{PREFIX}/volumes/{{ident}}", delete_volume, methods=["DELETE"]),
    Route(f"{PREFIX}/snapshots", create_snapshot, methods=["POST"]),
    Route(f"{PREFIX}/snapshots/{{ident}}", delete_snapshot, methods=["DELETE"]),
    Route(f"{PREFIX}/backups", create_backup, methods=["POST"]),
    Route(f"{PREFIX}/backups/{{ident}}", delete_backup, methods=["DELETE"]),
    Route(f"{PREFIX}/backups/{{ident}}/restore", restore_backup, methods=["POST"]),
    Route(S, attach_volume, methods=["POST"]),
    Route(f"{S}/{{volume_id}}", detach_volume, methods=["DELETE"]),
]
