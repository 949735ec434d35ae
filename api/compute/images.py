"""Nova's image proxy (compute 2.1, deprecated from 2.36): the images a
project may see, in Nova's shape and with Nova's filters (``name``,
``status``, ``changes-since``, ``server``, ``type``, ``minDisk``, ``minRam``,
``limit``, ``marker``), read from the images view; deleting one, and its
metadata (the image's properties) read and written. A metadata write is the
image service's own PATCH (commands/image_changes.py), as Nova's proxy
sends Glance a property update, so both APIs always show the same image.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion, query_params
from api.bodies import decode
from api.compute.flavors import written_headers
from api.consistency import caught_up
from api.context import claims, context
from api.fields import Metadata
from api.http import commands, iso, links, uuid_or_none
from domain.errors import InvalidInput, NotFound
from domain.image_patch import Operation
from projections.catalog_queries import ImageView
from projections.image_queries import ImageFilters, get_image, list_images

PAGE_MAX = 1000
# Glance's status as Nova shows it, and the progress Nova gives each
STATUS = {"queued": "SAVING", "saving": "SAVING", "active": "ACTIVE", "killed": "ERROR",
          "deleted": "DELETED", "pending_delete": "DELETED"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}


class MetadataBody(msgspec.Struct):
    metadata: Metadata


class MetaBody(msgspec.Struct):
    meta: Metadata


def _links(base: str, image_id: str) -> list[dict[str, str]]:
    return [*links(base, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{base}/image/v2/images/{image_id}"}]


def _image(base: str, image: ImageView) -> dict[str, Any]:
    ident = str(image.id)
    body: dict[str, Any] = {
        "id": ident, "name": image.name, "status": STATUS.get(image.status, "UNKNOWN"),
        "progress": PROGRESS.get(image.status, 0), "minDisk": image.min_disk,
        "minRam": image.min_ram, "created": iso(image.created_at),
        "updated": iso(image.updated_at), "metadata": dict(image.properties),
        "links": _links(base, ident), "OS-EXT-IMG-SIZE:size": image.size,
    }
    server = image.properties.get("instance_uuid")
    if server:
        body["server"] = {"id": server, "links": links(base, "servers", server)}
    return body


def _whole(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"Invalid {name} filter [{raw}]")
    return int(raw)


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        found = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"Invalid changes-since value [{raw}]") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _filters(request: Request) -> ImageFilters:
    params = request.query_params
    equal: dict[str, list[str]] = {}
    if "name" in params:
        equal["name"] = [params["name"]]
    if "status" in params:
        wanted = params["status"].upper()
        equal["status"] = [g for g, nova in STATUS.items() if nova == wanted] or [wanted]
    properties: dict[str, str] = {}
    if "server" in params:  # a server's id, or a link to it
        properties["instance_uuid"] = params["server"].rstrip("/").rsplit("/", 1)[-1]
    if "type" in params:
        properties["image_type"] = params["type"]
    marker = None
    if "marker" in params:
        marker = uuid_or_none(params["marker"])
        if marker is None:
            raise InvalidInput(f"marker [{params['marker']}] not found")
    return ImageFilters(
        visibility="all", equal=equal, properties=properties, marker=marker,
        changed_since=_since(params.get("changes-since")), min_disk=_whole(request, "minDisk"),
        min_ram=_whole(request, "minRam"),
        limit=query_params.limit(request, default=PAGE_MAX, most=PAGE_MAX))


async def _listed(request: Request) -> list[ImageView]:
    who = claims(request)
    found = await list_images(await caught_up(request), who.project_id,
                              is_admin=who.caller.is_admin, filters=_filters(request))
    if found is None:
        raise InvalidInput(f"marker [{request.query_params['marker']}] not found")
    return found


async def list_brief(request: Request) -> Response:
    base = context(request).base_url
    body = [{"id": str(i.id), "name": i.name, "links": _links(base, str(i.id))}
            for i in await _listed(request)]
    return microversion.answer({"images": body}, request)


async def list_detail(request: Request) -> Response:
    base = context(request).base_url
    return microversion.answer({"images": [_image(base, i) for i in await _listed(request)]},
                               request)


def _image_id(request: Request) -> UUID:
    raw = request.path_params["image_id"]
    found = uuid_or_none(raw)
    if found is None:
        raise NotFound(f"Image {raw} could not be found.")
    return found


async def _visible(request: Request) -> ImageView:
    who = claims(request)
    image_id = _image_id(request)
    found = await get_image(await caught_up(request), image_id, who.project_id,
                            is_admin=who.caller.is_admin)
    if found is None:
        raise NotFound(f"Image {image_id} could not be found.")
    return found


async def show_image(request: Request) -> Response:
    image = await _visible(request)
    return microversion.answer({"image": _image(context(request).base_url, image)}, request)


async def delete_image(request: Request) -> Response:
    who = claims(request)
    image_id = str(_image_id(request))
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).images.delete, image_id, who.caller,
                                      request_id)
    return Response(status_code=204,
                    headers=written_headers(request, request_id, written.position))


async def show_metadata(request: Request) -> Response:
    image = await _visible(request)
    return microversion.answer({"metadata": dict(image.properties)}, request)


async def show_metadata_item(request: Request) -> Response:
    image = await _visible(request)
    key = request.path_params["key"]
    if key not in image.properties:
        raise NotFound("Image not found.")
    return microversion.answer({"meta": {key: image.properties[key]}}, request)


async def _patch(request: Request, operations: list[Operation]) -> tuple[dict[str, str],
                                                                         dict[str, str]]:
    """Apply property changes as the image service's PATCH; the properties after
    it and the answer's headers."""
    who = claims(request)
    image_id = str(_image_id(request))
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).image_changes.update, image_id,
                                      operations, who.caller, request_id)
    return (dict(written.state.properties),
            written_headers(request, request_id, written.position))


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


