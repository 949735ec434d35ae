"""Glance v2 images: list, show and download (queries, from the catalog
view), create, upload and delete (commands); a PATCH is api/image/patch.py's.

An upload streams the body to disk between two events (saving, then
active); however it ends short of that (refused, cut off, cancelled), the
image goes back to queued and the half-written file is removed.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from api import idempotency
from api.bodies import convert, decode
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.fields import ImagePropertyKey, ImagePropertyValue, ImageTag, Integer, LooseName, Text255
from api.http import commands, uuid_or_none
from api.image import listing, shapes
from commands.images import NewImage
from domain import image as image_model
from domain import image_changes
from domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from projections import image_queries
from projections.catalog_queries import ImageView


class ImageBody(msgspec.Struct, kw_only=True):
    """The fields of Glance's image schema that nimbus keeps; any other key
    is an extra property (a string, as Glance's schema has them)."""

    name: LooseName | None = None
    id: Text255 | None = None
    owner: Text255 | None = None  # another project's: an admin's to give
    visibility: Text255 = "shared"  # Glance's default: members may be added, none yet
    disk_format: Text255 | None = None
    container_format: Text255 | None = None
    min_disk: Integer = 0
    min_ram: Integer = 0
    protected: bool = False
    tags: list[ImageTag] = []


READ_ONLY = frozenset({"status", "checksum", "size", "virtual_size", "created_at",
                       "updated_at", "file", "self", "schema", "direct_url", "locations",
                       "os_hash_algo", "os_hash_value"})


def _headers(request_id: str, position: int | None) -> dict[str, str]:
    return {"x-openstack-request-id": request_id, **positioned(position)}


async def list_images(request: Request) -> Response:
    who = claims(request)
    filters = listing.filters(request)
    found = [] if listing.hidden_only(request) else await image_queries.list_images(
        await caught_up(request), who.project_id, is_admin=who.caller.is_admin, filters=filters)
    if found is None:
        raise InvalidInput(f"Invalid marker. Image {filters.marker} could not be found.")
    body: dict[str, Any] = {"images": [shapes.image(i) for i in found],
                            "first": "/v2/images", "schema": "/v2/schemas/images"}
    if filters.limit and len(found) == filters.limit:
        body["next"] = listing.next_link(request, str(found[-1].id), filters.limit)
    return JSONResponse(body)


async def _image(request: Request) -> ImageView:
    who = claims(request)
    raw = request.path_params["image_id"]
    image_id = uuid_or_none(raw)
    found = None if image_id is None else await image_queries.get_image(
        await caught_up(request), image_id, who.project_id, is_admin=who.caller.is_admin)
    if found is None:
        raise NotFound(f"No image found with ID {raw}")
    return found


async def show_image(request: Request) -> Response:
    return JSONResponse(shapes.image(await _image(request)))


async def download_image(request: Request) -> Response:
    image = await _image(request)
    image_changes.downloadable(image.status, claims(request).caller.is_admin)
    path = context(request).settings.image_dir / str(image.id)
    if image.status not in ("active", "deactivated") or not path.exists():
        return Response(status_code=204)
    headers = {"Content-MD5": image.checksum or ""}
    return FileResponse(path, media_type="application/octet-stream", headers=headers)


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


def image_view(state: image_model.ImageState) -> ImageView:
    """The image as a command left it (its answer need not wait for the view)."""
    return ImageView(
        id=uuid.UUID(state.id), name=state.name, owner=state.owner,
        visibility=state.visibility, status=state.status, disk_format=state.disk_format,
        container_format=state.container_format, size=state.size, checksum=state.checksum,
        os_hash_algo=state.os_hash_algo, os_hash_value=state.os_hash_value,
        min_disk=state.min_disk, min_ram=state.min_ram, protected=state.protected,
        tags=list(state.tags), properties=dict(state.properties),
        created_at=state.created_at, updated_at=state.updated_at)


async def create_image(request: Request) -> Response:
    who = claims(request)
    new = _new_image(await request.body())
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).images.create, new, who.caller,
                                      request_id)
    return JSONResponse(shapes.image(image_view(written.state)), status_code=201,
                        headers=_headers(request_id, written.position))


async def upload_image(request: Request) -> Response:
    who = claims(request)
    kind = request.headers.get("content-type", "application/octet-stream").split(";")[0]
    if kind.strip().lower() != "application/octet-stream":
        return JSONResponse({"message": f"Content-Type {kind} is not supported; use "
                             "application/octet-stream"}, status_code=415)
    image_id = request.path_params["image_id"]
    images = commands(request).images
    request_id = await idempotency.request_id(request, who, streamed=True)
    started = await run_in_threadpool(images.start_upload, image_id, who.caller, request_id)
    if started.position is None:  # a retry of an upload that completed: answered as it was
        return Response(status_code=204, headers=_headers(request_id, None))
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
    return Response(status_code=204, headers=_headers(request_id, written.position))


async def no_image(request: Request) -> Response:
    """``/v2/images/`` names no image (an empty id): 404, as Glance answers."""
    raise NotFound("The resource could not be found.")


async def delete_image(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).images.delete,
                                      request.path_params["image_id"], who.caller, request_id)
    return Response(status_code=204, headers=_headers(request_id, written.position))


UPLOAD = Route("/image/v2/images/{image_id}/file", upload_image, methods=["PUT"])


def streams_upload(scope: Scope) -> bool:
    """Whether a request is an image upload: streamed to disk, bounded by
    image_size_cap rather than by the request body limit."""
    return UPLOAD.matches(scope)[0] is Match.FULL


NO_IMAGE = Route("/image/v2/images/", no_image, methods=["GET", "HEAD", "PATCH", "DELETE"])
command_routes: list[BaseRoute] = [
    NO_IMAGE,
    Route("/image/v2/images", create_image, methods=["POST"]),
    UPLOAD,
    Route("/image/v2/images/{image_id}", delete_image, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    NO_IMAGE,
    Route("/image/v2/images", list_images, methods=["GET"]),
    Route("/image/v2/images/{image_id}", show_image, methods=["GET"]),
    Route("/image/v2/images/{image_id}/file", download_image, methods=["GET"]),
]
