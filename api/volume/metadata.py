"""Cinder v3 metadata of volumes and snapshots: the user's key-value pairs.
Show (a query, from the view) and set, merge, replace one key or remove one
(commands, each a VolumeMetadataSet or SnapshotMetadataSet holding the whole
metadata after it).

``POST .../metadata`` merges, ``PUT .../metadata`` replaces all; the one-key
routes take ``{"meta": {key: value}}`` naming the key of their URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from commands.snapshots import ChangeSnapshotMetadata
from commands.volumes import ChangeVolumeMetadata
from domain.errors import InvalidInput, NotFound
from domain.snapshot import Snapshot
from domain.volume import Volume
from projections import volumes_queries as q

Kind = type[Volume] | type[Snapshot]
Handler = Callable[[Request], Awaitable[Response]]


class _MetadataBody(msgspec.Struct):
    metadata: Metadata


class _MetaBody(msgspec.Struct):
    meta: Metadata


async def _metadata(request: Request, kind: Kind) -> dict[str, str]:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    ident = uuid_or_404(request.path_params["ident"], kind.__name__)
    found = await q.one(await caught_up(request), kind, ident,
                        None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"{kind.__name__} {ident} could not be found.")
    return found.metadata


async def _change(request: Request, kind: Kind, **change: Any) -> tuple[dict[str, str], Any]:
    who, request_id, commands = await who_asks(request)
    ident = request.path_params["ident"]
    if kind is Volume:
        accepted: Any = await run_in_threadpool(
            commands.volumes.change_metadata, ChangeVolumeMetadata(
                request_id=request_id, caller=who.caller, volume_id=ident, **change))
    else:
        accepted = await run_in_threadpool(
            commands.snapshots.change_metadata, ChangeSnapshotMetadata(
                request_id=request_id, caller=who.caller, snapshot_id=ident, **change))
    return accepted.state.metadata, positioned(accepted.position)


def _routes(kind: Kind, collection: str) -> tuple[list[BaseRoute], list[BaseRoute]]:
    """The command and query routes of ``{collection}/{id}/metadata``."""

    async def show(request: Request) -> Response:
        return JSONResponse({"metadata": await _metadata(request, kind)})

    async def show_item(request: Request) -> Response:
        key = request.path_params["key"]
        found = await _metadata(request, kind)
        if key not in found:
            raise NotFound("Metadata item was not found.")
        return JSONResponse({"meta": {key: found[key]}})

    async def merge(request: Request) -> Response:
        given = decode(await request.body(), _MetadataBody, service="cinder").metadata
        after, headers = await _change(request, kind, given=given)
        return JSONResponse({"metadata": after}, headers=headers)

    async def replace(request: Request) -> Response:
        given = decode(await request.body(), _MetadataBody, service="cinder").metadata
        after, headers = await _change(request, kind, given=given, replace=True)
        return JSONResponse({"metadata": after}, headers=headers)

    async def set_item(request: Request) -> Response:
        key = request.path_params["key"]
        meta = decode(await request.body(), _MetaBody, service="cinder").meta
        if key not in meta:
            raise InvalidInput("Request body and URI mismatch")
        if len(meta) > 1:
            raise InvalidInput("Request body contains too many items")
        _, headers = await _change(request, kind, given=meta)
        return JSONResponse({"meta": meta}, headers=headers)

    async def delete_item(request: Request) -> Response:
        _, headers = await _change(request, kind, remove=request.path_params["key"])
        return Response(status_code=200, headers=headers)

    base = f"{PREFIX}/{collection}/{{ident}}/metadata"
    return ([Route(base, merge, methods=["POST"]), Route(base, replace, methods=["PUT"]),
             Route(f"{base}/{{key}}", set_item, methods=["PUT"]),
             Route(f"{base}/{{key}}", delete_item, methods=["DELETE"])],
            [Route(base, show, methods=["GET"]),
             Route(f"{base}/{{key}}", show_item, methods=["GET"])])


_volumes, _snapshots = _routes(Volume, "volumes"), _routes(Snapshot, "snapshots")
command_routes: list[BaseRoute] = [*_volumes[0], *_snapshots[0]]
query_routes: list[BaseRoute] = [*_volumes[1], *_snapshots[1]]
