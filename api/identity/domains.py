"""Keystone's domains, and what a token may see of itself.

The Default domain always exists and is no aggregate; an admin makes others
(``DomainCreated``), describes, disables and deletes them. Projects and
users are made in a domain and their names are unique within it. A domain
keeps its name (its id derives from it); deleting one needs it disabled, and
its projects, users and groups are deleted first, one command each, so a delete cut
short is finished by asking again. ``/auth/domains`` and ``/auth/catalog``
answer for the caller's own token.
"""

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
from api.identity.auth import DOMAIN, catalog
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.identity.shapes import domain_body
from api.policy import require_identity_admin
from domain.errors import NotFound
from domain.identity import DEFAULT_DOMAIN_ID, Domain
from projections import identity_queries as q

P = "/identity/v3"


class _NewDomain(msgspec.Struct):
    name: IdentityName
    description: Text255 = ""
    enabled: bool = True


class _DomainBody(msgspec.Struct):
    domain: _NewDomain


class _DomainChange(msgspec.Struct):
    name: IdentityName | None = None
    description: Text255 | None = None
    enabled: bool | None = None


class _DomainChangeBody(msgspec.Struct):
    domain: _DomainChange


DEFAULT = q.DomainRow(id=DEFAULT_DOMAIN_ID, name=DOMAIN["name"], description="The default domain",
                      enabled=True, created_at=q.EPOCH)


def _shown(request: Request, d: q.DomainRow | Domain) -> dict[str, Any]:
    return domain_body(context(request).base_url, d.id, d.name, d.description, d.enabled)


async def _domains(request: Request, *, name: str | None = None,
                   domain_id: str | None = None) -> list[q.DomainRow]:
    await caught_up(request)
    made = await q.list_domains(pool(request), name=name, domain_id=domain_id)
    default = [DEFAULT] if name in (None, DEFAULT.name) and domain_id in (None, DEFAULT.id) \
        else []
    return default + made


async def list_domains(request: Request) -> Response:
    claims(request)
    enabled = request.query_params.get("enabled")
    found = await _domains(request, name=request.query_params.get("name"))
    if enabled is not None:
        found = [d for d in found if d.enabled == (enabled.lower() == "true")]
    return listing(request, "domains", [_shown(request, d) for d in found])


async def show_domain(request: Request) -> Response:
    claims(request)
    domain_id = request.path_params["domain_id"]
    found = await _domains(request, domain_id=domain_id)
    if not found:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return JSONResponse({"domain": _shown(request, found[0])})


async def create_domain(request: Request) -> Response:
    require_identity_admin(claims(request), "create_domain")
    new = decode(await request.body(), _DomainBody, service="keystone").domain
    written = await run_in_threadpool(
        identity(request).create_domain, request_id=await request_id(request), name=new.name,
        description=new.description, enabled=new.enabled)
    return with_position(JSONResponse({"domain": _shown(request, written.state)},
                                      status_code=201), written)


async def update_domain(request: Request) -> Response:
    require_identity_admin(claims(request), "update_domain")
    change = decode(await request.body(), _DomainChangeBody, service="keystone").domain
    written = await run_in_threadpool(
        identity(request).update_domain, request_id=await request_id(request),
        ref=request.path_params["domain_id"], name=change.name,
        description=change.description, enabled=change.enabled)
    return with_position(JSONResponse({"domain": _shown(request, written.state)}), written)


async def delete_domain(request: Request) -> Response:
    """Its projects, users and groups first (each its own command), then the domain."""
    require_identity_admin(claims(request), "delete_domain")
    domain_id = request.path_params["domain_id"]
    service = identity(request)
    domain = await run_in_threadpool(service.domain, domain_id)
    rid = await request_id(request)
    if domain.enabled:  # refused before anything in it is touched
        await run_in_threadpool(service.delete_domain, request_id=rid, ref=domain_id)
    await caught_up(request)
    for project in await q.list_projects(pool(request), domain_id=domain.id):
        await run_in_threadpool(service.delete_project, request_id=f"{rid}:{project.id}",
                                ref=project.id)
    for user in await q.list_users(pool(request), domain_id=domain.id):
        await run_in_threadpool(service.delete_user, request_id=f"{rid}:{user.id}",
                                ref=user.id)
    for group in await q.list_groups(pool(request), domain_id=domain.id):
        await run_in_threadpool(service.groups.delete, request_id=f"{rid}:{group.id}",
                                ref=group.id)
    written = await run_in_threadpool(service.delete_domain, request_id=rid, ref=domain_id)
    return with_position(Response(status_code=204), written)


async def auth_domains(request: Request) -> Response:
    """The domains where the token's user (or a group of theirs) holds a role.
    (A token scoped to a domain is not issued here; roles on a domain are
    inherited by its projects when granted so.)"""
    who = claims(request, unscoped=True)
    await caught_up(request)
    views = pool(request)
    mine = {g.id for g in await q.list_groups(views, user_id=who.user_id)}
    scopes = {a.project_id for a in await q.list_assignments(views, user_id=who.user_id)} | {
        a.scope for a in await q.list_group_assignments(views) if a.group_id in mine}
    ids = {s.removeprefix("domain:") for s in scopes if s.startswith("domain:")}
    return listing(request, "domains", [_shown(request, d) for d in [
        DEFAULT, *await q.list_domains(views)] if d.id in ids])


async def auth_catalog(request: Request) -> Response:
    who = claims(request)
    return listing(request, "catalog", catalog(context(request), who.project_id))


command_routes: list[BaseRoute] = [
    Route(f"{P}/domains", create_domain, methods=["POST"]),
    Route(f"{P}/domains/{{domain_id}}", update_domain, methods=["PATCH"]),
    Route(f"{P}/domains/{{domain_id}}", delete_domain, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/domains", list_domains, methods=["GET"]),
    Route(f"{P}/domains/{{domain_id}}", show_domain, methods=["GET"]),
    Route(f"{P}/auth/domains", auth_domains, methods=["GET"]),
    Route(f"{P}/auth/catalog", auth_catalog, methods=["GET"]),
]
