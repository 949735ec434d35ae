"""Keystone admin reads: projects, users, roles and role assignments, from the
identity views. Admins see everything; anyone else sees only themselves and
the projects they hold a role on, and gets 403 (Keystone's body) for the rest."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.consistency import caught_up
from api.context import claims, context
from api.identity_shapes import all_roles, project_body, role_body, user_body
from api.policy import require_identity_admin
from api.tokens import Claims
from domain.errors import NotFound
from domain.identity import role_id, role_named
from projections import identity_queries as q
from projections.views import Views


def _pool(request: Request) -> Views:
    pool = context(request).pool
    assert pool is not None, "query routes need the views"
    return pool


async def _own_project_ids(request: Request, who: Claims) -> list[str] | None:
    """None for an admin (every project); else the projects the caller holds a role on."""
    if who.caller.is_admin:
        return None
    return sorted({a.project_id for a in await q.list_assignments(_pool(request),
                                                                   user_id=who.user_id)})


def _project(request: Request, row: q.ProjectRow) -> dict[str, Any]:
    return project_body(context(request).base_url, row.id, row.name, row.description)


def _user(request: Request, row: q.UserRow) -> dict[str, Any]:
    return user_body(context(request).base_url, row.id, row.name, row.default_project_id)


def _listing(request: Request, key: str, items: list[dict[str, Any]]) -> Response:
    return JSONResponse({key: items, "links": {"self": str(request.url), "previous": None,
                                                "next": None}})


async def list_projects(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    ids = await _own_project_ids(request, who)
    rows = await q.list_projects(_pool(request), name=request.query_params.get("name"), ids=ids)
    return _listing(request, "projects", [_project(request, r) for r in rows])


async def show_project(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    project_id = request.path_params["project_id"]
    ids = await _own_project_ids(request, who)
    row = await q.get_project(_pool(request), project_id)
    if row is None or (ids is not None and project_id not in ids):
        raise NotFound(f"Could not find project: {project_id}.")
    return JSONResponse({"project": _project(request, row)})


async def user_projects(request: Request) -> Response:
    """GET /users/{id}/projects and /auth/projects: where a user holds roles."""
    who = claims(request)
    user_id = request.path_params.get("user_id", who.user_id)
    if user_id != who.user_id:
        require_identity_admin(who, "list_user_projects")
    ids = sorted({a.project_id for a in await q.list_assignments(_pool(request),
                                                                  user_id=user_id)})
    rows = await q.list_projects(_pool(request), ids=ids)
    return _listing(request, "projects", [_project(request, r) for r in rows])


async def list_users(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    name = request.query_params.get("name")
    only = None if who.caller.is_admin else who.user_id
    rows = await q.list_users(_pool(request), name=name, user_id=only)
    return _listing(request, "users", [_user(request, r) for r in rows])


async def show_user(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    user_id = request.path_params["user_id"]
    if user_id != who.user_id:
        require_identity_admin(who, "get_user")
    rows = await q.list_users(_pool(request), user_id=user_id)
    if not rows:
        raise NotFound(f"Could not find user: {user_id}.")
    return JSONResponse({"user": _user(request, rows[0])})


async def list_roles(request: Request) -> Response:
    claims(request)
    roles = all_roles(context(request).base_url)
    name = request.query_params.get("name")
    return _listing(request, "roles", [r for r in roles if name in (None, r["name"])])


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
    if not await q.list_assignments(_pool(request), user_id=p["user_id"],
                                    project_id=p["project_id"], role=role):
        raise NotFound(f"Could not find role assignment with role: {role_id(role)}, user or "
                       f"group: {p['user_id']}, project, domain, or system: "
                       f"{p['project_id']}.")
    return Response(status_code=204)


async def role_assignments(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    user_id = request.query_params.get("user.id")
    if not who.caller.is_admin and user_id != who.user_id:
        require_identity_admin(who, "list_role_assignments")
    rows = await q.list_assignments(_pool(request), user_id=user_id,
                                    project_id=request.query_params.get("scope.project.id"))
    base = context(request).base_url
    return _listing(request, "role_assignments", [{
        "role": {"id": role_id(a.role), "name": a.role},
        "user": {"id": a.user_id},
        "scope": {"project": {"id": a.project_id}},
        "links": {"assignment": f"{base}/identity/v3/projects/{a.project_id}/users/"
                                f"{a.user_id}/roles/{role_id(a.role)}"},
    } for a in rows])


P = "/identity/v3"
routes = [
    Route(f"{P}/projects", list_projects, methods=["GET"]),
    Route(f"{P}/projects/{{project_id}}", show_project, methods=["GET"]),
    Route(f"{P}/auth/projects", user_projects, methods=["GET"]),
    Route(f"{P}/users", list_users, methods=["GET"]),
    Route(f"{P}/users/{{user_id}}", show_user, methods=["GET"]),
    Route(f"{P}/users/{{user_id}}/projects", user_projects, methods=["GET"]),
    Route(f"{P}/roles", list_roles, methods=["GET"]),
    Route(f"{P}/roles/{{role_id}}", show_role, methods=["GET"]),
    Route(f"{P}/projects/{{project_id}}/users/{{user_id}}/roles/{{role_id}}", check_role,
          methods=["GET", "HEAD"]),
    Route(f"{P}/role_assignments", role_assignments, methods=["GET"]),
]
