"""Cinder v3 volumes: list, show (queries, from the views), create, rename and
delete (commands).

A create or delete answers 202 with what the write side knows, and
``Nimbus-Log-Position``; ``Idempotency-Key`` makes a retry return the first
answer. A size that is not a positive whole number, an unknown type or zone,
or a quota overrun is a 4xx in Cinder's words, and nothing is written.
"""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.context import context
from api.fields import Integer, LooseName, Metadata, Text255
from api.volume.listing import lister, shower
from api.volume.requests import PREFIX, done, who_asks
from api.volume.shapes import volume
from commands.volumes import CreateVolume, DeleteVolume, UpdateVolume
from domain.errors import InvalidInput
from domain.volume import Volume


class _NewVolume(msgspec.Struct, forbid_unknown_fields=False):
    size: Integer | None = None  # may be left out with snapshot_id
    snapshot_id: Text255 | None = None
    name: LooseName | None = None
    description: Text255 | None = None
    volume_type: Text255 | None = None
    availability_zone: Text255 | None = None
    metadata: Metadata | None = None  # OSC sends null for none
    source_volid: Text255 | None = None  # a clone: not served


class _VolumeBody(msgspec.Struct):
    volume: _NewVolume


class _VolumeChange(msgspec.Struct, forbid_unknown_fields=False):
    name: LooseName | None = None
    description: Text255 | None = None


class _UpdateBody(msgspec.Struct):
    volume: _VolumeChange


async def create_volume(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    new = decode(await request.body(), _VolumeBody, service="cinder").volume
    if new.source_volid is not None:
        await run_in_threadpool(commands.volumes.volume, new.source_volid, who.caller)  # 404
        raise InvalidInput("Invalid input received: cloning a volume (source_volid) is not "
                           "supported; take a snapshot and make a volume from it.")
    accepted = await run_in_threadpool(commands.volumes.create, CreateVolume(
        request_id=request_id, caller=who.caller, size_gb=new.size,
        snapshot_id=new.snapshot_id, name=new.name or "", description=new.description or "",
        volume_type=new.volume_type, availability_zone=new.availability_zone,
        metadata=new.metadata or {}))
    body = volume(context(request).base_url, accepted.state, admin=who.caller.is_admin,
                  shown=False)
    return done(accepted.position, {"volume": body})


async def update_volume(request: Request) -> Response:
    """Cinder's ``PUT /volumes/{id}``: 200 with the volume renamed."""
    who, request_id, commands = await who_asks(request)
    change = decode(await request.body(), _UpdateBody, service="cinder").volume
    accepted = await run_in_threadpool(commands.volumes.update, UpdateVolume(
        request_id=request_id, caller=who.caller, volume_id=request.path_params["ident"],
        name=change.name, description=change.description))
    body = volume(context(request).base_url, accepted.state, admin=who.caller.is_admin,
                  shown=False)
    return done(accepted.position, {"volume": body}, status=200)


async def delete_volume(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    accepted = await run_in_threadpool(commands.volumes.delete, DeleteVolume(
        request_id=request_id, caller=who.caller, volume_id=request.path_params["ident"]))
    return done(accepted.position)


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/volumes", create_volume, methods=["POST"]),
    Route(f"{PREFIX}/volumes/{{ident}}", update_volume, methods=["PUT"]),
    Route(f"{PREFIX}/volumes/{{ident}}", delete_volume, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/volumes", lister(Volume, "volumes", detail=False), methods=["GET"]),
    Route(f"{PREFIX}/volumes/detail", lister(Volume, "volumes", detail=True), methods=["GET"]),
    Route(f"{PREFIX}/volumes/{{ident}}", shower(Volume, "volume"), methods=["GET"]),
]
