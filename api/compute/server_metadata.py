"""A server's metadata: show it or one item (queries, from the instance view),
replace, merge, set or delete an item (commands).

Each write is a change command that needs no host; its answer is the
metadata as it is after the change, from the write side (never from a view).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.bodies import MetaBody, MetadataBody
from api.compute.servers import accepted_answer, visible_server
from api.context import claims
from api.http import commands
from commands.messages import (
    Accepted,
    DeleteInstanceMetadataItem,
    InstanceChange,
    SetInstanceMetadata,
)
from domain.errors import InvalidInput, NotFound


async def _run(request: Request, make: type[InstanceChange], **fields: Any) -> Accepted:
    who = claims(request)
    cmd = make(request_id=await idempotency.request_id(request, who),
               caller=who.caller, instance_id=request.path_params["server_id"], **fields)
    return await run_in_threadpool(commands(request).instances.change, cmd)


async def show_metadata(request: Request) -> Response:
    found = await visible_server(request)
    return microversion.answer({"metadata": dict(found.metadata)}, request)


async def show_metadata_item(request: Request) -> Response:
    found = await visible_server(request)
    key = request.path_params["key"]
    if key not in found.metadata:
        raise NotFound("Metadata item was not found")
    return microversion.answer({"meta": {key: found.metadata[key]}}, request)


async def replace_metadata(request: Request) -> Response:
    body = decode(await request.body(), MetadataBody)
    accepted = await _run(request, SetInstanceMetadata, items=body.metadata, replace=True)
    assert accepted.state is not None
    return accepted_answer(request, accepted, 200, {"metadata": accepted.state.metadata})


async def merge_metadata(request: Request) -> Response:
    body = decode(await request.body(), MetadataBody)
    accepted = await _run(request, SetInstanceMetadata, items=body.metadata)
    assert accepted.state is not None
    return accepted_answer(request, accepted, 200, {"metadata": accepted.state.metadata})


async def set_item(request: Request) -> Response:
    body = decode(await request.body(), MetaBody)
    key = request.path_params["key"]
    if len(body.meta) > 1:
        raise InvalidInput("Request body contains too many items")
    if key not in body.meta:
        raise InvalidInput("Request body and URI mismatch")
    accepted = await _run(request, SetInstanceMetadata, items=body.meta)
    return accepted_answer(request, accepted, 200, {"meta": body.meta})


async def delete_item(request: Request) -> Response:
    accepted = await _run(request, DeleteInstanceMetadataItem, key=request.path_params["key"])
    return accepted_answer(request, accepted, 204, None)


command_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/metadata", replace_metadata, methods=["PUT"]),
    Route("/compute/v2.1/servers/{server_id}/metadata", merge_metadata, methods=["POST"]),
    Route("/compute/v2.1/servers/{server_id}/metadata/{key}", set_item, methods=["PUT"]),
    Route("/compute/v2.1/servers/{server_id}/metadata/{key}", delete_item,
          methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/metadata", show_metadata, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/metadata/{key}", show_metadata_item,
          methods=["GET"]),
]
