"""Keystone's roles and role assignments: list and show the default and the
custom roles, check and list assignments (queries, from the identity views),
an admin's create, update and delete of a custom role and grant and revoke
of a role to a user or a group on a project, a domain or the system
(commands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims, context
from api.fields import IdentityName, Text255
from api.identity.assignments import role_assignments
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.identity.shapes import all_roles, custom_role_body, role_body
from api.policy import require_identity_admin
from commands.identity import IdentityCommands
from domain.errors import NotFound
from domain.identity import ROLES, granted_role_id, role_named
from projections import identity_queries as q


class _NewRole(msgspec.Struct):
    name: IdentityName
    domain_id: Text255 | None = None
    description: Text255 | None = None
    options: dict[str, Any] = {}


class _RoleBody(msgspec.Struct):
    role: _NewRole


class _RoleChange(msgspec.Struct):
    name: IdentityName | None = None
    description: Text255 | None = None
    options: dict[str, Any] = {}


class _RoleChangeBody(msgspec.Struct):
    role: _RoleChange


async def list_roles(request: Request) -> Response:
    claims(request)
    await caught_up(request)
    name = request.query_params.get("name")
    domain_id = request.query_params.get("domain_id")
    base = context(request).base_url
    roles = [] if domain_id else [r for r in all_roles(base) if name in (None, r["name"])]
    custom = await q.list_custom_roles(pool(request), name=name, domain_id=domain_id)
    return listing(request, "roles", roles + [custom_role_body(base, r) for r in custom])


async def show_role(request: Request) -> Response:
    claims(request)
    ref = request.path_params["role_id"]
    base = context(request).base_url
    try:
        return JSONResponse({"role": role_body(base, role_named(ref))})
    except NotFound:
        pass
    await caught_up(request)
    found = (await q.custom_roles_by_id(pool(request))).get(ref)
    if found is None:
        raise NotFound(f"Could not find role: {ref}.")
    return JSONResponse({"role": custom_role_body(base, found)})


async def create_role(request: Request) -> Response:
    require_identity_admin(claims(request), "create_role")
    new = decode(await request.body(), _RoleBody, service="keystone").role
    written = await run_in_threadpool(
        identity(request).roles.create, request_id=await request_id(request), name=new.name,
        domain=new.domain_id, description=new.description)
    body = custom_role_body(context(request).base_url, written.state)
    return with_position(JSONResponse({"role": body}, status_code=201), written)


async def update_role(request: Request) -> Response:
    require_identity_admin(claims(request), "update_role")
    change = decode(await request.body(), _RoleChangeBody, service="keystone").role
    written = await run_in_threadpool(
        identity(request).roles.update, request_id=await request_id(request),
        ref=request.path_params["role_id"], name=change.name, description=change.description)
    body = custom_role_body(context(request).base_url, written.state)
    return with_position(JSONResponse({"role": body}), written)


async def delete_role(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_role")
    written = await run_in_threadpool(identity(request).roles.delete,
                                      request_id=await request_id(request),
                                      ref=request.path_params["role_id"])
    return with_position(Response(status_code=204), written)


def _scope(request: Request) -> tuple[str | None, str | None]:
    """The (project, domain) a grant's path names (neither: the system)."""
    p = request.path_params
    return p.get("project_id"), p.get("domain_id")


def _inherited(request: Request) -> bool:
    """An OS-INHERIT route: the grant its domain's or project's projects inherit."""
    return request.url.path.endswith("/inherited_to_projects")


async def _scope_key(request: Request) -> str:
    project_ref, domain_ref = _scope(request)
    return await run_in_threadpool(identity(request).grant_scope, project_ref, domain_ref,
                                   _inherited(request))


async def check_role(request: Request) -> Response:
    """HEAD/GET .../{users|groups}/{id}/roles/{r}: 204 if held, else 404."""
    require_identity_admin(claims(request), "check_grant")
    await caught_up(request)
    p = request.path_params
    key = await run_in_threadpool(identity(request).role_key, p["role_id"])
    scope = await _scope_key(request)
    if "group_id" in p:
        held = bool(await q.list_group_assignments(pool(request), group_id=p["group_id"],
                                                   scope=scope, role=key))
    else:
        held = bool(await q.list_assignments(pool(request), user_id=p["user_id"],
                                             project_id=scope, role=key))
    if not held:
        who = p.get("group_id", p.get("user_id"))
        raise NotFound(f"Could not find role assignment with role: {granted_role_id(key)}, "
                       f"user or group: {who}, project, domain, or system: {scope}.")
    return Response(status_code=204)


