"""Compute query routes (servers and their actions): answered from the views only.

Every route first waits for the views to catch up (api/consistency.py), so
a client that boots and at once lists or shows its server finds it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import microversion, query_params, views
from api.consistency import caught_up
from api.context import claims, context
from api.tokens import Claims
from domain.errors import InvalidInput, NotFound
from projections import queries
from projections.volumes_queries import volumes_of_servers


def _json(body: Any, request: Request, status: int = 200) -> Response:
    version = microversion.requested(request)
    return JSONResponse(body, status_code=status, headers=microversion.headers(version))


def _scope(request: Request, who: Claims) -> str | None:
    """The project whose servers a caller sees; None means all (admin asking)."""
    flag = request.query_params.get("all_tenants")
    if who.caller.is_admin and flag is not None and flag.lower() not in ("0", "false", "no"):
        return None
    return who.project_id


def _uuid(value: str, kind: str = "Instance") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{kind} {value} could not be found.") from None


MAX_LIMIT = 1000  # Nova's osapi_max_limit


def _changes_since(request: Request) -> datetime | None:
    raw = request.query_params.get("changes-since")
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise InvalidInput(f"Invalid input for query parameter changes-since: {raw!r} "
                           "is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _filters(request: Request, who: Claims) -> queries.ServerFilters:
    """Nova's list filters; ``host`` only for admins (ignored for others)."""
    q = request.query_params
    image = q.get("image")
    return queries.ServerFilters(
        name=q.get("name") or None, status=q.get("status") or None,
        host=(q.get("host") or None) if who.caller.is_admin else None,
        flavor_id=q.get("flavor") or None,
        image_ref=image.rstrip("/").rpartition("/")[2] if image else None,
        changes_since=_changes_since(request),
    )


def _next_link(request: Request, found: list[queries.InstanceView], limit: int,
               *, detail: bool) -> list[dict[str, str]]:
    if not found or len(found) < limit:
        return []
    params = {k: v for k, v in request.query_params.items() if k != "marker"}
    params.update(limit=str(limit), marker=str(found[-1].id))
    path = "servers/detail" if detail else "servers"
    href = f"{context(request).base_url}/compute/v2.1/{path}?{urlencode(params)}"
    return [{"rel": "next", "href": href}]


async def compute_version(request: Request) -> Response:
    base = context(request).base_url
    return JSONResponse({"version": _version_doc(base)})


async def compute_versions(request: Request) -> Response:
    base = context(request).base_url
    return JSONResponse({"versions": [_version_doc(base)]})


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v2.1", "status": "CURRENT", "updated": "2013-07-23T11:33:21Z",
        "version": microversion.text(microversion.MAX),
        "min_version": microversion.text(microversion.MIN),
        "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


async def list_servers(request: Request) -> Response:
    return await _list(request, detail=False)


async def list_servers_detail(request: Request) -> Response:
    return await _list(request, detail=True)


async def _list(request: Request, *, detail: bool) -> Response:
    who = claims(request)
    pool = await caught_up(request)
    ctx = context(request)
    scope = _scope(request, who)
    limit = query_params.limit(request, default=MAX_LIMIT, most=MAX_LIMIT)
    raw_marker = request.query_params.get("marker")
    marker = None
    if raw_marker:
        try:
            marker = UUID(raw_marker)
        except ValueError:
            raise InvalidInput(f"marker [{raw_marker}] not found") from None
        if not await queries.instance_exists(pool, marker, scope):
            raise InvalidInput(f"marker [{raw_marker}] not found")
    found = await queries.list_instances(
        pool, scope, filters=_filters(request, who), limit=limit, marker=marker)
    if detail:
        volumes = await volumes_of_servers(pool, [s.id for s in found])
        body = [views.server(ctx.base_url, s, admin=who.caller.is_admin,
                             volumes=volumes.get(str(s.id))) for s in found]
    else:
        body = [views.server_brief(ctx.base_url, s) for s in found]
    answer: dict[str, Any] = {"servers": body}
    next_link = _next_link(request, found, limit, detail=detail)
    if next_link:
        answer["servers_links"] = next_link
    return _json(answer, request)


async def show_server(request: Request) -> Response:
    found = await _visible_server(request)
    admin = claims(request).caller.is_admin
    pool = context(request).pool
    assert pool is not None, "query routes need the views"
    volumes = await volumes_of_servers(pool, [found.id])
    body = views.server(context(request).base_url, found, admin=admin,
                        volumes=volumes.get(str(found.id)))
    return _json({"server": body}, request)


async def _visible_server(request: Request) -> queries.InstanceView:
    who = claims(request)
    pool = await caught_up(request)
    ident = _uuid(request.path_params["server_id"])
    scope = None if who.caller.is_admin else who.project_id
    found = await queries.get_instance(pool, ident, scope)
    if found is None:
        raise NotFound(f"Instance {ident} could not be found.")
    return found


async def show_metadata(request: Request) -> Response:
    found = await _visible_server(request)
    return _json({"metadata": dict(found.metadata)}, request)


async def show_metadata_item(request: Request) -> Response:
    found = await _visible_server(request)
    key = request.path_params["key"]
    if key not in found.metadata:
        raise NotFound("Metadata item was not found")
    return _json({"meta": {key: found.metadata[key]}}, request)


async def _actions(request: Request) -> tuple[UUID, list[queries.ActionView]]:
    """The actions on the server named in the path, if the caller may see it
    (actions outlive the instance, so a deleted one's are still shown)."""
    who = claims(request)
    pool = await caught_up(request)
    ident = _uuid(request.path_params["server_id"])
    owner = await queries.instance_project(pool, ident)
    if owner is None or (owner != who.project_id and not who.caller.is_admin):
        raise NotFound(f"Instance {ident} could not be found.")
    return ident, await queries.list_actions(pool, ident)


async def list_actions(request: Request) -> Response:
    _, actions = await _actions(request)
    body = [views.action(a) for a in reversed(actions)]  # newest first, as Nova
    return _json({"instanceActions": body}, request)


async def show_action(request: Request) -> Response:
    ident, actions = await _actions(request)
    wanted = request.path_params["request_id"]
    found = next((a for a in actions if a.request_id == wanted), None)
    if found is None:
        raise NotFound(f"Action {wanted} on instance {ident} could not be found.")
    return _json({"instanceAction": views.action_detail(found)}, request)


routes = [
    Route("/compute", compute_versions, methods=["GET"]),
    Route("/compute/", compute_versions, methods=["GET"]),
    Route("/compute/v2.1", compute_version, methods=["GET"]),
    Route("/compute/v2.1/", compute_version, methods=["GET"]),
    Route("/compute/v2.1/servers", list_servers, methods=["GET"]),
    Route("/compute/v2.1/servers/detail", list_servers_detail, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}", show_server, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/metadata", show_metadata, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/metadata/{key}", show_metadata_item,
          methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/os-instance-actions", list_actions,
          methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/os-instance-actions/{request_id}", show_action,
          methods=["GET"]),
]
