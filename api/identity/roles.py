"""Keystone's roles and role assignments: list and show the fixed roles, check
and list assignments (queries, from the identity views), an admin's grant
and revoke of a role on a project or on the system (commands)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import claims, context
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.identity.shapes import all_roles, role_body
from api.policy import require_identity_admin
from domain.errors import NotFound
from domain.identity import SYSTEM, role_id, role_named
from projections import identity_queries as q


async def list_roles(request: Request) -> Response:
    claims(request)
    roles = all_roles(context(request).base_url)
    name = request.query_params.get("name")
    return listing(request, "roles", [r for r in roles if name in (None, r["name"])])


async def show_role(request: Request) -> Response:
    claims(request)
    return JSONResponse({"role": role_body(context(request).base_url,
                                           role_named(request.path_params["role_id"]))})


async def check_role(request: Request) -> Response:
    """HEAD/GET /projects/{p}/users/{u}/roles/{r}: 204 if held, else 404."""
    require_identity_admin(claims(request), "check_grant")
    await caught_up(request)
    p = request.path_params
    role = role_named(p["role_id"])
    scope = p.get("project_id", SYSTEM)
    if not await q.list_assignments(pool(request), user_id=p["user_id"],
                                    project_id=scope, role=role):
        raise NotFound(f"Could not find role assignment with role: {role_id(role)}, user or "
                       f"group: {p['user_id']}, project, domain, or system: {scope}.")
    return Response(status_code=204)


async def role_assignments(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    user_id = request.query_params.get("user.id")
    if not who.caller.is_admin and user_id != who.user_id:
        require_identity_admin(who, "list_role_assignments")
    rows = await q.list_assignments(pool(request), user_id=user_id,
                                    project_id=request.query_params.get("scope.project.id"))
    base = context(request).base_url
    return listing(request, "role_assignments", [{
        "role": {"id": role_id(a.role), "name": a.role},
        "user": {"id": a.user_id},
        "scope": {"system": {"all": True}} if a.project_id == SYSTEM
        else {"project": {"id": a.project_id}},
        "links": {"assignment": f"{base}/identity/v3/system/users/{a.user_id}/roles/"
                                f"{role_id(a.role)}" if a.project_id == SYSTEM else
                                f"{base}/identity/v3/projects/{a.project_id}/users/"
                                f"{a.user_id}/roles/{role_id(a.role)}"},
    } for a in rows])


async def grant_role(request: Request) -> Response:
    """On a project, or (``/system/users/...``) on the system."""
    require_identity_admin(claims(request), "create_grant")
    p = request.path_params
    written = await run_in_threadpool(
        identity(request).grant, request_id=await request_id(request), user_ref=p["user_id"],
        project_ref=p.get("project_id"), role=p["role_id"])
    return with_position(Response(status_code=204), written)


async def revoke_role(request: Request) -> Response:
    require_identity_admin(claims(request), "revoke_grant")
    p = request.path_params
    written = await run_in_threadpool(
        identity(request).revoke_role, request_id=await request_id(request),
        user_ref=p["user_id"], project_ref=p.get("project_id"), role=p["role_id"])
    return with_position(Response(status_code=204), written)


async def system_roles(request: Request) -> Response:
    """GET /system/users/{u}/roles: the roles the user holds on the system."""
    require_identity_admin(claims(request), "list_system_grants_for_user")
    await caught_up(request)
    rows = await q.list_assignments(pool(request), user_id=request.path_params["user_id"],
                                    project_id=SYSTEM)
    base = context(request).base_url
    return listing(request, "roles", [role_body(base, a.role) for a in rows])


P = "/identity/v3"
GRANT = f"{P}/projects/{{project_id}}/users/{{user_id}}/roles/{{role_id}}"
SYSTEM_GRANT = f"{P}/system/users/{{user_id}}/roles/{{role_id}}"
command_routes: list[BaseRoute] = [
    Route(GRANT, grant_role, methods=["PUT"]),
    Route(GRANT, revoke_role, methods=["DELETE"]),
    Route(SYSTEM_GRANT, grant_role, methods=["PUT"]),
    Route(SYSTEM_GRANT, revoke_role, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/roles", list_roles, methods=["GET"]),
    Route(f"{P}/roles/{{role_id}}", show_role, methods=["GET"]),
    Route(GRANT, check_role, methods=["GET", "HEAD"]),
    Route(SYSTEM_GRANT, check_role, methods=["GET", "HEAD"]),
    Route(f"{P}/system/users/{{user_id}}/roles", system_roles, methods=["GET"]),
    Route(f"{P}/role_assignments", role_assignments, methods=["GET"]),
]
