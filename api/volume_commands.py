"""Cinder v3 volume and snapshot command routes (create, delete), and Nova's
``os-volume_attachments`` (attach, detach).

Create and delete answer 202 with what the write side knows, and
``Nimbus-Log-Position``; ``Idempotency-Key`` makes a retry return the first
answer. A size that is not a positive whole number, an unknown type or zone,
or a quota overrun is a 4xx in Cinder's words, and nothing is written.
"""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.compute_commands import decode_body
from api.consistency import positioned
from api.context import claims, context
from api.volume_views import PREFIX, own_project, snapshot, volume, volume_attachment
from commands.backups import BackupCommands, DeleteBackup, TakeBackup
from commands.instances import request_id_for
from commands.snapshots import DeleteSnapshot, SnapshotCommands, TakeSnapshot
from commands.volumes import (
    AttachVolume,
    CreateVolume,
    DeleteVolume,
    DetachVolume,
    UpdateVolume,
    VolumeAccepted,
    VolumeCommands,
)
from domain.errors import InvalidInput


class _NewVolume(msgspec.Struct, forbid_unknown_fields=False):
    size: int | None = None  # may be left out with snapshot_id
    snapshot_id: str | None = None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    metadata: dict[str, str] | None = None  # accepted (OSC sends null), not kept yet


class _CreateBody(msgspec.Struct):
    volume: _NewVolume


def _volumes(request: Request) -> VolumeCommands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands.volumes


def _answer(request: Request, accepted: VolumeAccepted, *, admin: bool) -> Response:
    headers = positioned(accepted.position)
    body = {"volume": volume(context(request).base_url, accepted.volume, admin=admin)}
    return JSONResponse(body, status_code=202, headers=headers)


