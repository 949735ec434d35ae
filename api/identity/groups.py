"""Keystone's groups: list, show, a group's users and a user's groups
(queries, from the identity views), an admin's create, update and delete
and adding and removing a member (commands). A group's grants are routed
with the users' in api/identity/roles.py."""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims, context
from api.fields import IdentityName, Text255
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.identity.shapes import group_body, user_body
from api.policy import require_identity_admin
from domain.errors import NotFound
from projections import identity_queries as q


class _NewGroup(msgspec.Struct):
    name: IdentityName
    domain_id: Text255 = "default"
    description: Text255 = ""


class _GroupBody(msgspec.Struct):
    group: _NewGroup


class _GroupChange(msgspec.Struct):
    name: IdentityName | None = None
    description: Text255 | None = None


class _GroupChangeBody(msgspec.Struct):
    group: _GroupChange


async def list_groups(request: Request) -> Response:
    require_identity_admin(claims(request), "list_groups")
    await caught_up(request)
    params = request.query_params
    rows = await q.list_groups(pool(request), name=params.get("name"),
                               domain_id=params.get("domain_id"))
    base = context(request).base_url
    return listing(request, "groups", [group_body(base, r) for r in rows])


async def show_group(request: Request) -> Response:
    require_identity_admin(claims(request), "get_group")
    await caught_up(request)
    ref = request.path_params["group_id"]
    rows = await q.list_groups(pool(request), group_id=ref)
    if not rows:
        raise NotFound(f"Could not find group: {ref}.")
    return JSONResponse({"group": group_body(context(request).base_url, rows[0])})


async def group_users(request: Request) -> Response:
    require_identity_admin(claims(request), "list_users_in_group")
    await caught_up(request)
    ref = request.path_params["group_id"]
    if not await q.list_groups(pool(request), group_id=ref):
        raise NotFound(f"Could not find group: {ref}.")
    members = set(await q.group_member_ids(pool(request), ref))
    base = context(request).base_url
    return listing(request, "users", [user_body(base, u) for u in await q.list_users(
        pool(request)) if u.id in members])


async def user_groups(request: Request) -> Response:
    """GET /users/{u}/groups: an admin's, or the user's own."""
    who = claims(request)
    user_id = request.path_params["user_id"]
    if user_id != who.user_id:
        require_identity_admin(who, "list_groups_for_user")
    await caught_up(request)
    if not await q.list_users(pool(request), user_id=user_id):
        raise NotFound(f"Could not find user: {user_id}.")
    base = context(request).base_url
    return listing(request, "groups", [group_body(base, g) for g in await q.list_groups(
        pool(request), user_id=user_id)])


async def check_member(request: Request) -> Response:
    require_identity_admin(claims(request), "check_user_in_group")
    p = request.path_params
    if not await run_in_threadpool(identity(request).groups.has_user, p["group_id"],
                                   p["user_id"]):
        raise NotFound(f"User {p['user_id']} is not a member of group {p['group_id']}.")
    return Response(status_code=204)


async def create_group(request: Request) -> Response:
    require_identity_admin(claims(request), "create_group")
    new = decode(await request.body(), _GroupBody, service="keystone").group
    written = await run_in_threadpool(
        identity(request).groups.create, request_id=await request_id(request), name=new.name,
        domain=new.domain_id, description=new.description)
    body = group_body(context(request).base_url, written.state)
    return with_position(JSONResponse({"group": body}, status_code=201), written)


async def update_group(request: Request) -> Response:
    require_identity_admin(claims(request), "update_group")
    change = decode(await request.body(), _GroupChangeBody, service="keystone").group
    written = await run_in_threadpool(
        identity(request).groups.update, request_id=await request_id(request),
        ref=request.path_params["group_id"], name=change.name, description=change.description)
    body = group_body(context(request).base_url, written.state)
    return with_position(JSONResponse({"group": body}), written)


async def delete_group(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_group")
    written = await run_in_threadpool(identity(request).groups.delete,
                                      request_id=await request_id(request),
                                      ref=request.path_params["group_id"])
    return with_position(Response(status_code=204), written)


async def add_member(request: Request) -> Response:
    require_identity_admin(claims(request), "add_user_to_group")
    p = request.path_params
    written = await run_in_threadpool(
        identity(request).groups.add_user, request_id=await request_id(request),
        ref=p["group_id"], user_ref=p["user_id"])
    return with_position(Response(status_code=204), written)


async def remove_member(request: Request) -> Response:
    require_identity_admin(claims(request), "remove_user_from_group")
    p = request.path_params
    written = await run_in_threadpool(
        identity(request).groups.remove_user, request_id=await request_id(request),
        ref=p["group_id"], user_ref=p["user_id"])
    return with_position(Response(status_code=204), written)


P = "/identity/v3"
MEMBER = f"{P}/groups/{{group_id}}/users/{{user_id}}"
command_routes: list[BaseRoute] = [
    Route(f"{P}/groups", create_group, methods=["POST"]),
    Route(f"{P}/groups/{{group_id}}", update_group, methods=["PATCH"]),
    Route(f"{P}/groups/{{group_id}}", delete_group, methods=["DELETE"]),
    Route(MEMBER, add_member, methods=["PUT"]),
    Route(MEMBER, remove_member, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/groups", list_groups, methods=["GET"]),
    Route(f"{P}/groups/{{group_id}}", show_group, methods=["GET"]),
    Route(f"{P}/groups/{{group_id}}/users", group_users, methods=["GET"]),
    Route(MEMBER, check_member, methods=["GET", "HEAD"]),
    Route(f"{P}/users/{{user_id}}/groups", user_groups, methods=["GET"]),
]
