"""A server's tags (compute 2.26): list and check them (queries, from the
instance view); replace, add or delete them (commands).

Below 2.26 these paths do not exist, as in Nova (404). Each write is a change
command that needs no host; its answer comes from the write side.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.bodies import TagsBody
from api.compute.servers import accepted_answer, visible_server
from api.context import claims
from api.http import commands
from commands.messages import (
    Accepted,
    AddInstanceTag,
    DeleteInstanceTag,
    InstanceChange,
    SetInstanceTags,
)
from domain.errors import NotFound

MIN_MINOR = 26


def _served(request: Request) -> None:
    if not microversion.at_least(request, MIN_MINOR):
        raise NotFound("The resource could not be found.")


async def _run(request: Request, make: type[InstanceChange], **fields: Any) -> Accepted:
    _served(request)
    who = claims(request)
    cmd = make(request_id=await idempotency.request_id(request, who),
               caller=who.caller, instance_id=request.path_params["server_id"], **fields)
    return await run_in_threadpool(commands(request).instances.change, cmd)


async def list_tags(request: Request) -> Response:
    _served(request)
    found = await visible_server(request)
    return microversion.answer({"tags": list(found.tags)}, request)


async def check_tag(request: Request) -> Response:
    _served(request)
    found = await visible_server(request)
    tag = request.path_params["tag"]
    if tag not in found.tags:
        raise NotFound(f"Server {found.id} has no tag '{tag}'")
    return Response(status_code=204, headers=microversion.headers(microversion.requested(request)))


async def replace_tags(request: Request) -> Response:
    _served(request)
    body = decode(await request.body(), TagsBody)
    accepted = await _run(request, SetInstanceTags, tags=body.tags)
    assert accepted.state is not None
    return accepted_answer(request, accepted, 200, {"tags": list(accepted.state.tags)})


async def delete_tags(request: Request) -> Response:
    accepted = await _run(request, SetInstanceTags, tags=[])
    return accepted_answer(request, accepted, 204, None)


async def add_tag(request: Request) -> Response:
    """201 with the tag's location when it is new, 204 when the server had it."""
    tag = request.path_params["tag"]
    accepted = await _run(request, AddInstanceTag, tag=tag)
    if accepted.position is None:
        return accepted_answer(request, accepted, 204, None)
    location = str(request.url.replace(query=""))
    return accepted_answer(request, accepted, 201, None, {"location": location})


async def delete_tag(request: Request) -> Response:
    accepted = await _run(request, DeleteInstanceTag, tag=request.path_params["tag"])
    return accepted_answer(request, accepted, 204, None)


_TAGS = "/compute/v2.1/servers/{server_id}/tags"
command_routes: list[BaseRoute] = [
    Route(_TAGS, replace_tags, methods=["PUT"]),
    Route(_TAGS, delete_tags, methods=["DELETE"]),
    Route(_TAGS + "/{tag}", add_tag, methods=["PUT"]),
    Route(_TAGS + "/{tag}", delete_tag, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(_TAGS, list_tags, methods=["GET"]),
    Route(_TAGS + "/{tag}", check_tag, methods=["GET"]),
]
