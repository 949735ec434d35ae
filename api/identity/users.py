"""Keystone's users: list, show and a user's projects (queries, from the
identity views; a non-admin sees only themselves), an admin's create and
delete, and a password change (a user may change their own)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims, context
from api.errors import IdentityForbidden
from api.fields import IdentityName, Password, Text255
from api.identity.projects import project_shown
from api.identity.requests import (
    identity,
    listing,
    pool,
    request_id,
    with_position,
)
from api.identity.shapes import user_body
from api.policy import require_identity_admin
from commands.application import Written
from domain.errors import InvalidInput, NotFound
from projections import identity_queries as q


class _NewUser(msgspec.Struct):
    name: IdentityName
    password: Password
    default_project_id: Text255 | None = None
    domain_id: Text255 = "default"
    enabled: bool = True
    email: Text255 | None = None
    description: Text255 | None = None


class _UserBody(msgspec.Struct):
    user: _NewUser


class _UserChange(msgspec.Struct):
    password: Password | None = None
    email: Text255 | None = None
    description: Text255 | None = None
    enabled: bool | None = None
    name: IdentityName | None = None


class _UserChangeBody(msgspec.Struct):
    user: _UserChange


class _PasswordChange(msgspec.Struct):
    password: Password
    original_password: Password


class _PasswordChangeBody(msgspec.Struct):
    user: _PasswordChange


def _user(request: Request, row: q.UserRow) -> dict[str, Any]:
    return user_body(context(request).base_url, row)


async def list_users(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    name = request.query_params.get("name")
    only = None if who.caller.is_admin else who.user_id
    enabled = request.query_params.get("enabled")
    rows = await q.list_users(pool(request), name=name, user_id=only,
                              domain_id=request.query_params.get("domain_id"),
                              enabled=None if enabled is None else enabled.lower() == "true")
    return listing(request, "users", [_user(request, r) for r in rows])


async def show_user(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    user_id = request.path_params["user_id"]
    if user_id != who.user_id:
        require_identity_admin(who, "get_user")
    rows = await q.list_users(pool(request), user_id=user_id)
    if not rows:
        raise NotFound(f"Could not find user: {user_id}.")
    return JSONResponse({"user": _user(request, rows[0])})


async def user_projects(request: Request) -> Response:
    """GET /users/{id}/projects and /auth/projects: where a user holds roles
    (asked with an unscoped token too, to pick one)."""
    who = claims(request, unscoped=True)
    user_id = request.path_params.get("user_id", who.user_id)
    if user_id != who.user_id:
        require_identity_admin(who, "list_user_projects")
    await caught_up(request)
    mine = {g.id for g in await q.list_groups(pool(request), user_id=user_id)}
    ids = sorted({a.project_id for a in await q.list_assignments(pool(request),
                                                                  user_id=user_id)}
                 | {a.scope for a in await q.list_group_assignments(pool(request))
                    if a.group_id in mine})
    rows = await q.list_projects(pool(request), ids=ids)
    return listing(request, "projects", [project_shown(request, r) for r in rows])


async def create_user(request: Request) -> Response:
    require_identity_admin(claims(request), "create_user")
    new = decode(await request.body(), _UserBody, service="keystone").user
    written = await run_in_threadpool(
        identity(request).create_user, request_id=await request_id(request), name=new.name,
        password=new.password, default_project=new.default_project_id, domain=new.domain_id,
        email=new.email, description=new.description, enabled=new.enabled)
    body = user_body(context(request).base_url, written.state)
    return with_position(JSONResponse({"user": body}, status_code=201), written)


async def update_user(request: Request) -> Response:
    """A new password (a user may change their own), email, description or
    enabled flag (an admin's). A user keeps the name it was created with."""
    who = claims(request)
    ref = request.path_params["user_id"]
    if ref != who.user_id:
        require_identity_admin(who, "update_user")
    change = decode(await request.body(), _UserChangeBody, service="keystone").user
    service = identity(request)
    rid = await request_id(request)
    written: Written[Any] = Written(state=None, position=None)
    if change.name is not None and change.name != (await run_in_threadpool(service.user,
                                                                            ref)).name:
        raise InvalidInput("Invalid input for field 'user.name': a user keeps the name it was "
                           "created with.")
    if (change.email, change.description, change.enabled) != (None, None, None):
        require_identity_admin(who, "update_user")
        written = await run_in_threadpool(
            service.update_user, request_id=f"{rid}:attributes", ref=ref, email=change.email,
            description=change.description, enabled=change.enabled)
    if change.password is not None:
        written = await run_in_threadpool(service.change_password,
                                          request_id=f"{rid}:password", ref=ref,
                                          password=change.password)
    user = await run_in_threadpool(service.user, ref)
    return with_position(JSONResponse({"user": user_body(context(request).base_url, user)}),
                         written)


async def change_password(request: Request) -> Response:
    """POST /users/{id}/password: a user's change of their own password, given
    the original (Keystone's ``identity:change_password``: the user's own, or
    an admin's)."""
    who = claims(request, unscoped=True)
    ref = request.path_params["user_id"]
    if ref != who.user_id and not who.caller.is_admin:
        raise IdentityForbidden("You are not authorized to perform the requested action: "
                                "identity:change_password.")
    change = decode(await request.body(), _PasswordChangeBody, service="keystone").user
    written = await run_in_threadpool(
        identity(request).change_own_password, request_id=await request_id(request), ref=ref,
        original=change.original_password, password=change.password)
    return with_position(Response(status_code=204), written)


async def delete_user(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_user")
    written = await run_in_threadpool(identity(request).delete_user,
                                      request_id=await request_id(request),
                                      ref=request.path_params["user_id"])
    return with_position(Response(status_code=204), written)


P = "/identity/v3"
command_routes: list[BaseRoute] = [
    Route(f"{P}/users", create_user, methods=["POST"]),
    Route(f"{P}/users/{{user_id}}", update_user, methods=["PATCH"]),
    Route(f"{P}/users/{{user_id}}", delete_user, methods=["DELETE"]),
    Route(f"{P}/users/{{user_id}}/password", change_password, methods=["POST"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/users", list_users, methods=["GET"]),
    Route(f"{P}/users/{{user_id}}", show_user, methods=["GET"]),
    Route(f"{P}/users/{{user_id}}/projects", user_projects, methods=["GET"]),
]
