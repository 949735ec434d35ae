"""Nova's flavor access: which projects may use a private flavor. An admin
adds or removes a project (``POST /flavors/{id}/action``, the only flavor
actions nimbus serves); anyone who sees the flavor reads the list."""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.flavors import visible_flavor, written_headers
from api.consistency import caught_up
from api.context import claims
from api.fields import Text255
from api.http import commands
from api.policy import require_admin
from domain.errors import InvalidInput, NotFound
from projections import catalog_queries as q


class TenantBody(msgspec.Struct):
    tenant: Text255


class FlavorActionBody(msgspec.Struct, kw_only=True):
    addTenantAccess: TenantBody | None = None
    removeTenantAccess: TenantBody | None = None


async def flavor_access(request: Request) -> Response:
    flavor = await visible_flavor(request)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    projects = await q.flavor_projects(await caught_up(request), flavor.id)
    body = {"flavor_access": [{"flavor_id": flavor.id, "tenant_id": p} for p in projects]}
    return microversion.answer(body, request)


async def flavor_action(request: Request) -> Response:
    who = claims(request)
    body = decode(await request.body(), FlavorActionBody, strict=False)
    if (body.addTenantAccess is None) == (body.removeTenantAccess is None):
        raise InvalidInput("Exactly one of addTenantAccess or removeTenantAccess is expected.")
    allow = body.addTenantAccess is not None
    tenant = (body.addTenantAccess or body.removeTenantAccess)
    assert tenant is not None
    require_admin(who, "os_compute_api:os-flavor-access:" +
                  ("add_tenant_access" if allow else "remove_tenant_access"))
    request_id = await idempotency.request_id(request, who)
    flavor_id = request.path_params["flavor_id"]
    written = await run_in_threadpool(commands(request).flavors.grant, flavor_id,
                                      tenant.tenant, who.caller, request_id, allow=allow)
    access = [{"flavor_id": flavor_id, "tenant_id": p} for p in sorted(written.state.projects)]
    return JSONResponse({"flavor_access": access},
                        headers=written_headers(request, request_id, written.position))


C = "/compute/v2.1"
command_routes: list[BaseRoute] = [
    Route(f"{C}/flavors/{{flavor_id}}/action", flavor_action, methods=["POST"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{C}/flavors/{{flavor_id}}/os-flavor-access", flavor_access, methods=["GET"]),
]