async def list_grants(request: Request) -> Response:
    """GET .../{users|groups}/{id}/roles: the roles granted there directly."""
    require_identity_admin(claims(request), "list_grants")
    await caught_up(request)
    p = request.path_params
    scope = await _scope_key(request)
    if "group_id" in p:
        keys = [a.role for a in await q.list_group_assignments(
            pool(request), group_id=p["group_id"], scope=scope)]
    else:
        keys = [a.role for a in await q.list_assignments(
            pool(request), user_id=p["user_id"], project_id=scope)]
    return listing(request, "roles", await role_bodies(request, keys))


async def role_bodies(request: Request, keys: list[str]) -> list[dict[str, Any]]:
    base = context(request).base_url
    custom = await q.custom_roles_by_id(pool(request))
    return [role_body(base, k) if k in ROLES else custom_role_body(base, custom[k])
            for k in keys if k in ROLES or k in custom]


Pick = Callable[[IdentityCommands], Callable[..., Any]]  # which of the service's methods


async def grant_role(request: Request) -> Response:
    require_identity_admin(claims(request), "create_grant")
    return await _change_grant(request, lambda s: s.groups.grant, lambda s: s.grant)


async def revoke_role(request: Request) -> Response:
    require_identity_admin(claims(request), "revoke_grant")
    return await _change_grant(request, lambda s: s.groups.revoke, lambda s: s.revoke_role)


async def _change_grant(request: Request, for_group: Pick, for_user: Pick) -> Response:
    """A grant given or taken back (the identity service's method that
    ``for_group`` or ``for_user`` picks), on the route's project or domain."""
    p = request.path_params
    project_ref, domain_ref = _scope(request)
    service = identity(request)
    scope = {"role": p["role_id"], "project_ref": project_ref, "domain_ref": domain_ref,
             "inherited": _inherited(request), "request_id": await request_id(request)}
    if "group_id" in p:
        written: Any = await run_in_threadpool(for_group(service), ref=p["group_id"], **scope)
    else:
        written = await run_in_threadpool(for_user(service), user_ref=p["user_id"], **scope)
    return with_position(Response(status_code=204), written)


P = "/identity/v3"
_SCOPES = (f"{P}/projects/{{project_id}}", f"{P}/domains/{{domain_id}}", f"{P}/system")
_WHO = ("users/{user_id}", "groups/{group_id}")
_INHERITING = (f"{P}/OS-INHERIT/domains/{{domain_id}}", f"{P}/OS-INHERIT/projects/{{project_id}}")
GRANTS = [f"{s}/{w}/roles/{{role_id}}" for s in _SCOPES for w in _WHO] + [
    f"{s}/{w}/roles/{{role_id}}/inherited_to_projects" for s in _INHERITING for w in _WHO]
LISTS = [f"{s}/{w}/roles" for s in _SCOPES for w in _WHO] + [
    f"{s}/{w}/roles/inherited_to_projects" for s in _INHERITING for w in _WHO]
command_routes: list[BaseRoute] = [
    Route(f"{P}/roles", create_role, methods=["POST"]),
    Route(f"{P}/roles/{{role_id}}", update_role, methods=["PATCH"]),
    Route(f"{P}/roles/{{role_id}}", delete_role, methods=["DELETE"]),
    *(Route(g, grant_role, methods=["PUT"]) for g in GRANTS),
    *(Route(g, revoke_role, methods=["DELETE"]) for g in GRANTS),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/roles", list_roles, methods=["GET"]),
    Route(f"{P}/roles/{{role_id}}", show_role, methods=["GET"]),
    *(Route(g, check_role, methods=["GET", "HEAD"]) for g in GRANTS),
    *(Route(g, list_grants, methods=["GET"]) for g in LISTS),
    Route(f"{P}/role_assignments", role_assignments, methods=["GET"]),
]
