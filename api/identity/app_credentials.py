"""Keystone's application credentials: a user's own create, list, show and
delete under ``/users/{u}/application_credentials`` (the secret is shown
once, in the create's answer). The ``application_credential`` login method
is in api/identity/auth.py."""

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
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.tokens import Claims
from domain.errors import NotFound
from domain.identity import ROLES, granted_role_id
from projections import identity_queries as q


class _RoleRef(msgspec.Struct):
    id: Text255 | None = None
    name: Text255 | None = None


class _NewAppCredential(msgspec.Struct):
    name: IdentityName
    description: Text255 | None = None
    secret: Password | None = None
    expires_at: Text255 | None = None
    roles: list[_RoleRef] | None = None
    unrestricted: bool = False


class _AppCredentialBody(msgspec.Struct):
    application_credential: _NewAppCredential


def _own(request: Request, action: str, *, admin_too: bool = False) -> tuple[Claims, str]:
    who = claims(request)
    user_id = request.path_params["user_id"]
    if user_id != who.user_id and not (admin_too and who.caller.is_admin):
        raise IdentityForbidden(f"You are not authorized to perform the requested action: "
                                f"identity:{action}.")
    return who, user_id


async def _body(request: Request, row: Any) -> dict[str, Any]:
    base = context(request).base_url
    custom = await q.custom_roles_by_id(pool(request))
    roles = [{"id": granted_role_id(k), "name": k if k in ROLES else custom[k].name,
              "domain_id": None} for k in row.roles if k in ROLES or k in custom]
    return {"id": row.id, "name": row.name, "description": row.description,
            "user_id": row.user_id, "project_id": row.project_id,
            "expires_at": row.expires_at, "unrestricted": row.unrestricted,
            "roles": roles, "access_rules": [],
            "links": {"self": f"{base}/identity/v3/users/{row.user_id}/"
                              f"application_credentials/{row.id}"}}


async def create_app_credential(request: Request) -> Response:
    who, user_id = _own(request, "create_application_credential")
    new = decode(await request.body(), _AppCredentialBody,
                 service="keystone").application_credential
    written, secret = await run_in_threadpool(
        identity(request).app_credentials.create, request_id=await request_id(request),
        user_id=user_id, project_id=who.project_id, name=new.name,
        description=new.description,
        roles=None if new.roles is None else [r.id or r.name or "" for r in new.roles],
        secret=new.secret, expires_at=new.expires_at, unrestricted=new.unrestricted)
    state = written.state
    body = await _body(request, q.AppCredentialRow(
        id=state.id, user_id=state.user_id, project_id=state.project_id, name=state.name,
        description=state.description, roles=list(state.roles), expires_at=state.expires_at,
        unrestricted=state.unrestricted))
    return with_position(JSONResponse({"application_credential": {**body, "secret": secret}},
                                      status_code=201), written)


async def list_app_credentials(request: Request) -> Response:
    _, user_id = _own(request, "list_application_credentials", admin_too=True)
    await caught_up(request)
    rows = await q.list_app_credentials(pool(request), user_id,
                                        name=request.query_params.get("name"))
    return listing(request, "application_credentials", [await _body(request, r) for r in rows])


async def show_app_credential(request: Request) -> Response:
    _, user_id = _own(request, "get_application_credential", admin_too=True)
    await caught_up(request)
    ref = request.path_params["app_cred_id"]
    rows = await q.list_app_credentials(pool(request), user_id, cred_id=ref)
    if not rows:
        raise NotFound(f"Could not find Application Credential: {ref}.")
    return JSONResponse({"application_credential": await _body(request, rows[0])})


async def delete_app_credential(request: Request) -> Response:
    _, user_id = _own(request, "delete_application_credential", admin_too=True)
    written = await run_in_threadpool(
        identity(request).app_credentials.delete, request_id=await request_id(request),
        user_id=user_id, cred_id=request.path_params["app_cred_id"])
    return with_position(Response(status_code=204), written)


P = "/identity/v3/users/{user_id}/application_credentials"
command_routes: list[BaseRoute] = [
    Route(P, create_app_credential, methods=["POST"]),
    Route(f"{P}/{{app_cred_id}}", delete_app_credential, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(P, list_app_credentials, methods=["GET"]),
    Route(f"{P}/{{app_cred_id}}", show_app_credential, methods=["GET"]),
]
