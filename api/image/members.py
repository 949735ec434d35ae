"""``/v2/images/{id}/members[/{member}]``: who a shared image is shared with.

The owner adds (``POST {"member": project}``) and removes members; the
member answers (``PUT {"status": "accepted"|"rejected"|"pending"}``); lists
and shows come from the image_members view, the owner seeing every member
and a member only its own entry.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.bodies import decode
from api.consistency import caught_up, positioned
from api.context import claims
from api.fields import Text255
from api.http import commands, iso, uuid_or_none
from domain.errors import Forbidden, NotFound
from domain.image import ImageMember
from projections import image_queries
from projections.image_queries import MemberView


class NewMember(msgspec.Struct, forbid_unknown_fields=True):
    member: Text255


class MemberStatus(msgspec.Struct, forbid_unknown_fields=True):
    status: Text255


def member_body(image_id: str, member_id: str, member: ImageMember | MemberView) -> dict[str, Any]:
    return {"image_id": image_id, "member_id": member_id, "status": member.status,
            "created_at": iso(member.created_at), "updated_at": iso(member.updated_at),
            "schema": "/v2/schemas/member"}


def _headers(request_id: str, position: int | None) -> dict[str, str]:
    return {"x-openstack-request-id": request_id, **positioned(position)}


async def add_member(request: Request) -> Response:
    who = claims(request)
    body = decode(await request.body(), NewMember, service="glance", schema="member")
    image_id = request.path_params["image_id"]
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).image_changes.add_member, image_id,
                                      body.member, who.caller, request_id)
    member = written.state.members[body.member]
    return JSONResponse(member_body(written.state.id, body.member, member),
                        headers=_headers(request_id, written.position))


async def update_member(request: Request) -> Response:
    who = claims(request)
    body = decode(await request.body(), MemberStatus, service="glance", schema="member")
    member_id = request.path_params["member_id"]
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).image_changes.change_member,
                                      request.path_params["image_id"], member_id, body.status,
                                      who.caller, request_id)
    return JSONResponse(member_body(written.state.id, member_id,
                                    written.state.members[member_id]),
                        headers=_headers(request_id, written.position))


async def remove_member(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).image_changes.remove_member,
                                      request.path_params["image_id"],
                                      request.path_params["member_id"], who.caller, request_id)
    return Response(status_code=204, headers=_headers(request_id, written.position))


async def _members(request: Request, member_id: str | None = None) -> list[MemberView]:
    """The members the caller may see of an image it may see."""
    who = claims(request)
    raw = request.path_params["image_id"]
    image_id = uuid_or_none(raw)
    pool = await caught_up(request)
    image = None if image_id is None else await image_queries.get_image(
        pool, image_id, who.project_id, is_admin=who.caller.is_admin)
    if image is None or image_id is None:
        raise NotFound(f"No image found with ID {raw}")
    if image.visibility != "shared":
        raise Forbidden(f"Image {raw} is not shared: only shared images have members.")
    found = await image_queries.list_members(pool, image_id, member_id)
    if not (who.caller.is_admin or image.owner == who.project_id):
        found = [m for m in found if m.member_id == who.project_id]
    return found


async def list_members(request: Request) -> Response:
    found = await _members(request)
    return JSONResponse({"members": [member_body(str(m.image_id), m.member_id, m)
                                     for m in found], "schema": "/v2/schemas/members"})


async def show_member(request: Request) -> Response:
    member_id = request.path_params["member_id"]
    found = await _members(request, member_id)
    if not found:
        raise NotFound(f"{member_id} is not a member of image "
                       f"{request.path_params['image_id']}")
    m = found[0]
    return JSONResponse(member_body(str(m.image_id), m.member_id, m))


M = "/image/v2/images/{image_id}/members"
command_routes: list[BaseRoute] = [
    Route(M, add_member, methods=["POST"]),
    Route(M + "/{member_id}", update_member, methods=["PUT"]),
    Route(M + "/{member_id}", remove_member, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(M, list_members, methods=["GET"]),
    Route(M + "/{member_id}", show_member, methods=["GET"]),
]
