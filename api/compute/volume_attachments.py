"""Nova's os-volume_attachments: a server's attached volumes (queries, from the
views), attach and detach (commands, the volume and the server's disks
committed together)."""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.bodies import decode
from api.compute.shapes import volume_attachment
from api.consistency import caught_up, positioned
from api.context import claims
from api.fields import Text255
from api.http import commands, uuid_or_404
from commands.volumes import AttachVolume, DetachVolume
from domain.errors import NotFound
from domain.volume import Volume
from projections import volumes_queries as q
from projections.queries import get_instance


class _Attachment(msgspec.Struct, forbid_unknown_fields=False):
    volumeId: Text255
    device: Text255 | None = None


class _AttachBody(msgspec.Struct):
    volumeAttachment: _Attachment


async def _attachments(request: Request) -> list[Volume]:
    """The server's attachments, if the caller may see the server (Nova's 404)."""
    who = claims(request)
    pool = await caught_up(request)
    server_id = uuid_or_404(request.path_params["server_id"], "Instance")
    if await get_instance(pool, server_id,
                          None if who.caller.is_admin else who.project_id) is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return await q.attached_to(pool, server_id)


async def list_attachments(request: Request) -> Response:
    found = await _attachments(request)
    return JSONResponse({"volumeAttachments": [volume_attachment(v) for v in found]})


async def show_attachment(request: Request) -> Response:
    wanted = request.path_params["volume_id"]
    found = next((v for v in await _attachments(request) if v.id == wanted), None)
    if found is None:
        raise NotFound(f"volume_id not found: {wanted}")
    return JSONResponse({"volumeAttachment": volume_attachment(found)})


async def attach_volume(request: Request) -> Response:
    """Nova's ``POST /servers/{id}/os-volume_attachments``: 200 with the device."""
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    asked = decode(await request.body(), _AttachBody).volumeAttachment
    accepted = await run_in_threadpool(commands(request).volumes.attach, AttachVolume(
        request_id=request_id, caller=who.caller, server_id=request.path_params["server_id"],
        volume_id=asked.volumeId, device=asked.device))
    return JSONResponse({"volumeAttachment": volume_attachment(accepted.state)},
                        headers=positioned(accepted.position))


async def detach_volume(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    accepted = await run_in_threadpool(commands(request).volumes.detach, DetachVolume(
        request_id=request_id, caller=who.caller, server_id=request.path_params["server_id"],
        volume_id=request.path_params["volume_id"]))
    return Response(status_code=202, headers=positioned(accepted.position))


S = "/compute/v2.1/servers/{server_id}/os-volume_attachments"
command_routes: list[BaseRoute] = [
    Route(S, attach_volume, methods=["POST"]),
    Route(f"{S}/{{volume_id}}", detach_volume, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(S, list_attachments, methods=["GET"]),
    Route(f"{S}/{{volume_id}}", show_attachment, methods=["GET"]),
]
