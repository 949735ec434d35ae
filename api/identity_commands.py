"""Keystone admin writes: create and delete projects and users, grant and
revoke roles, and give up a token (logout). Admin only, except that anyone
may give up their own token."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import idempotency
from api.bodies import decode
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.errors import IdentityForbidden
from api.fields import IdentityName, Password, Text255
from api.identity import subject
from api.identity_shapes import project_body, user_body
from api.policy import require_identity_admin
from commands.application import Written
from commands.identity import IdentityCommands
from domain.errors import InvalidInput


class _NewProject(msgspec.Struct):
    name: IdentityName
    description: Text255 = ""
    domain_id: Text255 = "default"
    enabled: bool = True


class _ProjectBody(msgspec.Struct):
    project: _NewProject


class _NewUser(msgspec.Struct):
    name: IdentityName
    password: Password
    default_project_id: Text255 | None = None
    domain_id: Text255 = "default"
    enabled: bool = True


class _UserBody(msgspec.Struct):
    user: _NewUser


class _UserChange(msgspec.Struct):
    password: Password | None = None


class _UserChangeBody(msgspec.Struct):
    user: _UserChange


def _identity(request: Request) -> IdentityCommands:
    return context(request).identity


async def _request_id(request: Request) -> str:
    return await idempotency.request_id(request, claims(request))


def _positioned(response: Response, written: Written[Any]) -> Response:
    if written.position is not None:
        response.headers[POSITION_HEADER] = str(written.position)
    return response


def _default_domain(domain_id: str, field: str) -> None:
    if domain_id != "default":
        raise InvalidInput(f"Invalid input for field '{field}.domain_id': only the Default "
                           "domain exists.")


async def create_project(request: Request) -> Response:
    require_identity_admin(claims(request), "create_project")
    new = decode(await request.body(), _ProjectBody, service="keystone").project
    _default_domain(new.domain_id, "project")
    written = await run_in_threadpool(
        _identity(request).create_project, request_id=await _request_id(request), name=new.name,
        description=new.description)
    project = written.state
    body = project_body(context(request).base_url, project.id, project.name,
                        project.description)
    return _positioned(JSONResponse({"project": body}, status_code=201), written)


async def delete_project(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_project")
    written = await run_in_threadpool(_identity(request).delete_project,
                                      request_id=await _request_id(request),
                                      ref=request.path_params["project_id"])
    return _positioned(Response(status_code=204), written)


async def create_user(request: Request) -> Response:
    require_identity_admin(claims(request), "create_user")
    new = decode(await request.body(), _UserBody, service="keystone").user
    _default_domain(new.domain_id, "user")
    written = await run_in_threadpool(
        _identity(request).create_user, request_id=await _request_id(request), name=new.name,
        password=new.password, default_project=new.default_project_id)
    user = written.state
    body = user_body(context(request).base_url, user.id, user.name, user.default_project_id)
    return _positioned(JSONResponse({"user": body}, status_code=201), written)


async def update_user(request: Request) -> Response:
    """Only the password can change; a user may change their own."""
    who = claims(request)
    ref = request.path_params["user_id"]
    if ref != who.user_id:
        require_identity_admin(who, "update_user")
    change = decode(await request.body(), _UserChangeBody, service="keystone").user
    identity = _identity(request)
    written: Written[Any] = Written(state=None, position=None)
    if change.password is not None:
        written = await run_in_threadpool(identity.change_password,
                                          request_id=await _request_id(request), ref=ref,
                                          password=change.password)
    user = await run_in_threadpool(identity.user, ref)
    body = user_body(context(request).base_url, user.id, user.name, user.default_project_id)
    return _positioned(JSONResponse({"user": body}), written)


async def delete_user(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_user")
    written = await run_in_threadpool(_identity(request).delete_user,
                                      request_id=await _request_id(request),
                                      ref=request.path_params["user_id"])
    return _positioned(Response(status_code=204), written)


async def grant_role(request: Request) -> Response:
    require_identity_admin(claims(request), "create_grant")
    p = request.path_params
    written = await run_in_threadpool(
        _identity(request).grant, request_id=await _request_id(request), user_ref=p["user_id"],
        project_ref=p["project_id"], role=p["role_id"])
    return _positioned(Response(status_code=204), written)


async def revoke_role(request: Request) -> Response:
    require_identity_admin(claims(request), "revoke_grant")
    p = request.path_params
    written = await run_in_threadpool(
        _identity(request).revoke_role, request_id=await _request_id(request),
        user_ref=p["user_id"], project_ref=p["project_id"], role=p["role_id"])
    return _positioned(Response(status_code=204), written)


async def revoke_token(request: Request) -> Response:
    """Logout: the token is refused everywhere from now on."""
    who = claims(request)
    _, token = subject(request)
    if token.user_id != who.user_id and not who.caller.is_admin:
        raise IdentityForbidden("You are not authorized to perform the requested action: "
                        "identity:revoke_token.")
    written = await run_in_threadpool(
        _identity(request).revoke_token, audit_id=token.audit_id, user_id=token.user_id,
        project_id=token.project_id)
    context(request).revocations.add(token.audit_id)
    return _positioned(Response(status_code=204), written)


P = "/identity/v3"
routes = [
    Route(f"{P}/auth/tokens", revoke_token, methods=["DELETE"]),
    Route(f"{P}/projects", create_project, methods=["POST"]),
    Route(f"{P}/projects/{{project_id}}", delete_project, methods=["DELETE"]),
    Route(f"{P}/users", create_user, methods=["POST"]),
    Route(f"{P}/users/{{user_id}}", update_user, methods=["PATCH"]),
    Route(f"{P}/users/{{user_id}}", delete_user, methods=["DELETE"]),
    Route(f"{P}/projects/{{project_id}}/users/{{user_id}}/roles/{{role_id}}", grant_role,
          methods=["PUT"]),
    Route(f"{P}/projects/{{project_id}}/users/{{user_id}}/roles/{{role_id}}", revoke_role,
          methods=["DELETE"]),
]
