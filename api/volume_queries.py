"""Cinder v3 query routes (volumes, snapshots, backups, types) and Nova's
``os-volume_attachments`` listing, answered from the views.

Every route first waits for the views to catch up (api/consistency.py), so a
client that creates a volume and at once shows it finds it. Lists and shows
of the three kinds differ only in their names and shapes, so one pair of
handlers serves each kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import query_params
from api.consistency import caught_up
from api.context import claims, context
from api.volume_views import (
    PREFIX,
    backup,
    own_project,
    snapshot,
    volume,
    volume_attachment,
    volume_brief,
)
from domain.backup import Backup
from domain.errors import NotFound
from domain.snapshot import Snapshot
from domain.volume import Volume
from domain.volume_types import VolumeType, find
from projections import volumes_queries as q
from projections.queries import get_instance

MAX_LIMIT = 1000  # Cinder's osapi_max_limit
Handler = Callable[[Request], Awaitable[Response]]


def _uuid(value: str, kind: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{kind} {value} could not be found.") from None


def _shape(request: Request, found: Any, *, detail: bool) -> dict[str, Any]:
    admin = claims(request).caller.is_admin
    if isinstance(found, Volume):
        base = context(request).base_url
        return volume(base, found, admin=admin) if detail else volume_brief(base, found)
    if isinstance(found, Snapshot):
        return snapshot(found) if detail else {
            "id": found.id, "name": found.name, "status": str(found.status),
            "size": found.size_gb, "volume_id": found.volume_id}
    assert isinstance(found, Backup)
    return backup(found) if detail else {"id": found.id, "name": found.name}


def lister(kind: type[Volume | Snapshot | Backup], key: str, *, detail: bool) -> Handler:
    """``GET .../{key}[/detail]``: the caller's project's (an admin's with
    ``all_tenants``), newest first, with Cinder's filters and paging."""
    async def handler(request: Request) -> Response:
        who = claims(request)
        own_project(who, request.path_params["project_id"])
        params = request.query_params
        limit = query_params.limit(request, default=MAX_LIMIT, most=MAX_LIMIT)
        every = who.caller.is_admin and params.get("all_tenants", "0").lower() in ("1", "true")
        filters = {name: params.get(name) for name in ("name", "status")}
        if kind is Snapshot:
            filters["volume_id"] = params.get("volume_id")
        marker = _uuid(params["marker"], kind.__name__) if params.get("marker") else None
        found = await q.listed(await caught_up(request), kind,
                               limit=limit, marker=marker,
                               project_id=None if every else who.project_id, **filters)
        return JSONResponse({key: [_shape(request, f, detail=detail) for f in found]})
    return handler


def shower(kind: type[Volume | Snapshot | Backup], key: str) -> Handler:
    """``GET .../{key}s/{id}``: one the caller may see (an admin: any)."""
    async def handler(request: Request) -> Response:
        who = claims(request)
        own_project(who, request.path_params["project_id"])
        ident = _uuid(request.path_params["ident"], kind.__name__)
        found = await q.one(await caught_up(request), kind, ident,
                            None if who.caller.is_admin else who.project_id)
        if found is None:
            raise NotFound(f"{kind.__name__} {ident} could not be found.")
        return JSONResponse({key: _shape(request, found, detail=True)})
    return handler


def _types(request: Request) -> list[VolumeType]:
    found = context(request).extra.get("volume_types")
    return found if isinstance(found, list) else []


def _type_body(t: VolumeType, *, admin: bool) -> dict[str, object]:
    specs = {"volume_backend_name": ",".join(t.backends)} if admin else {}
    return {"id": t.id, "name": t.name, "description": None, "is_public": True,
            "extra_specs": specs, "os-volume-type-access:is_public": True}


async def list_types(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    return JSONResponse({"volume_types": [_type_body(t, admin=who.caller.is_admin)
                                          for t in _types(request)]})


async def show_type(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    found = find(_types(request), request.path_params["type_id"])
    return JSONResponse({"volume_type": _type_body(found, admin=who.caller.is_admin)})


async def _attachments(request: Request) -> list[Volume]:
    """The server's attachments, if the caller may see the server (Nova's 404)."""
    who = claims(request)
    pool = await caught_up(request)
    server_id = _uuid(request.path_params["server_id"], "Instance")
    if await get_instance(pool, server_id,
                          None if who.caller.is_admin else who.project_id) is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return await q.attached_to(pool, server_id)


async def list_attachments(request: Request) -> Response:
    found = await _attachments(request)
    return JSONResponse({"volumeAttachments": [volume_attachment(v) for v in found]})


async def show_attachment(request: Request) -> Response:
    wanted = request.path_params["volume_id"]
    found = next((v for v in await _attachments(request) if v.id == wanted), None)
    if found is None:
        raise NotFound(f"volume_id not found: {wanted}")
    return JSONResponse({"volumeAttachment": volume_attachment(found)})


S = "/compute/v2.1/servers/{server_id}/os-volume_attachments"

routes = [
    Route(f"{PREFIX}/types", list_types, methods=["GET"]),
    Route(f"{PREFIX}/types/{{type_id}}", show_type, methods=["GET"]),
    *(route for kind, key in ((Volume, "volume"), (Snapshot, "snapshot"), (Backup, "backup"))
      for route in (
          Route(f"{PREFIX}/{key}s", lister(kind, f"{key}s", detail=False), methods=["GET"]),
          Route(f"{PREFIX}/{key}s/detail", lister(kind, f"{key}s", detail=True),
                methods=["GET"]),
          Route(f"{PREFIX}/{key}s/{{ident}}", shower(kind, key), methods=["GET"]))),
    Route(S, list_attachments, methods=["GET"]),
    Route(f"{S}/{{volume_id}}", show_attachment, methods=["GET"]),
]
