"""The list and show handlers of Cinder's volumes, snapshots and backups,
answered from the views.

Every one first waits for the views to catch up (api/consistency.py), so a
client that creates a volume and at once shows it finds it. Lists and shows
of the three kinds differ only in their names and shapes, so one pair of
handlers serves each kind.
"""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import query_params
from api.consistency import caught_up
from api.context import claims, context
from api.http import uuid_or_404
from api.volume.requests import own_project
from api.volume.shapes import backup, backup_brief, snapshot, volume, volume_brief
from domain.backup import Backup
from domain.errors import InvalidInput, NotFound
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


def _order(request: Request) -> q.Order | None:
    """Cinder's ``sort=key[:dir],...`` or ``sort_key``/``sort_dir`` (desc unless
    told), as view columns; None: newest first. 400 for a key or a direction
    Cinder does not sort by."""
    params = request.query_params
    if "sort" in params:
        asked = [tuple(part.strip().partition(":")[::2]) for part in params["sort"].split(",")]
    elif "sort_key" in params or "sort_dir" in params:
        asked = [(key.strip(), params.get("sort_dir", "desc"))
                 for key in params.get("sort_key", "created_at").split(",")]
    else:
        return None
    order: q.Order = []
    for key, direction in asked:
        if key not in q.SORTABLE:
            raise InvalidInput(f"Invalid input received: Invalid sort key {key}.")
        if (direction or "desc").lower() not in ("asc", "desc"):
            raise InvalidInput("Unknown sort direction, must be 'desc' or 'asc'.")
        order.append((q.SORTABLE[key], (direction or "desc").lower() == "desc"))
    return order


def _next_link(request: Request, key: str, found: list[Any], limit: int) -> dict[str, Any]:
    """``{key}_links`` with the next page's link when this page is full."""
    if not found or len(found) < limit:
        return {}
    kept = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("marker", "limit", "offset")]
    query = urlencode([*kept, ("limit", str(limit)), ("marker", found[-1].id)])
    href = f"{context(request).base_url}{request.url.path}?{query}"
    return {f"{key}_links": [{"rel": "next", "href": href}]}


def _pairs(raw: str) -> dict[str, str]:
    """The ``metadata`` filter, as Cinder reads it: a JSON or Python dict literal."""
    try:
        found = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        found = None
    if not isinstance(found, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise InvalidInput(f"Invalid filter: metadata {raw[:80]!r} is not a mapping of "
                           "strings.")
    return found


def lister(kind: type[Volume | Snapshot | Backup], key: str, *, detail: bool) -> Handler:
    """``GET .../{key}[/detail]``: the caller's project's (an admin's with
    ``all_tenants``: every project's, or ``project_id``'s if named), newest
    first or as sorted, with Cinder's filters and paging (``limit``,
    ``marker``, ``offset``, and a next link for a full page)."""
    async def handler(request: Request) -> Response:
        who = claims(request)
        own_project(who, request.path_params["project_id"])
        params = request.query_params
        limit = query_params.limit(request, default=MAX_LIMIT, most=MAX_LIMIT)
        offset = (query_params.whole_number(params["offset"], "query parameter offset")
                  if "offset" in params else 0)
        every = who.caller.is_admin and params.get("all_tenants", "0").lower() in ("1", "true")
        filters = {name: params.get(name) for name in ("name", "status")}
        if kind is Snapshot:
            filters["volume_id"] = params.get("volume_id")
        marker = uuid_or_404(params["marker"], "Marker") if params.get("marker") else None
        pairs = (_pairs(params["metadata"]) if kind is Volume and params.get("metadata")
                 else None)
        found = await q.listed(await caught_up(request), kind,
                               limit=limit, marker=marker, order=_order(request),
                               offset=offset, metadata=pairs,
                               project_id=(params.get("project_id") if every
                                           else who.project_id),
                               **filters)
        return JSONResponse({key: [_shape(request, f, detail=detail) for f in found],
                             **_next_link(request, key, found, limit)})
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
