"""Nova's os-server-groups: a project's groups of servers under a placement
policy (``affinity``, ``anti-affinity``; the ``soft-`` ones from 2.15), as
2.1-2.63 shape them (a ``policies`` list of one). Create and delete are
commands (commands/server_groups.py); lists and shows come from the server
groups view, members being the group's servers not deleted. A boot with the
scheduler hint ``group`` joins the group and is placed by its policy.
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
from api.fields import Name, Text255
from api.http import commands, uuid_or_none
from domain import server_group as model
from domain.errors import InvalidInput, NotFound
from projections.server_groups_queries import (
    ServerGroupView,
    get_server_group,
    list_server_groups,
)

PAGE_MAX = 1000


class NewGroup(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    policies: list[Text255]


class CreateBody(msgspec.Struct):
    server_group: NewGroup


def _body(request: Request, group: model.ServerGroup | ServerGroupView,
          members: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(group.id), "name": group.name,
                            "policies": [group.policy], "members": members, "metadata": {}}
    if microversion.at_least(request, 13):
        body.update(project_id=group.project_id, user_id=group.user_id)
    return body


async def list_groups(request: Request) -> Response:
    who = claims(request)
    every = who.caller.is_admin and request.query_params.get(
        "all_projects", "").lower() in ("1", "true", "yes")
    raw_offset = request.query_params.get("offset", "0")
    if not raw_offset.isdigit():
        raise InvalidInput(f"Invalid input for query parameters offset. Value: {raw_offset}.")
    found = await list_server_groups(
        await caught_up(request), None if every else who.project_id,
        limit=query_params.limit(request, default=PAGE_MAX, most=PAGE_MAX),
        offset=int(raw_offset))
    return microversion.answer(
        {"server_groups": [_body(request, g, g.members) for g in found]}, request)


async def show_group(request: Request) -> Response:
    who = claims(request)
    raw = request.path_params["group_id"]
    group_id = uuid_or_none(raw)
    found = None if group_id is None else await get_server_group(
        await caught_up(request), group_id, None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Instance group {raw} could not be found.")
    return microversion.answer({"server_group": _body(request, found, found.members)},
                               request)


async def create_group(request: Request) -> Response:
    who = claims(request)
    new = decode(await request.body(), CreateBody).server_group
    if len(new.policies) != 1:
        raise InvalidInput("Invalid input for field/attribute policies. Exactly one policy "
                           "is expected")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).server_groups.create, new.name, new.policies[0], who.caller,
        request_id, soft_allowed=microversion.at_least(request, 15))
    return JSONResponse({"server_group": _body(request, written.state, [])},
                        headers=written_headers(request, request_id, written.position))


async def delete_group(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).server_groups.delete,
                                      request.path_params["group_id"], who.caller, request_id)
    return Response(status_code=204,
                    headers=written_headers(request, request_id, written.position))


C = "/compute/v2.1/os-server-groups"
command_routes: list[BaseRoute] = [
    Route(C, create_group, methods=["POST"]),
    Route(f"{C}/{{group_id}}", delete_group, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(C, list_groups, methods=["GET"]),
    Route(f"{C}/{{group_id}}", show_group, methods=["GET"]),
]
