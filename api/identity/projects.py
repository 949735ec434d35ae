"""Keystone's projects: list and show (queries, from the identity views; a
non-admin sees only the projects they hold a role on), an admin's create
and delete (commands)."""

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
from api.fields import IdentityName, Text255
from api.identity.requests import (
    default_domain,
    identity,
    listing,
    pool,
    request_id,
    with_position,
)
from api.identity.shapes import project_body
from api.policy import require_identity_admin
from api.tokens import Claims
from domain.errors import NotFound
from projections import identity_queries as q


class _NewProject(msgspec.Struct):
    name: IdentityName
    description: Text255 = ""
    domain_id: Text255 = "default"
    enabled: bool = True


class _ProjectBody(msgspec.Struct):
    project: _NewProject


async def _own_project_ids(request: Request, who: Claims) -> list[str] | None:
    """None for an admin (every project); else the projects the caller holds a role on."""
    if who.caller.is_admin:
        return None
    return sorted({a.project_id for a in await q.list_assignments(pool(request),
                                                                   user_id=who.user_id)})


def project_shown(request: Request, row: q.ProjectRow) -> dict[str, Any]:
    return project_body(context(request).base_url, row.id, row.name, row.description)


async def list_projects(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    ids = await _own_project_ids(request, who)
    rows = await q.list_projects(pool(request), name=request.query_params.get("name"), ids=ids)
    return listing(request, "projects", [project_shown(request, r) for r in rows])


async def show_project(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    project_id = request.path_params["project_id"]
    ids = await _own_project_ids(request, who)
    row = await q.get_project(pool(request), project_id)
    if row is None or (ids is not None and project_id not in ids):
        raise NotFound(f"Could not find project: {project_id}.")
    return JSONResponse({"project": project_shown(request, row)})


async def create_project(request: Request) -> Response:
    require_identity_admin(claims(request), "create_project")
    new = decode(await request.body(), _ProjectBody, service="keystone").project
    default_domain(new.domain_id, "project")
    written = await run_in_threadpool(
        identity(request).create_project, request_id=await request_id(request), name=new.name,
        description=new.description)
    project = written.state
    body = project_body(context(request).base_url, project.id, project.name,
                        project.description)
    return with_position(JSONResponse({"project": body}, status_code=201), written)


async def delete_project(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_project")
    written = await run_in_threadpool(identity(request).delete_project,
                                      request_id=await request_id(request),
                                      ref=request.path_params["project_id"])
    return with_position(Response(status_code=204), written)


P = "/identity/v3"
command_routes: list[BaseRoute] = [
    Route(f"{P}/projects", create_project, methods=["POST"]),
    Route(f"{P}/projects/{{project_id}}", delete_project, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/projects", list_projects, methods=["GET"]),
    Route(f"{P}/projects/{{project_id}}", show_project, methods=["GET"]),
]
