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
from starlette.routing import Match, Route
from starlette.types import Scope

from api import catalog_views, idempotency, microversion
from api.bodies import convert, decode
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.fields import (
    Description,
    ImagePropertyKey,
    ImagePropertyValue,
    ImageTag,
    Integer,
    LooseName,
    Name,
    Text255,
)
from api.policy import require_admin
from commands.flavors import NewFlavor
from commands.images import NewImage
from commands.services import Commands
from domain import flavor as flavor_model
from domain import image as image_model
from domain.errors import DomainError, Forbidden, InvalidInput
from projections.catalog_queries import FlavorView, ImageView


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
    description: Description | None = None


class CreateFlavorBody(msgspec.Struct):
    flavor: FlavorBody


class TenantBody(msgspec.Struct):
    tenant: Text255


class FlavorActionBody(msgspec.Struct, kw_only=True):
    addTenantAccess: TenantBody | None = None
    removeTenantAccess: TenantBody | None = None


class ImageBody(msgspec.Struct, kw_only=True):
    """The fields of Glance's image schema that nimbus keeps; any other key
    is an extra property (a string, as Glance's schema has them)."""

    name: LooseName | None = None
    id: Text255 | None = None
    visibility: Text255 = "private"
    disk_format: Text255 | None = None
    container_format: Text255 | None = None
    min_disk: Integer = 0
    min_ram: Integer = 0
    protected: bool = False
    tags: list[ImageTag] = []


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
    body = decode(await request.body(), CreateFlavorBody, strict=False).flavor
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
    written = await run_in_threadpool(_commands(request).flavors.delete,
                                      request.path_params["flavor_id"], who.caller, request_id)
    return Response(status_code=202, headers=_headers(request, request_id, written.position))


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
    written = await run_in_threadpool(_commands(request).flavors.grant, flavor_id,
                                      tenant.tenant, who.caller, request_id, allow=allow)
    access = [{"flavor_id": flavor_id, "tenant_id": p} for p in sorted(written.state.projects)]
    return JSONResponse({"flavor_access": access},
                        headers=_headers(request, request_id, written.position))


READ_ONLY = frozenset({"status", "checksum", "size", "virtual_size", "created_at",
                       "updated_at", "file", "self", "schema", "direct_url", "locations",
                       "os_hash_algo", "os_hash_value", "owner"})


def _new_image(raw: bytes) -> NewImage:
    body = decode(raw, dict[ImagePropertyKey, Any], service="glance")
    for key in body:
        if key in READ_ONLY:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    fields = ImageBody.__struct_fields__
    known = convert({k: v for k, v in body.items() if k in fields}, ImageBody,
                    service="glance")
    properties = {k: convert(v, ImagePropertyValue, service="glance", field=k)
                  for k, v in body.items() if k not in fields}
    return NewImage(**{f: getattr(known, f) for f in fields}, properties=properties)


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
    new = _new_image(await request.body())
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
    started = await run_in_threadpool(images.start_upload, image_id, who.caller, request_id)
    if started.position is None:  # a retry of an upload that completed: answered as it was
        return Response(status_code=204, headers=_headers(request, request_id, None,
                                                          compute=False))
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


UPLOAD = Route("/image/v2/images/{image_id}/file", upload_image, methods=["PUT"])


def streams_upload(scope: Scope) -> bool:
    """Whether a request is an image upload: streamed to disk, bounded by
    image_size_cap rather than by the request body limit."""
    return UPLOAD.matches(scope)[0] is Match.FULL


C = "/compute/v2.1"
routes = [
    Route(f"{C}/flavors", create_flavor, methods=["POST"]),
    Route(f"{C}/flavors/{{flavor_id}}", delete_flavor, methods=["DELETE"]),
    Route(f"{C}/flavors/{{flavor_id}}/action", flavor_action, methods=["POST"]),
    Route("/image/v2/images", create_image, methods=["POST"]),
    UPLOAD,
    Route("/image/v2/images/{image_id}", delete_image, methods=["DELETE"]),
]
