"""Keystone's regions, services, endpoints and policies: list and show
(queries, from the identity views) and an admin's create, update and delete
(commands).

What nimbus serves itself (its own region and the services of the token
catalog, ``api/identity/auth.py``) is listed first and cannot be changed;
what an admin registers is stored, listed after it, and not published in
tokens' catalogs (nimbus serves only its own services).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import Context, claims, context
from api.identity.auth import catalog
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.policy import require_identity_admin
from domain import identity_catalog as model
from domain.errors import Forbidden, InvalidInput, NotFound
from projections import identity_queries as q

_KEYS = {
    model.REGION: ("description", "parent_region_id"),
    model.SERVICE: ("type", "name", "description", "enabled"),
    model.ENDPOINT: ("service_id", "interface", "url", "region_id", "enabled"),
    model.POLICY: ("blob", "type"),
}
_PLURAL = {model.REGION: "regions", model.SERVICE: "services", model.ENDPOINT: "endpoints",
           model.POLICY: "policies"}


def _body(ctx: Context, kind: str, entry_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": entry_id, **attributes}
    if kind == model.ENDPOINT:
        body["region"] = attributes.get("region_id")
    if kind == model.SERVICE:
        body = {k: v for k, v in body.items() if v is not None or k != "description"}
    body["links"] = {"self": f"{ctx.base_url}/identity/v3/{_PLURAL[kind]}/{entry_id}"}
    return body


def _own(ctx: Context, kind: str) -> list[dict[str, Any]]:
    """What nimbus publishes itself, as Keystone lists it."""
    if kind == model.POLICY:
        return []
    if kind == model.REGION:
        return [_body(ctx, kind, ctx.region, {"description": "", "parent_region_id": None})]
    entries = catalog(ctx, "$(project_id)s")
    if kind == model.SERVICE:
        return [_body(ctx, kind, e["id"], {"type": e["type"], "name": e["name"],
                                           "enabled": True}) for e in entries]
    return [_body(ctx, kind, ep["id"] + ep["interface"][:2] if ep["interface"] != "public"
                  else ep["id"], {"service_id": e["id"], "interface": ep["interface"],
                                  "url": ep["url"], "region_id": ep["region_id"],
                                  "enabled": True})
            for e in entries for ep in e["endpoints"]]


def _kind(request: Request) -> str:
    path = request.url.path
    return next(k for k, plural in _PLURAL.items() if f"/v3/{plural}" in path)


def _attributes(kind: str, given: dict[str, Any]) -> dict[str, model.Value]:
    if kind == model.ENDPOINT and "region" in given and "region_id" not in given:
        given = {**given, "region_id": given["region"]}
    return {k: given[k] for k in _KEYS[kind] if k in given}


async def _entries(request: Request, kind: str,
                   entry_id: str | None = None) -> list[dict[str, Any]]:
    ctx = context(request)
    own = [e for e in _own(ctx, kind) if entry_id in (None, e["id"])]
    rows = await q.list_catalog_entries(pool(request), kind, entry_id)
    return own + [_body(ctx, kind, r.id, r.attributes) for r in rows]


_FILTERS = {model.REGION: ("parent_region_id",), model.SERVICE: ("type", "name"),
            model.ENDPOINT: ("service_id", "interface", "region_id"), model.POLICY: ("type",)}


async def list_entries(request: Request) -> Response:
    claims(request)
    await caught_up(request)
    kind = _kind(request)
    entries = await _entries(request, kind)
    params = request.query_params
    for key in _FILTERS[kind]:
        if key in params:
            entries = [e for e in entries if e.get(key) == params[key]]
    return listing(request, _PLURAL[kind], entries)


async def show_entry(request: Request) -> Response:
    claims(request)
    await caught_up(request)
    kind = _kind(request)
    ref = request.path_params["entry_id"]
    found = await _entries(request, kind, ref)
    if not found:
        raise NotFound(f"Could not find {kind}: {ref}.")
    return JSONResponse({kind: found[0]})


def _refuse_own(ctx: Context, kind: str, entry_id: str) -> None:
    if any(e["id"] == entry_id for e in _own(ctx, kind)):
        raise Forbidden(f"The {kind} {entry_id} is nimbus's own and cannot be changed.")


async def _given(request: Request, kind: str) -> dict[str, Any]:
    body = decode(await request.body(), dict[str, dict[str, Any]], service="keystone")
    if kind not in body:
        raise InvalidInput(f"Invalid input: the body needs a '{kind}' object.")
    return body[kind]


async def create_entry(request: Request) -> Response:
    """POST (a new id) or, for a region, PUT /regions/{id} (the caller's id)."""
    require_identity_admin(claims(request), "create_" + _kind(request))
    ctx = context(request)
    kind = _kind(request)
    given = await _given(request, kind)
    entry_id = request.path_params.get("entry_id") or given.get("id")
    if entry_id is not None:
        if not isinstance(entry_id, str) or not entry_id:
            raise InvalidInput("Invalid input for field 'id': must be a string.")
        _refuse_own(ctx, kind, entry_id)
    written = await run_in_threadpool(
        identity(request).catalog.create, kind, request_id=await request_id(request),
        attributes=_attributes(kind, given), entry_id=entry_id if kind == model.REGION
        else None)
    body = _body(ctx, kind, written.state.id, written.state.attributes)
    return with_position(JSONResponse({kind: body}, status_code=201), written)


async def update_entry(request: Request) -> Response:
    kind = _kind(request)
    require_identity_admin(claims(request), "update_" + kind)
    ctx = context(request)
    ref = request.path_params["entry_id"]
    _refuse_own(ctx, kind, ref)
    given = await _given(request, kind)
    written = await run_in_threadpool(
        identity(request).catalog.update, kind, request_id=await request_id(request),
        entry_id=ref, change=_attributes(kind, given), own_regions=(ctx.region,))
    body = _body(ctx, kind, written.state.id, written.state.attributes)
    return with_position(JSONResponse({kind: body}), written)


async def delete_entry(request: Request) -> Response:
    kind = _kind(request)
    require_identity_admin(claims(request), "delete_" + kind)
    ref = request.path_params["entry_id"]
    _refuse_own(context(request), kind, ref)
    written = await run_in_threadpool(identity(request).catalog.delete, kind,
                                      request_id=await request_id(request), entry_id=ref)
    return with_position(Response(status_code=204), written)


P = "/identity/v3"
command_routes: list[BaseRoute] = [
    *(Route(f"{P}/{plural}", create_entry, methods=["POST"]) for plural in _PLURAL.values()),
    Route(f"{P}/regions/{{entry_id}}", create_entry, methods=["PUT"]),
    *(Route(f"{P}/{plural}/{{entry_id}}", update_entry, methods=["PATCH"])
      for plural in _PLURAL.values()),
    *(Route(f"{P}/{plural}/{{entry_id}}", delete_entry, methods=["DELETE"])
      for plural in _PLURAL.values()),
]
query_routes: list[BaseRoute] = [
    *(Route(f"{P}/{plural}", list_entries, methods=["GET"]) for plural in _PLURAL.values()),
    *(Route(f"{P}/{plural}/{{entry_id}}", show_entry, methods=["GET"])
      for plural in _PLURAL.values()),
]
