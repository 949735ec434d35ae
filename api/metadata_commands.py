"""Server metadata command routes (PUT/POST /metadata, PUT/DELETE /metadata/{key}).

Each is a change command that needs no host; the answer is the metadata as
it is after the change, from the write side (never from a view).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import idempotency, microversion
from api.bodies import decode
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.server_bodies import MetaBody, MetadataBody
from commands.messages import (
    Accepted,
    DeleteInstanceMetadataItem,
    InstanceChange,
    SetInstanceMetadata,
)
from domain.errors import InvalidInput


async def _run(request: Request, make: type[InstanceChange], **fields: Any) -> Accepted:
    who = claims(request)
    cmd = make(request_id=await idempotency.request_id(request, who),
               caller=who.caller, instance_id=request.path_params["server_id"], **fields)
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return await run_in_threadpool(commands.instances.change, cmd)


def _answer(request: Request, accepted: Accepted, body: dict[str, Any] | None,
            status: int = 200) -> Response:
    headers = {"x-openstack-request-id": accepted.request_id,
               **microversion.headers(microversion.requested(request))}
    if accepted.position is not None:
        headers[POSITION_HEADER] = str(accepted.position)
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def replace_metadata(request: Request) -> Response:
    body = decode(await request.body(), MetadataBody)
    accepted = await _run(request, SetInstanceMetadata, items=body.metadata, replace=True)
    assert accepted.state is not None
    return _answer(request, accepted, {"metadata": accepted.state.metadata})


async def merge_metadata(request: Request) -> Response:
    body = decode(await request.body(), MetadataBody)
    accepted = await _run(request, SetInstanceMetadata, items=body.metadata)
    assert accepted.state is not None
    return _answer(request, accepted, {"metadata": accepted.state.metadata})


async def set_item(request: Request) -> Response:
    body = decode(await request.body(), MetaBody)
    key = request.path_params["key"]
    if len(body.meta) > 1:
        raise InvalidInput("Request body contains too many items")
    if key not in body.meta:
        raise InvalidInput("Request body and URI mismatch")
    accepted = await _run(request, SetInstanceMetadata, items=body.meta)
    return _answer(request, accepted, {"meta": body.meta})


async def delete_item(request: Request) -> Response:
    accepted = await _run(request, DeleteInstanceMetadataItem, key=request.path_params["key"])
    return _answer(request, accepted, None, 204)


routes = [
    Route("/compute/v2.1/servers/{server_id}/metadata", replace_metadata, methods=["PUT"]),
    Route("/compute/v2.1/servers/{server_id}/metadata", merge_metadata, methods=["POST"]),
    Route("/compute/v2.1/servers/{server_id}/metadata/{key}", set_item, methods=["PUT"]),
    Route("/compute/v2.1/servers/{server_id}/metadata/{key}", delete_item,
          methods=["DELETE"]),
]
