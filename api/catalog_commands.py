"""Flavor and image command routes: admin flavor management and flavor
access (Nova), image create / upload / delete (the Glance v2 subset).

Each route turns the request into a call on a command service (in a worker
thread; the event store is synchronous) and answers with the state the
events left, plus ``Nimbus-Log-Position`` for read-your-writes. An image
upload streams the body to disk between two events (saving, then active);
however it ends short of that (refused, cut off, cancelled), the image goes
back to queued and the half-written file is removed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import catalog_views, idempotency, microversion
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.policy import require_admin
from commands.flavors import NewFlavor
from commands.images import NewImage
from commands.services import Commands
from domain import flavor as flavor_model
from domain import image as image_model
from domain.errors import DomainError, Forbidden, InvalidInput
from projections.catalog_queries import FlavorView, ImageView


class FlavorBody(msgspec.Struct, kw_only=True):
    name: str
    ram: int
    vcpus: int
    disk: int
    id: str | int | None = None
    ephemeral: int = msgspec.field(default=0, name="OS-FLV-EXT-DATA:ephemeral")
    swap: int | str = 0
    rxtx_factor: float = 1.0
    is_public: bool = msgspec.field(default=True, name="os-flavor-access:is_public")
    description: str | None = None


class CreateFlavorBody(msgspec.Struct):
    flavor: FlavorBody


class TenantBody(msgspec.Struct):
    tenant: str


class FlavorActionBody(msgspec.Struct, kw_only=True):
    addTenantAccess: TenantBody | None = None
    removeTenantAccess: TenantBody | None = None


def _decode(raw: bytes, kind: type[Any]) -> Any:
    """A JSON body (numbers may come as strings, as Nova accepts), or 400."""
    if not raw.strip():
        raise InvalidInput("The request body is empty; a JSON object is required.")
    try:
        return msgspec.json.decode(raw, type=kind, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid input for field/attribute: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"Malformed request body: {exc}") from None


def _commands(request: Request) -> Commands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands


def _headers(request: Request, request_id: str, position: int | None,
             compute: bool = True) -> dict[str, str]:
    headers = {"x-openstack-request-id": request_id}
    if compute:
        headers.update(microversion.headers(microversion.requested(request)))
    if position is not None:
        headers[POSITION_HEADER] = str(position)
    return headers


def _flavor_view(state: flavor_model.FlavorState) -> FlavorView:
    f = state.flavor
    return FlavorView(id=f.id, name=f.name, vcpus=f.vcpus, ram=f.ram, disk=f.disk,
                      ephemeral=f.ephemeral, swap=f.swap, rxtx_factor=f.rxtx_factor,
                      is_public=f.is_public, description=state.description,
                      created_at=state.created_at or datetime.min)


async def create_flavor(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-flavor-manage:create")
    body: FlavorBody = _decode(await request.body(), CreateFlavorBody).flavor
    if isinstance(body.swap, str) and body.swap.strip() not in ("", "0"):
        raise InvalidInput(f"Invalid input for field/attribute swap. Value: {body.swap}.")
    flavor_id = None if body.id in (None, "auto") else str(body.id)
    new = NewFlavor(name=body.name, vcpus=body.vcpus, ram=body.ram, disk=body.disk,
                    flavor_id=flavor_id, ephemeral=body.ephemeral,
                    swap=body.swap if isinstance(body.swap, int) else 0,
                    rxtx_factor=body.rxtx_factor, is_public=body.is_public,
                    description=body.description)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(_commands(request).flavors.create, new, who.caller,
                                      request_id)
    flavor = catalog_views.flavor(context(request).base_url, _flavor_view(written.state))
    return JSONResponse({"flavor": flavor},
                        headers=_headers(request, request_id, written.position))


async def delete_flavor(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-flavor-manage:delete")
    request_id = await idempotency.request_id(request, who)
    position = await run_in_threadpool(_commands(request).flavors.delete,
                                       request.path_params["flavor_id"], who.caller, request_id)
    return Response(status_code=202, headers=_headers(request, request_id, position))


async def flavor_action(request: Request) -> Response:
    who = claims(request)
    body: FlavorActionBody = _decode(await request.body(), FlavorActionBody)
    if (body.addTenantAccess is None) == (body.removeTenantAccess is None):
        raise InvalidInput("Exactly one of addTenantAccess or removeTenantAccess is expected.")
    allow = body.addTenantAccess is not None
    tenant = (body.addTenantAccess or body.removeTenantAccess)
    assert tenant is not None
    require_admin(who, "os_compute_api:os-flavor-access:" +
                  ("add_tenant_access" if allow else "remove_tenant_access"))
    request_id = await idempotency.request_id(request, who)
    flavor_id = request.path_params["flavor_id"]
    written = await run_in_threadpool(_commands(request).flavors.grant, flavor_id,
                                      tenant.tenant, who.caller, request_id, allow=allow)
    access = [{"flavor_id": flavor_id, "tenant_id": p} for p in sorted(written.state.projects)]
    return JSONResponse({"flavor_access": access},
                        headers=_headers(request, request_id, written.position))


READ_ONLY = frozenset({"status", "checksum", "size", "virtual_size", "created_at",
                       "updated_at", "file", "self", "schema", "direct_url", "locations",
                       "os_hash_algo", "os_hash_value", "owner"})


def _new_image(body: dict[str, Any]) -> NewImage:
    for key in body:
        if key in READ_ONLY:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    known = {k: body[k] for k in NewImage.__struct_fields__ if k in body and k != "properties"}
    properties = {k: v for k, v in body.items() if k not in NewImage.__struct_fields__}
    for key, value in properties.items():
        if not isinstance(value, str):
            raise InvalidInput(f"Invalid input for field/attribute {key}: custom properties "
                               "must be strings")
    try:
        return msgspec.convert({**known, "properties": properties}, NewImage)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid input for field/attribute: {exc}") from None


def _image_view(state: image_model.ImageState, new: NewImage | None = None) -> ImageView:
    return ImageView(
        id=uuid.UUID(state.id), name=state.name, owner=state.owner,
        visibility=state.visibility, status=state.status, disk_format=state.disk_format,
        container_format=state.container_format, size=state.size, checksum=state.checksum,
        os_hash_algo=state.os_hash_algo, os_hash_value=state.os_hash_value,
        min_disk=state.min_disk, min_ram=state.min_ram, protected=state.protected,
        tags=list(new.tags) if new else [], properties=dict(new.properties) if new else {},
        created_at=state.created_at, updated_at=state.updated_at)


async def create_image(request: Request) -> Response:
    who = claims(request)
    new = _new_image(_decode(await request.body(), dict[str, Any]))
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(_commands(request).images.create, new, who.caller,
                                      request_id)
    return JSONResponse(catalog_views.image(_image_view(written.state, new)), status_code=201,
                        headers=_headers(request, request_id, written.position, compute=False))


async def upload_image(request: Request) -> Response:
    who = claims(request)
    kind = request.headers.get("content-type", "application/octet-stream").split(";")[0]
    if kind.strip().lower() != "application/octet-stream":
        return JSONResponse({"message": f"Content-Type {kind} is not supported; use "
                             "application/octet-stream"}, status_code=415)
    image_id = request.path_params["image_id"]
    images = _commands(request).images
    request_id = await idempotency.request_id(request, who, streamed=True)
    await run_in_threadpool(images.start_upload, image_id, who.caller, request_id)
    upload = images.files.upload(image_id)
    try:
        async for chunk in request.stream():
            upload.write(chunk)
        stored = await run_in_threadpool(upload.finish)
    except BaseException as exc:  # too large, the client gone, a disk error, a cancelled task
        upload.abort()
        reason = exc.message if isinstance(exc, DomainError) else f"upload failed: {exc!r}"
        # the worker thread runs to its end even in a cancelled task
        await run_in_threadpool(images.fail_upload, image_id, reason, request_id)
        raise
    written = await run_in_threadpool(images.finish_upload, image_id, stored, request_id)
    return Response(status_code=204, headers=_headers(request, request_id, written.position,
                                                      compute=False))


async def delete_image(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(_commands(request).images.delete,
                                      request.path_params["image_id"], who.caller, request_id)
    return Response(status_code=204, headers=_headers(request, request_id, written.position,
                                                      compute=False))


C = "/compute/v2.1"
routes = [
    Route(f"{C}/flavors", create_flavor, methods=["POST"]),
    Route(f"{C}/flavors/{{flavor_id}}", delete_flavor, methods=["DELETE"]),
    Route(f"{C}/flavors/{{flavor_id}}/action", flavor_action, methods=["POST"]),
    Route("/image/v2/images", create_image, methods=["POST"]),
    Route("/image/v2/images/{image_id}/file", upload_image, methods=["PUT"]),
    Route("/image/v2/images/{image_id}", delete_image, methods=["DELETE"]),
]
