"""The list and show handlers of Cinder's volumes, snapshots and backups,
answered from the views.

Every one first waits for the views to catch up (api/consistency.py), so a
client that creates a volume and at once shows it finds it. Lists and shows
of the three kinds differ only in their names and shapes, so one pair of
handlers serves each kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import query_params
from api.consistency import caught_up
from api.context import claims, context
from api.http import uuid_or_404
from api.volume.requests import own_project
from api.volume.shapes import backup, backup_brief, snapshot, volume, volume_brief
from domain.backup import Backup
from domain.errors import NotFound
from domain.snapshot import Snapshot
from domain.volume import Volume
from projections import volumes_queries as q

MAX_LIMIT = 1000  # Cinder's osapi_max_limit
Handler = Callable[[Request], Awaitable[Response]]


def _shape(request: Request, found: Any, *, detail: bool) -> dict[str, Any]:
    admin = claims(request).caller.is_admin
    if isinstance(found, Volume):
        base = context(request).base_url
        return volume(base, found, admin=admin) if detail else volume_brief(base, found)
    if isinstance(found, Snapshot):
        return snapshot(found, shown=detail)
    assert isinstance(found, Backup)
    base = context(request).base_url
    return backup(base, found) if detail else backup_brief(base, found)


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
        marker = uuid_or_404(params["marker"], kind.__name__) if params.get("marker") else None
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
        ident = uuid_or_404(request.path_params["ident"], kind.__name__)
        found = await q.one(await caught_up(request), kind, ident,
                            None if who.caller.is_admin else who.project_id)
        if found is None:
            raise NotFound(f"{kind.__name__} {ident} could not be found.")
        return JSONResponse({key: _shape(request, found, detail=True)})
    return handler
