"""Nova's os-volumes: compute 2.1's proxy to the block storage service's
volumes (deprecated in Nova from 2.36, still served below it). Lists and
shows read the volumes view; create and delete are the same commands as
Cinder's API (commands/volumes.py), so a volume made here is the one
/volume/v3 shows. Bodies are in Nova's camelCase; ``limit`` and ``offset``
page a list as Nova's proxy does.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion, query_params
from api.bodies import decode
from api.compute.flavors import written_headers
from api.consistency import caught_up
from api.context import claims
from api.fields import Integer, LooseName, Metadata, Text255
from api.http import commands, iso, uuid_or_404
from commands.volumes import CreateVolume, DeleteVolume
from domain.errors import InvalidInput, NotFound
from domain.volume import Volume
from projections import volumes_queries as q

MAX_LIMIT = 1000


class NewVolume(msgspec.Struct, forbid_unknown_fields=True):
    size: Integer
    display_name: LooseName | None = None
    display_description: Text255 | None = None
    availability_zone: Text255 | None = None
    volume_type: Text255 | None = None
    snapshot_id: Text255 | None = None
    metadata: Metadata | None = None  # accepted, not kept (as the volume API does)


class CreateBody(msgspec.Struct):
    volume: NewVolume


def shape(v: Volume) -> dict[str, Any]:
    attached = ({"id": v.id, "volumeId": v.id, "serverId": v.server_id,
                 "device": v.device or ""} if v.server_id else {})
    return {
        "id": v.id, "status": str(v.status), "size": v.size_gb,
        "availabilityZone": v.availability_zone, "createdAt": iso(v.created_at),
        "displayName": v.name, "displayDescription": v.description,
        "volumeType": v.volume_type, "snapshotId": v.snapshot_id, "metadata": {},
        "attachments": [attached],  # Nova's proxy: one empty object when not attached
    }


async def _list(request: Request) -> Response:
    who = claims(request)
    limit = query_params.limit(request, default=MAX_LIMIT, most=MAX_LIMIT)
    offset = query_params.offset(request)
    found = await q.listed(await caught_up(request), Volume, limit=offset + limit,
                           project_id=who.project_id)
    return microversion.answer({"volumes": [shape(v) for v in found[offset:]]}, request)


async def show_volume(request: Request) -> Response:
    who = claims(request)
    ident = uuid_or_404(request.path_params["volume_id"], "Volume")
    found = await q.one(await caught_up(request), Volume, ident,
                        None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Volume {ident} could not be found.")
    return microversion.answer({"volume": shape(found)}, request)


async def create_volume(request: Request) -> Response:
    who = claims(request)
    new = decode(await request.body(), CreateBody).volume
    if new.size < 1:
        raise InvalidInput(f"Invalid input for field/attribute size. Value: {new.size}. "
                           f"{new.size} is less than the minimum of 1")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).volumes.create, CreateVolume(
        request_id=request_id, caller=who.caller, size_gb=new.size,
        snapshot_id=new.snapshot_id, name=new.display_name or "",
        description=new.display_description or "", volume_type=new.volume_type,
        availability_zone=new.availability_zone))
    return JSONResponse({"volume": shape(written.state)},
                        headers=written_headers(request, request_id, written.position))


async def delete_volume(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).volumes.delete, DeleteVolume(
        request_id=request_id, caller=who.caller, volume_id=request.path_params["volume_id"]))
    return Response(status_code=202,
                    headers=written_headers(request, request_id, written.position))


async def no_volume(request: Request) -> Response:
    """``os-volumes/`` names no volume (rather than redirecting to the list)."""
    raise NotFound("The volume could not be found.")


C = "/compute/v2.1/os-volumes"
command_routes: list[BaseRoute] = [
    Route(C, create_volume, methods=["POST"]),
    Route(f"{C}/", no_volume, methods=["DELETE"]),
    Route(f"{C}/{{volume_id}}", delete_volume, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(C, _list, methods=["GET"]),
    Route(f"{C}/detail", _list, methods=["GET"]),
    Route(f"{C}/", no_volume, methods=["GET"]),
    Route(f"{C}/{{volume_id}}", show_volume, methods=["GET"]),
]
