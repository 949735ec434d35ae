"""``PUT`` and ``DELETE /v2/images/{id}/tags/{tag}``: one tag at a time
(204 either way; a tag put twice is kept once, as Glance does)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.consistency import positioned
from api.context import claims
from api.http import commands


async def _tag(request: Request, add: bool) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    changes = commands(request).image_changes
    command = changes.add_tag if add else changes.remove_tag
    written = await run_in_threadpool(command, request.path_params["image_id"],
                                      request.path_params["tag"], who.caller, request_id)
    return Response(status_code=204, headers={"x-openstack-request-id": request_id,
                                              **positioned(written.position)})


async def add_tag(request: Request) -> Response:
    return await _tag(request, add=True)


async def remove_tag(request: Request) -> Response:
    return await _tag(request, add=False)


command_routes: list[BaseRoute] = [
    Route("/image/v2/images/{image_id}/tags/{tag}", add_tag, methods=["PUT"]),
    Route("/image/v2/images/{image_id}/tags/{tag}", remove_tag, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = []
