"""Cinder v3 volume metadata: the user's key-value pairs on a volume. Show
(a query, from the volumes view) and set, merge, replace one key or remove
one (commands, each a VolumeMetadataSet holding the whole metadata after it).

``POST .../metadata`` merges, ``PUT .../metadata`` replaces all; the one-key
routes take ``{"meta": {key: value}}`` naming the key of their URL.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up, positioned
from api.context import claims
from api.fields import Metadata
from api.http import uuid_or_404
from api.volume.requests import PREFIX, own_project, who_asks
from commands.volumes import ChangeVolumeMetadata
from domain.errors import InvalidInput, NotFound
from domain.volume import Volume
from projections import volumes_queries as q


class _MetadataBody(msgspec.Struct):
    metadata: Metadata


class _MetaBody(msgspec.Struct):
    meta: Metadata


async def _volume(request: Request) -> Volume:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    ident = uuid_or_404(request.path_params["ident"], "Volume")
    found = await q.one(await caught_up(request), Volume, ident,
                        None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Volume {ident} could not be found.")
    return found


async def show_metadata(request: Request) -> Response:
    return JSONResponse({"metadata": (await _volume(request)).metadata})


async def show_item(request: Request) -> Response:
    key = request.path_params["key"]
    found = (await _volume(request)).metadata
    if key not in found:
        raise NotFound("Metadata item was not found.")
    return JSONResponse({"meta": {key: found[key]}})


async def _change(request: Request, status: int = 200, **change: Any) -> tuple[Volume, Any]:
    who, request_id, commands = await who_asks(request)
    accepted = await run_in_threadpool(commands.volumes.change_metadata, ChangeVolumeMetadata(
        request_id=request_id, caller=who.caller, volume_id=request.path_params["ident"],
        **change))
    return accepted.state, positioned(accepted.position)


async def merge_metadata(request: Request) -> Response:
    given = decode(await request.body(), _MetadataBody, service="cinder").metadata
    state, headers = await _change(request, given=given)
    return JSONResponse({"metadata": state.metadata}, headers=headers)


async def replace_metadata(request: Request) -> Response:
    given = decode(await request.body(), _MetadataBody, service="cinder").metadata
    state, headers = await _change(request, given=given, replace=True)
    return JSONResponse({"metadata": state.metadata}, headers=headers)


async def set_item(request: Request) -> Response:
    key = request.path_params["key"]
    meta = decode(await request.body(), _MetaBody, service="cinder").meta
    if key not in meta:
        raise InvalidInput("Request body and URI mismatch")
    if len(meta) > 1:
        raise InvalidInput("Request body contains too many items")
    _, headers = await _change(request, given=meta)
    return JSONResponse({"meta": meta}, headers=headers)


async def delete_item(request: Request) -> Response:
    _, headers = await _change(request, remove=request.path_params["key"])
    return Response(status_code=200, headers=headers)


M = f"{PREFIX}/volumes/{{ident}}/metadata"
command_routes: list[BaseRoute] = [
    Route(M, merge_metadata, methods=["POST"]),
    Route(M, replace_metadata, methods=["PUT"]),
    Route(f"{M}/{{key}}", set_item, methods=["PUT"]),
    Route(f"{M}/{{key}}", delete_item, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(M, show_metadata, methods=["GET"]),
    Route(f"{M}/{{key}}", show_item, methods=["GET"]),
]
