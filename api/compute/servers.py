"""Nova's servers: list and show (queries, answered from the views only), boot,
rename and delete (commands).

A read first waits for the views to catch up (api/consistency.py), so a
client that boots and at once lists or shows its server finds it. A write
only appends events (through the command services, in a worker thread
because the event store is synchronous); it never publishes to NATS and
never writes a view. Its answer carries the log position of the events.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion, query_params
from api.bodies import decode
from api.compute import shapes
from api.compute.bodies import CreateServerBody, UpdateServerBody, count
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.http import commands, links, uuid_or_404, uuid_or_none
from api.tokens import Claims
from commands.messages import Accepted, BootInstance, DeleteInstance, UpdateInstance
from domain.errors import InvalidInput, NotFound
from projections import queries
from projections.hosts_queries import HostView, list_hosts
from projections.network_security_queries import groups_of_servers
from projections.networks_queries import addresses_of
from projections.volumes_queries import volumes_of_servers


def _scope(request: Request, who: Claims) -> str | None:
    """The project whose servers a caller sees; None means all (admin asking)."""
    flag = request.query_params.get("all_tenants")
    if who.caller.is_admin and flag is not None and flag.lower() not in ("0", "false", "no"):
        return None
    return who.project_id


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
    """Nova's list filters; ``host`` only for admins (ignored for others), and
    ``ip6`` also before 2.5."""
    q = request.query_params
    image = q.get("image")
    return queries.ServerFilters(
        name=q.get("name") or None, status=q.get("status") or None,
        host=(q.get("host") or None) if who.caller.is_admin else None,
        flavor_id=q.get("flavor") or None,
        image_ref=image.rstrip("/").rpartition("/")[2] if image else None,
        reservation_id=q.get("reservation_id") or None,
        changes_since=_changes_since(request),
        ip=q.get("ip") or None,
        ip6=(q.get("ip6") or None)
        if who.caller.is_admin or microversion.at_least(request, 5) else None,
        **(_tag_filters(q) if microversion.at_least(request, 26) else {}),
    )


def _tag_filters(q: Any) -> dict[str, list[str] | None]:
    """The tag filters of 2.26: each a comma-separated list."""
    return {field: [t for t in value.split(",") if t] or None
            for field, name in (("tags", "tags"), ("tags_any", "tags-any"),
                                ("not_tags", "not-tags"), ("not_tags_any", "not-tags-any"))
            if (value := q.get(name))}


def _next_link(request: Request, found: Sequence[queries.InstanceView | queries.InstanceBrief],
               limit: int, *, detail: bool) -> list[dict[str, str]]:
    if not found or len(found) < limit:
        return []
    params = {k: v for k, v in request.query_params.items() if k != "marker"}
    params.update(limit=str(limit), marker=str(found[-1].id))
    path = "servers/detail" if detail else "servers"
    href = f"{context(request).base_url}/compute/v2.1/{path}?{urlencode(params)}"
    return [{"rel": "next", "href": href}]


def host_status(host: HostView | None, down_after: float) -> str:
    """Nova's ``host_status`` (2.16) of a server on ``host`` (None: it has no
    host, or one nimbus does not know): DOWN, MAINTENANCE, UP or UNKNOWN."""
    if host is None:
        return ""
    if host.forced_down:
        return "DOWN"
    if host.disabled:
        return "MAINTENANCE"
    return "UP" if host.is_up(down_after) else "UNKNOWN"


async def host_statuses(request: Request, who: Claims) -> dict[str, str] | None:
    """Each known host's ``host_status``, when the answer shows it (an admin
    asking at 2.16 or later); None otherwise."""
    if not (who.caller.is_admin and microversion.at_least(request, 16)):
        return None
    pool = context(request).pool
    assert pool is not None, "query routes need the views"
    down_after = context(request).settings.service_down_time
    return {h.host: host_status(h, down_after) for h in await list_hosts(pool)}


def _status_of(statuses: dict[str, str] | None, s: queries.InstanceView) -> str | None:
    return None if statuses is None else statuses.get(s.host, "")


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
    marker = uuid_or_none(raw_marker) if raw_marker else None
    if raw_marker and (marker is None or not await queries.instance_exists(pool, marker, scope)):
        raise InvalidInput(f"marker [{raw_marker}] not found")
    filters = _filters(request, who)
    if not detail:  # ids and names only: the rest of the row is neither read nor decoded
        briefs = await queries.list_instances(pool, scope, queries.InstanceBrief,
                                              filters=filters, limit=limit, marker=marker)
        body = [shapes.server_brief(ctx.base_url, s) for s in briefs]
        return _listed(request, body, _next_link(request, briefs, limit, detail=False))
    found = await queries.list_instances(pool, scope, queries.InstanceView,
                                         filters=filters, limit=limit, marker=marker)
    ids = [s.id for s in found]
    volumes = await volumes_of_servers(pool, ids)
    groups = await groups_of_servers(pool, ids)
    addresses = await addresses_of(pool, ids)
    statuses = await host_statuses(request, who)
    version = microversion.requested(request)
    body = [shapes.server(ctx.base_url, s, admin=who.caller.is_admin,
                         volumes=volumes.get(str(s.id)), groups=groups.get(str(s.id)),
                         addresses=addresses.get(str(s.id)), version=version,
                         host_status=_status_of(statuses, s)) for s in found]
    return _listed(request, body, _next_link(request, found, limit, detail=True))


def _listed(request: Request, body: list[dict[str, Any]],
            next_link: list[dict[str, str]]) -> Response:
    answer: dict[str, Any] = {"servers": body}
    if next_link:
        answer["servers_links"] = next_link
    return microversion.answer(answer, request)


async def show_server(request: Request) -> Response:
    found = await visible_server(request)
    who = claims(request)
    admin = who.caller.is_admin
    pool = context(request).pool
    assert pool is not None, "query routes need the views"
    volumes = await volumes_of_servers(pool, [found.id])
    groups = await groups_of_servers(pool, [found.id])
    addresses = await addresses_of(pool, [found.id])
    body = shapes.server(context(request).base_url, found, admin=admin,
                        volumes=volumes.get(str(found.id)), groups=groups.get(str(found.id)),
                        addresses=addresses.get(str(found.id)),
                        version=microversion.requested(request),
                        host_status=_status_of(await host_statuses(request, who), found))
    return microversion.answer({"server": body}, request)


async def visible_server(request: Request) -> queries.InstanceView:
    who = claims(request)
    pool = await caught_up(request)
    ident = uuid_or_404(request.path_params["server_id"], "Instance")
    scope = None if who.caller.is_admin else who.project_id
    found = await queries.get_instance(pool, ident, scope)
    if found is None:
        raise NotFound(f"Instance {ident} could not be found.")
    return found


def accepted_answer(request: Request, accepted: Accepted, status: int,
                    body: dict[str, Any] | None,
                    extra: dict[str, str] | None = None) -> Response:
    """A compute write's answer: its request id, microversion and log position."""
    version = microversion.requested(request)
    headers = {"x-openstack-request-id": accepted.request_id, **microversion.headers(version),
               **positioned(accepted.position)}
    headers.update(extra or {})
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def described(request: Request, description: object) -> None:
    """A server's ``description`` is known from 2.19 on; before, Nova's schema
    refuses it as an unexpected property."""
    if description is not msgspec.UNSET and not microversion.at_least(request, 19):
        raise InvalidInput("Invalid input for field/attribute server. Additional properties"
                           " are not allowed ('description' was unexpected)")


