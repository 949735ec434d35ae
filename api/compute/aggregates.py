"""Nova's os-aggregates (admin only): host aggregates with their hosts and
metadata, whose ``availability_zone`` makes them a zone. Writes are commands
on the host aggregates (commands/host_aggregates.py), answered from the state
their events left; reads come from the host aggregates view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.flavors import written_headers
from api.consistency import caught_up
from api.context import claims
from api.fields import LooseName, MetadataKey, MetadataValue, Name
from api.http import commands
from api.policy import require_admin
from domain import host_aggregate as model
from domain.errors import InvalidInput, NotFound
from projections.host_aggregates_queries import (
    HostAggregateView,
    get_host_aggregate,
    list_host_aggregates,
)


class NewAggregate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    availability_zone: LooseName | None = None


class CreateBody(msgspec.Struct):
    aggregate: NewAggregate


class AggregateChange(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    availability_zone: LooseName | None = None


class UpdateBody(msgspec.Struct):
    aggregate: AggregateChange


class HostBody(msgspec.Struct, forbid_unknown_fields=True):
    host: Name


class MetadataBody(msgspec.Struct, forbid_unknown_fields=True):
    metadata: dict[MetadataKey, MetadataValue | None]


class ActionBody(msgspec.Struct, forbid_unknown_fields=True):
    add_host: HostBody | None = None
    remove_host: HostBody | None = None
    set_metadata: MetadataBody | None = None


def _time(ts: datetime | None) -> str | None:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f") if ts else None


def _body(agg: model.HostAggregate | HostAggregateView, *, full: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": agg.id, "name": agg.name, "availability_zone": agg.metadata.get(model.AZ_KEY),
        "created_at": _time(agg.created_at), "updated_at": _time(agg.updated_at),
        "deleted": False, "deleted_at": None,
    }
    if full:
        body.update(hosts=list(agg.hosts), metadata=dict(agg.metadata))
    return body


def _with_uuid(request: Request, body: dict[str, Any], agg_uuid: str) -> dict[str, Any]:
    return {**body, "uuid": agg_uuid} if microversion.at_least(request, 41) else body


def _aggregate_id(request: Request) -> int:
    raw = request.path_params["aggregate_id"]
    try:
        return int(raw)
    except ValueError:
        raise NotFound(f"Aggregate {raw} could not be found.") from None


async def list_aggregates(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-aggregates:index")
    found = await list_host_aggregates(await caught_up(request))
    return microversion.answer(
        {"aggregates": [_with_uuid(request, _body(a), a.uuid) for a in found]}, request)


async def show_aggregate(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-aggregates:show")
    agg_id = _aggregate_id(request)
    found = await get_host_aggregate(await caught_up(request), agg_id)
    if found is None:
        raise NotFound(f"Aggregate {agg_id} could not be found.")
    return microversion.answer({"aggregate": _with_uuid(request, _body(found), found.uuid)},
                               request)


async def _written(request: Request, action: str, run: Callable[..., Any], *args: Any,
                   pick: Any = None, full: bool = True) -> Response:
    """Run a host aggregate command; answer with the aggregate it left."""
    who = claims(request)
    require_admin(who, f"os_compute_api:os-aggregates:{action}")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(run, *args, request_id)
    headers = written_headers(request, request_id, written.position)
    if pick is None:
        return Response(status_code=200, headers=headers)
    agg: model.HostAggregate = pick(written.state)
    body = _with_uuid(request, _body(agg, full=full), agg.uuid)
    return JSONResponse({"aggregate": body}, headers=headers)


async def create_aggregate(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-aggregates:create")
    new = decode(await request.body(), CreateBody).aggregate
    return await _written(
        request, "create", commands(request).host_aggregates.create, new.name,
        new.availability_zone, full=False,
        pick=lambda s: next(a for a in s.aggregates.values() if a.name == new.name))


async def update_aggregate(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-aggregates:update")
    agg_id = _aggregate_id(request)
    change = decode(await request.body(), UpdateBody).aggregate
    return await _written(request, "update", commands(request).host_aggregates.update,
                          agg_id, change.name, change.availability_zone,
                          pick=lambda s: s.aggregates[agg_id])


async def delete_aggregate(request: Request) -> Response:
    agg_id = _aggregate_id(request)
    return await _written(request, "delete", commands(request).host_aggregates.delete, agg_id)


async def aggregate_action(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-aggregates:action")
    agg_id = _aggregate_id(request)
    body = decode(await request.body(), ActionBody)
    given = [a for a in (body.add_host, body.remove_host, body.set_metadata) if a is not None]
    if len(given) != 1:
        raise InvalidInput("Invalid input for field/attribute action. Exactly one of "
                           "add_host, remove_host or set_metadata is expected.")
    service = commands(request).host_aggregates
    pick = lambda s: s.aggregates[agg_id]  # noqa: E731
    if body.add_host is not None:
        return await _written(request, "add_host", service.add_host, agg_id,
                              body.add_host.host, pick=pick)
    if body.remove_host is not None:
        return await _written(request, "remove_host", service.remove_host, agg_id,
                              body.remove_host.host, pick=pick)
    assert body.set_metadata is not None
    return await _written(request, "set_metadata", service.set_metadata, agg_id,
                          dict(body.set_metadata.metadata), pick=pick)


C = "/compute/v2.1"
command_routes: list[BaseRoute] = [
    Route(f"{C}/os-aggregates", create_aggregate, methods=["POST"]),
    Route(f"{C}/os-aggregates/{{aggregate_id}}", update_aggregate, methods=["PUT"]),
    Route(f"{C}/os-aggregates/{{aggregate_id}}", delete_aggregate, methods=["DELETE"]),
    Route(f"{C}/os-aggregates/{{aggregate_id}}/action", aggregate_action, methods=["POST"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{C}/os-aggregates", list_aggregates, methods=["GET"]),
    Route(f"{C}/os-aggregates/{{aggregate_id}}", show_aggregate, methods=["GET"]),
]
