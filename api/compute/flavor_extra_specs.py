"""Nova's flavor extra specs (os-extra_specs): anyone who sees a flavor reads
them (from the catalog view); an admin sets, replaces one of, or deletes
them (FlavorExtraSpecsSet / FlavorExtraSpecDeleted on the flavor), answered
with what the flavor holds after the change."""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.flavors import visible_flavor, written_headers
from api.context import claims
from api.fields import MetadataKey
from api.http import commands
from api.policy import require_admin
from domain.errors import InvalidInput, NotFound

# Nova accepts numbers and booleans as values and keeps them as text
SpecValue = str | int | float | bool


class ExtraSpecsBody(msgspec.Struct):
    extra_specs: dict[MetadataKey, SpecValue]


def _text(value: SpecValue) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


async def list_extra_specs(request: Request) -> Response:
    flavor = await visible_flavor(request)
    return microversion.answer({"extra_specs": dict(flavor.extra_specs)}, request)


async def show_extra_spec(request: Request) -> Response:
    flavor = await visible_flavor(request)
    key = request.path_params["key"]
    if key not in flavor.extra_specs:
        raise NotFound(f"Flavor {flavor.id} has no extra specs with key {key}.")
    return microversion.answer({key: flavor.extra_specs[key]}, request)


async def _set(request: Request, specs: dict[str, str], action: str) -> Response:
    who = claims(request)
    require_admin(who, f"os_compute_api:os-flavor-extra-specs:{action}")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).flavors.set_extra_specs, request.path_params["flavor_id"], specs,
        who.caller, request_id)
    body = {k: written.state.extra_specs[k] for k in specs}
    return JSONResponse({"extra_specs": body} if action == "create" else body,
                        headers=written_headers(request, request_id, written.position))


async def create_extra_specs(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-flavor-extra-specs:create")
    body = decode(await request.body(), ExtraSpecsBody, strict=False)
    return await _set(request, {k: _text(v) for k, v in body.extra_specs.items()}, "create")


async def update_extra_spec(request: Request) -> Response:
    """PUT .../os-extra_specs/{key} {key: value}: the body names the path's key alone."""
    require_admin(claims(request), "os_compute_api:os-flavor-extra-specs:update")
    key = request.path_params["key"]
    body = decode(await request.body(), dict[MetadataKey, SpecValue], strict=False)
    if len(body) != 1:
        raise InvalidInput("Request body contains too many items; exactly one is expected")
    if key not in body:
        raise InvalidInput("Request body and URI mismatch")
    return await _set(request, {key: _text(body[key])}, "update")


async def delete_extra_spec(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-flavor-extra-specs:delete")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).flavors.delete_extra_spec, request.path_params["flavor_id"],
        request.path_params["key"], who.caller, request_id)
    return Response(status_code=200,
                    headers=written_headers(request, request_id, written.position))


C = "/compute/v2.1/flavors/{flavor_id}/os-extra_specs"
command_routes: list[BaseRoute] = [
    Route(C, create_extra_specs, methods=["POST"]),
    Route(f"{C}/{{key}}", update_extra_spec, methods=["PUT"]),
    Route(f"{C}/{{key}}", delete_extra_spec, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(C, list_extra_specs, methods=["GET"]),
    Route(f"{C}/{{key}}", show_extra_spec, methods=["GET"]),
]