async def create_volume(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    new = decode_body(await request.body(), _CreateBody).volume
    cmd = CreateVolume(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, size_gb=new.size, snapshot_id=new.snapshot_id, name=new.name or "",
        description=new.description or "", volume_type=new.volume_type,
        availability_zone=new.availability_zone)
    accepted = await run_in_threadpool(_volumes(request).create, cmd)
    return _answer(request, accepted, admin=who.caller.is_admin)


class _VolumeChange(msgspec.Struct, forbid_unknown_fields=False):
    name: str | None = None
    description: str | None = None


class _UpdateBody(msgspec.Struct):
    volume: _VolumeChange


async def update_volume(request: Request) -> Response:
    """Cinder's ``PUT /volumes/{id}``: 200 with the volume renamed."""
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    change = decode_body(await request.body(), _UpdateBody).volume
    cmd = UpdateVolume(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, volume_id=request.path_params["volume_id"], name=change.name,
        description=change.description)
    accepted = await run_in_threadpool(_volumes(request).update, cmd)
    headers = positioned(accepted.position)
    body = {"volume": volume(context(request).base_url, accepted.volume,
                             admin=who.caller.is_admin)}
    return JSONResponse(body, headers=headers)


async def delete_volume(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    cmd = DeleteVolume(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, volume_id=request.path_params["volume_id"])
    accepted = await run_in_threadpool(_volumes(request).delete, cmd)
    headers = positioned(accepted.position)
    return Response(status_code=202, headers=headers)


class _NewSnapshot(msgspec.Struct, forbid_unknown_fields=False):
    volume_id: str
    name: str | None = None
    description: str | None = None
    force: bool = False


class _SnapshotBody(msgspec.Struct):
    snapshot: _NewSnapshot


def _snapshots(request: Request) -> SnapshotCommands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands.snapshots


async def create_snapshot(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    new = decode_body(await request.body(), _SnapshotBody).snapshot
    cmd = TakeSnapshot(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, volume_id=new.volume_id, name=new.name or "",
        description=new.description or "", force=new.force)
    accepted = await run_in_threadpool(_snapshots(request).take, cmd)
    headers = positioned(accepted.position)
    return JSONResponse({"snapshot": snapshot(accepted.snapshot)}, status_code=202,
                        headers=headers)


async def delete_snapshot(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    cmd = DeleteSnapshot(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, snapshot_id=request.path_params["snapshot_id"])
    accepted = await run_in_threadpool(_snapshots(request).delete, cmd)
    headers = positioned(accepted.position)
    return Response(status_code=202, headers=headers)


class _NewBackup(msgspec.Struct, forbid_unknown_fields=False):
    volume_id: str
    name: str | None = None
    description: str | None = None
    force: bool = False


class _BackupBody(msgspec.Struct):
    backup: _NewBackup


class _Restore(msgspec.Struct, forbid_unknown_fields=False):
    name: str | None = None
    volume_id: str | None = None


class _RestoreBody(msgspec.Struct):
    restore: _Restore


def _backups(request: Request) -> BackupCommands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands.backups


async def create_backup(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    new = decode_body(await request.body(), _BackupBody).backup
    cmd = TakeBackup(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, volume_id=new.volume_id, name=new.name or "",
        description=new.description or "", force=new.force)
    accepted = await run_in_threadpool(_backups(request).take, cmd)
    headers = positioned(accepted.position)
    made = accepted.backup
    return JSONResponse({"backup": {"id": made.id, "name": made.name}}, status_code=202,
                        headers=headers)


async def delete_backup(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    cmd = DeleteBackup(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, backup_id=request.path_params["backup_id"])
    accepted = await run_in_threadpool(_backups(request).delete, cmd)
    headers = positioned(accepted.position)
    return Response(status_code=202, headers=headers)


async def restore_backup(request: Request) -> Response:
    """Cinder's restore into a new volume (restoring over an existing one is not served)."""
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    asked = decode_body(await request.body(), _RestoreBody).restore
    if asked.volume_id is not None:
        raise InvalidInput("Invalid input for field/attribute volume_id: restoring over an "
                           "existing volume is not supported; leave it out for a new volume.")
    backup_id = request.path_params["backup_id"]
    cmd = CreateVolume(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, size_gb=None, backup_id=backup_id,
        name=asked.name or f"restore_backup_{backup_id}")
    accepted = await run_in_threadpool(_volumes(request).create, cmd)
    headers = positioned(accepted.position)
    return JSONResponse({"restore": {"backup_id": backup_id, "volume_id": accepted.volume.id,
                                     "volume_name": accepted.volume.name}},
                        status_code=202, headers=headers)


class _Attachment(msgspec.Struct, forbid_unknown_fields=False):
    volumeId: str
    device: str | None = None


class _AttachBody(msgspec.Struct):
    volumeAttachment: _Attachment


async def attach_volume(request: Request) -> Response:
    """Nova's ``POST /servers/{id}/os-volume_attachments``: 200 with the device."""
    who = claims(request)
    asked = decode_body(await request.body(), _AttachBody).volumeAttachment
    cmd = AttachVolume(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, server_id=request.path_params["server_id"],
        volume_id=asked.volumeId, device=asked.device)
    accepted = await run_in_threadpool(_volumes(request).attach, cmd)
    headers = positioned(accepted.position)
    return JSONResponse({"volumeAttachment": volume_attachment(accepted.volume)},
                        headers=headers)


async def detach_volume(request: Request) -> Response:
    who = claims(request)
    cmd = DetachVolume(
        request_id=request_id_for(who.project_id, request.headers.get("idempotency-key")),
        caller=who.caller, server_id=request.path_params["server_id"],
        volume_id=request.path_params["volume_id"])
    accepted = await run_in_threadpool(_volumes(request).detach, cmd)
    headers = positioned(accepted.position)
    return Response(status_code=202, headers=headers)


S = "/compute/v2.1/servers/{server_id}/os-volume_attachments"

routes = [
    Route(f"{PREFIX}/backups", create_backup, methods=["POST"]),
    Route(f"{PREFIX}/backups/{{backup_id}}", delete_backup, methods=["DELETE"]),
    Route(f"{PREFIX}/backups/{{backup_id}}/restore", restore_backup, methods=["POST"]),
    Route(f"{PREFIX}/snapshots", create_snapshot, methods=["POST"]),
    Route(f"{PREFIX}/snapshots/{{snapshot_id}}", delete_snapshot, methods=["DELETE"]),
    Route(S, attach_volume, methods=["POST"]),
    Route(f"{S}/{{volume_id}}", detach_volume, methods=["DELETE"]),
    Route(f"{PREFIX}/volumes", create_volume, methods=["POST"]),
    Route(f"{PREFIX}/volumes/{{volume_id}}", delete_volume, methods=["DELETE"]),
    Route(f"{PREFIX}/volumes/{{volume_id}}", update_volume, methods=["PUT"]),
]
