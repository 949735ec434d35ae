"""Keystone's projects: list and show (queries, from the identity views; a
non-admin sees only the projects they hold a role on), an admin's create
and delete (commands)."""

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
from api.identity.requests import (
    identity,
    listing,
    pool,
    request_id,
    with_position,
)
from api.identity.shapes import project_body
from api.policy import require_identity_admin
from api.tokens import Claims
from commands.application import Written
from domain.errors import NotFound
from domain.identity import Project
from projections import identity_queries as q


class _NewProject(msgspec.Struct):
    name: IdentityName
    description: Text255 = ""
    domain_id: Text255 = "default"
    enabled: bool = True
    tags: list[str] = []


class _ProjectBody(msgspec.Struct):
    project: _NewProject


class _ProjectChange(msgspec.Struct):
    name: IdentityName | None = None
    description: Text255 | None = None
    enabled: bool | None = None


class _ProjectChangeBody(msgspec.Struct):
    project: _ProjectChange


class _TagsBody(msgspec.Struct):
    tags: list[Text255]


async def _own_project_ids(request: Request, who: Claims) -> list[str] | None:
    """None for an admin (every project); else the projects the caller holds a role on."""
    if who.caller.is_admin:
        return None
    return sorted({a.project_id for a in await q.list_assignments(pool(request),
                                                                   user_id=who.user_id)})


def project_shown(request: Request, row: q.ProjectRow | Project) -> dict[str, Any]:
    return project_body(context(request).base_url, row.id, row.name, row.description,
                        enabled=row.enabled, tags=row.tags, domain_id=row.domain_id)


async def list_projects(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    ids = await _own_project_ids(request, who)
    rows = await q.list_projects(pool(request), name=request.query_params.get("name"), ids=ids,
                                 domain_id=request.query_params.get("domain_id"))
    enabled = request.query_params.get("enabled")
    if enabled is not None:
        rows = [r for r in rows if r.enabled == (enabled.lower() not in ("false", "0", "no"))]
    return listing(request, "projects", [project_shown(request, r) for r in rows])


async def show_project(request: Request) -> Response:
    return JSONResponse({"project": project_shown(request, await _visible_project(request))})


async def create_project(request: Request) -> Response:
    require_identity_admin(claims(request), "create_project")
    new = decode(await request.body(), _ProjectBody, service="keystone").project
    written = await run_in_threadpool(
        identity(request).create_project, request_id=await request_id(request), name=new.name,
        description=new.description, domain=new.domain_id, enabled=new.enabled, tags=new.tags)
    return with_position(JSONResponse({"project": project_shown(request, written.state)},
                                      status_code=201), written)


async def delete_project(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_project")
    written = await run_in_threadpool(identity(request).delete_project,
                                      request_id=await request_id(request),
                                      ref=request.path_params["project_id"])
    return with_position(Response(status_code=204), written)


async def update_project(request: Request) -> Response:
    require_identity_admin(claims(request), "update_project")
    change = decode(await request.body(), _ProjectChangeBody, service="keystone").project
    written = await run_in_threadpool(
        identity(request).update_project, request_id=await request_id(request),
        ref=request.path_params["project_id"], name=change.name,
        description=change.description, enabled=change.enabled)
    return with_position(JSONResponse({"project": project_shown(request, written.state)}),
                         written)


async def _change_tags(request: Request, change: Callable[[tuple[str, ...]], list[str]]
                       ) -> Written[Project]:
    require_identity_admin(claims(request), "update_project_tags")
    return await run_in_threadpool(
        identity(request).change_project_tags, request_id=await request_id(request),
        ref=request.path_params["project_id"], change=change)


async def replace_tags(request: Request) -> Response:
    tags = decode(await request.body(), _TagsBody, service="keystone").tags
    written = await _change_tags(request, lambda _: tags)
    return with_position(JSONResponse({"tags": list(written.state.tags)}), written)


async def add_tag(request: Request) -> Response:
    tag = request.path_params["tag"]
    written = await _change_tags(request, lambda tags: [*tags, tag])
    return with_position(Response(status_code=201), written)


async def delete_tags(request: Request) -> Response:
    written = await _change_tags(request, lambda _: [])
    return with_position(Response(status_code=204), written)


async def delete_tag(request: Request) -> Response:
    tag = request.path_params["tag"]

    def without(tags: tuple[str, ...]) -> list[str]:
        if tag not in tags:
            raise NotFound(f"Could not find project tag: {tag}.")
        return [t for t in tags if t != tag]
    written = await _change_tags(request, without)
    return with_position(Response(status_code=204), written)


async def list_tags(request: Request) -> Response:
    row = await _visible_project(request)
    return JSONResponse({"tags": list(row.tags)})


async def check_tag(request: Request) -> Response:
    row = await _visible_project(request)
    tag = request.path_params["tag"]
    if tag not in row.tags:
        raise NotFound(f"Could not find project tag: {tag}.")
    return Response(status_code=204)


async def _visible_project(request: Request) -> q.ProjectRow:
    who = claims(request)
    await caught_up(request)
    project_id = request.path_params["project_id"]
    ids = await _own_project_ids(request, who)
    row = await q.get_project(pool(request), project_id)
    if row is None or (ids is not None and project_id not in ids):
        raise NotFound(f"Could not find project: {project_id}.")
    return row


P = "/identity/v3"
TAGS = f"{P}/projects/{{project_id}}/tags"
command_routes: list[BaseRoute] = [
    Route(f"{P}/projects", create_project, methods=["POST"]),
    Route(f"{P}/projects/{{project_id}}", update_project, methods=["PATCH"]),
    Route(f"{P}/projects/{{project_id}}", delete_project, methods=["DELETE"]),
    Route(TAGS, replace_tags, methods=["PUT"]),
    Route(TAGS, delete_tags, methods=["DELETE"]),
    Route(f"{TAGS}/{{tag}}", add_tag, methods=["PUT"]),
    Route(f"{TAGS}/{{tag}}", delete_tag, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/projects", list_projects, methods=["GET"]),
    Route(f"{P}/projects/{{project_id}}", show_project, methods=["GET"]),
    Route(TAGS, list_tags, methods=["GET"]),
    Route(f"{TAGS}/{{tag}}", check_tag, methods=["GET", "HEAD"]),
]