def _access_ip(value: str, field: str, family: int) -> str:
    """An access IP as Nova's schema takes it: empty, or an address of its family."""
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is None or address.version != family:
        raise InvalidInput(f"Invalid input for field/attribute {field}. Value: {value}."
                           f" '{value}' is not a 'ipv{family}'")
    return str(address)


async def create_server(request: Request) -> Response:
    who = claims(request)
    whole = decode(await request.body(), CreateServerBody)
    body = whole.server
    described(request, body.description)
    cmd = BootInstance(
        server_group=whole.scheduler_hints.group if whole.scheduler_hints else None,
        request_id=await idempotency.request_id(request, who), caller=who.caller,
        name=body.name, flavor_ref=str(body.flavorRef), image_ref=body.image(),
        key_name=body.key_name, metadata=body.metadata, user_data=body.user_data,
        availability_zone=body.availability_zone,
        min_count=count(body.min_count, "min_count") or 1,
        max_count=count(body.max_count, "max_count"),
        description=None if isinstance(body.description, msgspec.UnsetType)
        else body.description,
        networks=body.nics(), access_ip_v4=_access_ip(body.accessIPv4, "accessIPv4", 4),
        access_ip_v6=_access_ip(body.accessIPv6, "accessIPv6", 6),
    )
    accepted = await run_in_threadpool(commands(request).instances.boot, cmd)
    if body.return_reservation_id:
        return accepted_answer(request, accepted, 202,
                               {"reservation_id": accepted.reservation_id})
    base = context(request).base_url
    created = {
        "id": accepted.instance_id,
        "links": links(base, "servers", accepted.instance_id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": body.adminPass or secrets.token_urlsafe(12),
    }
    location = f"{base}/compute/v2.1/servers/{accepted.instance_id}"
    return accepted_answer(request, accepted, 202, {"server": created}, {"Location": location})


async def update_server(request: Request) -> Response:
    who = claims(request)
    body = decode(await request.body(), UpdateServerBody).server
    described(request, body.description)
    cmd = UpdateInstance(
        request_id=await idempotency.request_id(request, who), caller=who.caller,
        instance_id=request.path_params["server_id"], name=body.name,
        description=None if isinstance(body.description, msgspec.UnsetType)
        else body.description, description_set=body.description is not msgspec.UNSET,
    )
    accepted = await run_in_threadpool(commands(request).instances.change, cmd)
    assert accepted.state is not None
    version = microversion.requested(request)
    shown = shapes.updated_server(shapes.server(
        context(request).base_url, shapes.from_state(accepted.state),
        admin=who.caller.is_admin, version=version), version)
    return accepted_answer(request, accepted, 200, {"server": shown})


async def delete_server(request: Request) -> Response:
    who = claims(request)
    cmd = DeleteInstance(request_id=await idempotency.request_id(request, who), caller=who.caller,
                         instance_id=request.path_params["server_id"])
    accepted = await run_in_threadpool(commands(request).instances.act, cmd)
    return accepted_answer(request, accepted, 204, None)


command_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers", create_server, methods=["POST"]),
    Route("/compute/v2.1/servers/{server_id}", delete_server, methods=["DELETE"]),
    Route("/compute/v2.1/servers/{server_id}", update_server, methods=["PUT"]),
]
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers", list_servers, methods=["GET"]),
    Route("/compute/v2.1/servers/detail", list_servers_detail, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}", show_server, methods=["GET"]),
]
