"""Nova's flavors: list (with the minDisk and minRam filters) and show
(queries, from the catalog view), admin create and delete (commands).

A write answers with the state its events left, plus ``Nimbus-Log-Position``
for read-your-writes; a read first waits for the views to catch up
(api/consistency.py).
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion, query_params
from api.bodies import decode
from api.compute import shapes
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.fields import Description, Integer, Name, Text255
from api.http import commands
from api.policy import require_admin
from commands.flavors import NewFlavor
from domain import flavor as flavor_model
from domain.errors import InvalidInput, NotFound
from projections import catalog_queries as q
from projections.catalog_queries import FlavorView

FLAVOR_PAGE_MAX = 1000  # Nova's osapi_max_limit


class FlavorBody(msgspec.Struct, kw_only=True):
    name: Name
    ram: Integer
    vcpus: Integer
    disk: Integer
    id: Text255 | Integer | None = None
    ephemeral: Integer = msgspec.field(default=0, name="OS-FLV-EXT-DATA:ephemeral")
    swap: Integer | Text255 = 0
    rxtx_factor: float = 1.0
    is_public: bool = msgspec.field(default=True, name="os-flavor-access:is_public")
    description: Description | msgspec.UnsetType | None = msgspec.UNSET  # 2.55


class CreateFlavorBody(msgspec.Struct):
    flavor: FlavorBody


def written_headers(request: Request, request_id: str, position: int | None) -> dict[str, str]:
    """A compute write's answer headers: request id, microversion, log position."""
    return {"x-openstack-request-id": request_id,
            **microversion.headers(microversion.requested(request)), **positioned(position)}



def _flavor_view(state: flavor_model.FlavorState) -> FlavorView:
    f = state.flavor
    return FlavorView(id=f.id, name=f.name, vcpus=f.vcpus, ram=f.ram, disk=f.disk,
                      ephemeral=f.ephemeral, swap=f.swap, rxtx_factor=f.rxtx_factor,
                      is_public=f.is_public, description=state.description,
                      created_at=state.created_at or datetime.min)


def _is_public(raw: str | None) -> bool | None:
    """Nova's is_public query flag: absent/true, false, or none (all)."""
    if raw is None:
        return True
    value = raw.strip().lower()
    if value == "none":
        return None
    if value in ("true", "1", "yes", "t", "y", "on"):
        return True
    if value in ("false", "0", "no", "f", "n", "off"):
        return False
    raise InvalidInput(f"Invalid is_public filter [{raw}]")


def _at_least(request: Request, name: str) -> int | None:
    """Nova's minDisk and minRam query filters: a whole number, or 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > 2147483647:
        raise InvalidInput(f"Invalid {name} filter [{raw}]")
    return int(raw)


async def _flavors(request: Request) -> list[q.FlavorView]:
    who = claims(request)
    params = request.query_params
    return await q.list_flavors(
        await caught_up(request), who.project_id, is_admin=who.caller.is_admin,
        is_public=_is_public(params.get("is_public")), marker=params.get("marker"),
        limit=query_params.limit(request, default=FLAVOR_PAGE_MAX, most=FLAVOR_PAGE_MAX),
        min_disk=_at_least(request, "minDisk"), min_ram=_at_least(request, "minRam"))


async def list_flavors(request: Request) -> Response:
    base = context(request).base_url
    return microversion.answer({"flavors": [shapes.flavor_brief(base, f)
                              for f in await _flavors(request)]}, request)


async def list_flavors_detail(request: Request) -> Response:
    base = context(request).base_url
    flavors = [shapes.flavor(base, f) for f in await _flavors(request)]
    return microversion.answer({"flavors": flavors}, request)


async def visible_flavor(request: Request) -> q.FlavorView:
    """The flavor named in the path, if the caller may see it, or 404."""
    who = claims(request)
    flavor_id = request.path_params["flavor_id"]
    found = await q.get_flavor(await caught_up(request), flavor_id, who.project_id,
                               is_admin=who.caller.is_admin)
    if found is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return found


async def show_flavor(request: Request) -> Response:
    flavor = await visible_flavor(request)
    body = {"flavor": shapes.flavor(context(request).base_url, flavor)}
    return microversion.answer(body, request)


async def create_flavor(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-flavor-manage:create")
    body = decode(await request.body(), CreateFlavorBody, strict=False).flavor
    if body.description is not msgspec.UNSET and not microversion.at_least(request, 55):
        raise InvalidInput("Invalid input for field/attribute flavor. Additional properties"
                           " are not allowed ('description' was unexpected)")
    if isinstance(body.swap, str) and body.swap.strip() not in ("", "0"):
        raise InvalidInput(f"Invalid input for field/attribute swap. Value: {body.swap}.")
    flavor_id = None if body.id in (None, "auto") else str(body.id)
    new = NewFlavor(name=body.name, vcpus=body.vcpus, ram=body.ram, disk=body.disk,
                    flavor_id=flavor_id, ephemeral=body.ephemeral,
                    swap=body.swap if isinstance(body.swap, int) else 0,
                    rxtx_factor=body.rxtx_factor, is_public=body.is_public,
                    description=None if isinstance(body.description, msgspec.UnsetType)
                    else body.description)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).flavors.create, new, who.caller,
                                      request_id)
    flavor = shapes.flavor(context(request).base_url, _flavor_view(written.state))
    return JSONResponse({"flavor": flavor},
                        headers=written_headers(request, request_id, written.position))


async def delete_flavor(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-flavor-manage:delete")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).flavors.delete,
                                      request.path_params["flavor_id"], who.caller, request_id)
    return Response(status_code=202,
                    headers=written_headers(request, request_id, written.position))


C = "/compute/v2.1"
command_routes: list[BaseRoute] = [
    Route(f"{C}/flavors", create_flavor, methods=["POST"]),
    Route(f"{C}/flavors/{{flavor_id}}", delete_flavor, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{C}/flavors", list_flavors, methods=["GET"]),
    Route(f"{C}/flavors/detail", list_flavors_detail, methods=["GET"]),
    Route(f"{C}/flavors/{{flavor_id}}", show_flavor, methods=["GET"]),
]