async def _metadata_write(request: Request, *, replace: bool) -> Response:
    items = decode(await request.body(), MetadataBody).metadata
    current = (await _visible(request)).properties
    gone = [Operation(op="remove", path=_pointer(k)) for k in current
            if replace and k not in items]
    ops = [*gone, *(Operation(op="add", path=_pointer(k), value=v) for k, v in items.items())]
    properties, headers = await _patch(request, ops)
    return JSONResponse({"metadata": properties}, headers=headers)


async def update_metadata(request: Request) -> Response:
    return await _metadata_write(request, replace=False)


async def replace_metadata(request: Request) -> Response:
    return await _metadata_write(request, replace=True)


async def set_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    meta = decode(await request.body(), MetaBody).meta
    if len(meta) != 1:
        raise InvalidInput("Request body contains too many items")
    if key not in meta:
        raise InvalidInput("Request body and URI mismatch")
    await _visible(request)
    properties, headers = await _patch(
        request, [Operation(op="add", path=_pointer(key), value=meta[key])])
    return JSONResponse({"meta": {key: properties[key]}}, headers=headers)


async def delete_metadata_item(request: Request) -> Response:
    key = request.path_params["key"]
    if key not in (await _visible(request)).properties:
        raise NotFound("Image not found.")
    _, headers = await _patch(request, [Operation(op="remove", path=_pointer(key))])
    return Response(status_code=204, headers=headers)


C = "/compute/v2.1/images"
command_routes: list[BaseRoute] = [
    Route(f"{C}/{{image_id}}", delete_image, methods=["DELETE"]),
    Route(f"{C}/{{image_id}}/metadata", update_metadata, methods=["POST"]),
    Route(f"{C}/{{image_id}}/metadata", replace_metadata, methods=["PUT"]),
    Route(f"{C}/{{image_id}}/metadata/{{key}}", set_metadata_item, methods=["PUT"]),
    Route(f"{C}/{{image_id}}/metadata/{{key}}", delete_metadata_item, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(C, list_brief, methods=["GET"]),
    Route(f"{C}/detail", list_detail, methods=["GET"]),
    Route(f"{C}/{{image_id}}", show_image, methods=["GET"]),
    Route(f"{C}/{{image_id}}/metadata", show_metadata, methods=["GET"]),
    Route(f"{C}/{{image_id}}/metadata/{{key}}", show_metadata_item, methods=["GET"]),
]
