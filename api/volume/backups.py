"""Cinder v3 backups: list, show (queries, from the views), take, delete and
restore into a new volume (commands)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.bodies import convert, decode
from api.context import context
from api.fields import LooseName, Text255
from api.volume.listing import lister, shower
from api.volume.requests import PREFIX, done, who_asks
from api.volume.shapes import backup_brief
from commands.backups import DeleteBackup, TakeBackup
from commands.volumes import CreateVolume
from domain.backup import Backup
from domain.errors import InvalidInput


class _NewBackup(msgspec.Struct, forbid_unknown_fields=False):
    """A backup's request body."""

    volume_id: Text255
    name: LooseName | None = None
    description: Text255 | None = None
    force: bool = False


class _BackupBody(msgspec.Struct):
    backup: _NewBackup


class _Restore(msgspec.Struct, forbid_unknown_fields=False):
    name: LooseName | None = None
    volume_id: Text255 | None = None


class _RestoreBody(msgspec.Struct):
    restore: _Restore


async def create_backup(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    new = decode(await request.body(), _BackupBody, service="cinder").backup
    accepted = await run_in_threadpool(commands.backups.take, TakeBackup(
        request_id=request_id, caller=who.caller, volume_id=new.volume_id,
        name=new.name or "", description=new.description or "", force=new.force))
    return done(accepted.position,
                {"backup": backup_brief(context(request).base_url, accepted.state)})


async def delete_backup(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    accepted = await run_in_threadpool(commands.backups.delete, DeleteBackup(
        request_id=request_id, caller=who.caller, backup_id=request.path_params["ident"]))
    return done(accepted.position)


async def restore_backup(request: Request) -> Response:
    """Cinder's restore into a new volume (restoring over an existing one is not served)."""
    who, request_id, commands = await who_asks(request)
    asked = decode(await request.body(), _RestoreBody, service="cinder").restore
    if asked.volume_id is not None:
        raise InvalidInput("Invalid input for field/attribute volume_id: restoring over an "
                           "existing volume is not supported; leave it out for a new volume.")
    backup_id = request.path_params["ident"]
    accepted = await run_in_threadpool(commands.volumes.create, CreateVolume(
        request_id=request_id, caller=who.caller, size_gb=None, backup_id=backup_id,
        name=asked.name or f"restore_backup_{backup_id}"))
    made = accepted.state
    return done(accepted.position, {"restore": {"backup_id": backup_id, "volume_id": made.id,
                                                 "volume_name": made.name}})


class _Reset(msgspec.Struct):
    status: Text255


async def backup_action(request: Request) -> Response:
    """``POST backups/{id}/action``: an admin's os-reset_status."""
    who, request_id, commands = await who_asks(request)
    body = decode(await request.body(), dict[str, Any], service="cinder")
    if set(body) != {"os-reset_status"}:
        raise InvalidInput("Invalid request body: the one backup action served is "
                           "os-reset_status.")
    status = convert(body["os-reset_status"], _Reset, service="cinder",
                     field="os-reset_status").status
    accepted = await run_in_threadpool(commands.backups.reset_status,
                                       request.path_params["ident"], status, who.caller,
                                       request_id)
    return done(accepted.position)


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/backups/{{ident}}/action", backup_action, methods=["POST"]),
    Route(f"{PREFIX}/backups", create_backup, methods=["POST"]),
    Route(f"{PREFIX}/backups/{{ident}}", delete_backup, methods=["DELETE"]),
    Route(f"{PREFIX}/backups/{{ident}}/restore", restore_backup, methods=["POST"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/backups", lister(Backup, "backups", detail=False), methods=["GET"]),
    Route(f"{PREFIX}/backups/detail", lister(Backup, "backups", detail=True), methods=["GET"]),
    Route(f"{PREFIX}/backups/{{ident}}", shower(Backup, "backup"), methods=["GET"]),
]
