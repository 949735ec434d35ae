"""Cinder v3 volume query routes: list, detail, show, answered from the volumes view.

Every route first waits for the views to catch up (api/consistency.py), so a
client that creates a volume and at once shows it finds it.
"""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
from domain.errors import InvalidInput, NotFound
from domain.volume import Volume
from domain.volume_types import VolumeType, find
from projections import volumes_queries as q
from projections.queries import get_instance

MAX_LIMIT = 1000  # Cinder's osapi_max_limit


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"Volume {value} could not be found.") from None


async def _list(request: Request, *, detail: bool) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    params = request.query_params
    raw_limit = params.get("limit", str(MAX_LIMIT))
    if not raw_limit.isdigit():
        raise InvalidInput(f"Invalid input received: limit {raw_limit!r} must be an integer")
    every = who.caller.is_admin and params.get("all_tenants", "0").lower() in ("1", "true")
    marker = _uuid(params["marker"]) if params.get("marker") else None
    found = await q.list_volumes(
        await caught_up(request), None if every else who.project_id,
        limit=min(int(raw_limit), MAX_LIMIT), marker=marker, name=params.get("name"),
        status=params.get("status"))
    base = context(request).base_url
    body = [volume(base, v, admin=who.caller.is_admin) if detail else volume_brief(base, v)
            for v in found]
    return JSONResponse({"volumes": body})


async def list_volumes(request: Request) -> Response:
    return await _list(request, detail=False)


async def list_volumes_detail(request: Request) -> Response:
    return await _list(request, detail=True)


async def show_volume(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    ident = _uuid(request.path_params["volume_id"])
    found = await q.get_volume(await caught_up(request), ident,
                               None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Volume {ident} could not be found.")
    return JSONResponse({"volume": volume(context(request).base_url, found,
                                          admin=who.caller.is_admin)})


async def _attachments(request: Request) -> list[Volume]:
    """The server's attachments, if the caller may see the server (Nova's 404)."""
    who = claims(request)
    pool = await caught_up(request)
    server_id = _server_uuid(request.path_params["server_id"])
    if await get_instance(pool, server_id, None if who.caller.is_admin else who.project_id) \
            is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return await q.attached_to(pool, server_id)


def _server_uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"Instance {value} could not be found.") from None


async def list_attachments(request: Request) -> Response:
    found = await _attachments(request)
    return JSONResponse({"volumeAttachments": [volume_attachment(v) for v in found]})


async def show_attachment(request: Request) -> Response:
    wanted = request.path_params["volume_id"]
    found = next((v for v in await _attachments(request) if v.id == wanted), None)
    if found is None:
        raise NotFound(f"volume_id not found: {wanted}")
    return JSONResponse({"volumeAttachment": volume_attachment(found)})


async def _snapshots(request: Request, *, detail: bool) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    every = (who.caller.is_admin
             and request.query_params.get("all_tenants", "0").lower() in ("1", "true"))
    found = await q.list_snapshots(await caught_up(request), None if every else who.project_id,
                                   limit=MAX_LIMIT,
                                   volume_id=request.query_params.get("volume_id"))
    body = [snapshot(s) if detail else {"id": s.id, "name": s.name, "status": str(s.status),
                                        "size": s.size_gb, "volume_id": s.volume_id}
            for s in found]
    return JSONResponse({"snapshots": body})


async def list_snapshots(request: Request) -> Response:
    return await _snapshots(request, detail=False)


async def list_snapshots_detail(request: Request) -> Response:
    return await _snapshots(request, detail=True)


async def show_snapshot(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    raw = request.path_params["snapshot_id"]
    try:
        ident = UUID(raw)
    except ValueError:
        raise NotFound(f"Snapshot {raw} could not be found.") from None
    found = await q.get_snapshot(await caught_up(request), ident,
                                 None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Snapshot {ident} could not be found.")
    return JSONResponse({"snapshot": snapshot(found)})


async def _backups(request: Request, *, detail: bool) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    every = (who.caller.is_admin
             and request.query_params.get("all_tenants", "0").lower() in ("1", "true"))
    found = await q.list_backups(await caught_up(request), None if every else who.project_id,
                                 limit=MAX_LIMIT)
    body = [backup(b) if detail else {"id": b.id, "name": b.name} for b in found]
    return JSONResponse({"backups": body})


async def list_backups(request: Request) -> Response:
    return await _backups(request, detail=False)


async def list_backups_detail(request: Request) -> Response:
    return await _backups(request, detail=True)


async def show_backup(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    raw = request.path_params["backup_id"]
    try:
        ident = UUID(raw)
    except ValueError:
        raise NotFound(f"Backup {raw} could not be found.") from None
    found = await q.get_backup(await caught_up(request), ident,
                               None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Backup {ident} could not be found.")
    return JSONResponse({"backup": backup(found)})


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


S = "/compute/v2.1/servers/{server_id}/os-volume_attachments"

routes = [
    Route(f"{PREFIX}/types", list_types, methods=["GET"]),
    Route(f"{PREFIX}/types/{{type_id}}", show_type, methods=["GET"]),
    Route(f"{PREFIX}/backups", list_backups, methods=["GET"]),
    Route(f"{PREFIX}/backups/detail", list_backups_detail, methods=["GET"]),
    Route(f"{PREFIX}/backups/{{backup_id}}", show_backup, methods=["GET"]),
    Route(f"{PREFIX}/snapshots", list_snapshots, methods=["GET"]),
    Route(f"{PREFIX}/snapshots/detail", list_snapshots_detail, methods=["GET"]),
    Route(f"{PREFIX}/snapshots/{{snapshot_id}}", show_snapshot, methods=["GET"]),
    Route(S, list_attachments, methods=["GET"]),
    Route(f"{S}/{{volume_id}}", show_attachment, methods=["GET"]),
    Route(f"{PREFIX}/volumes", list_volumes, methods=["GET"]),
    Route(f"{PREFIX}/volumes/detail", list_volumes_detail, methods=["GET"]),
    Route(f"{PREFIX}/volumes/{{volume_id}}", show_volume, methods=["GET"]),
]
