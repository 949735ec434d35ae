"""``POST /v2/images/{id}/actions/deactivate|reactivate`` (an admin's; 204)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.consistency import positioned
from api.context import claims
from api.http import commands
from domain.errors import NotFound


async def image_action(request: Request) -> Response:
    who = claims(request)
    action = request.path_params["action"]
    changes = commands(request).image_changes
    command = {"deactivate": changes.deactivate, "reactivate": changes.reactivate}.get(action)
    if command is None:
        raise NotFound(f"No image action {action}: the actions are deactivate and reactivate.")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(command, request.path_params["image_id"], who.caller,
                                      request_id)
    return Response(status_code=204, headers={"x-openstack-request-id": request_id,
                                              **positioned(written.position)})


command_routes: list[BaseRoute] = [
    Route("/image/v2/images/{image_id}/actions/{action}", image_action, methods=["POST"]),
]
query_routes: list[BaseRoute] = []
