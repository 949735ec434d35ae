"""Flavor, image and keypair query routes (Nova flavors and os-keypairs, the
Glance v2 subset), answered from the catalog views only.

Every route first waits for the views to catch up (api/consistency.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from api import catalog_views, microversion, query_params
from api.consistency import caught_up
from api.context import claims, context
from domain.errors import InvalidInput, NotFound
from projections import catalog_queries as q

IMAGE_PAGE = 25  # Glance's limit_param_default
IMAGE_PAGE_MAX = 1000  # Glance's api_limit_max
FLAVOR_PAGE_MAX = 1000  # Nova's osapi_max_limit


def _json(body: object, request: Request) -> Response:
    return JSONResponse(body, headers=microversion.headers(microversion.requested(request)))


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


async def _flavors(request: Request) -> list[q.FlavorView]:
    who = claims(request)
    params = request.query_params
    return await q.list_flavors(
        await caught_up(request), who.project_id, is_admin=who.caller.is_admin,
        is_public=_is_public(params.get("is_public")), marker=params.get("marker"),
        limit=query_params.limit(request, default=FLAVOR_PAGE_MAX, most=FLAVOR_PAGE_MAX))


async def list_flavors(request: Request) -> Response:
    base = context(request).base_url
    return _json({"flavors": [catalog_views.flavor_brief(base, f)
                              for f in await _flavors(request)]}, request)


async def list_flavors_detail(request: Request) -> Response:
    base = context(request).base_url
    return _json({"flavors": [catalog_views.flavor(base, f)
                              for f in await _flavors(request)]}, request)


async def _flavor(request: Request) -> q.FlavorView:
    who = claims(request)
    flavor_id = request.path_params["flavor_id"]
    found = await q.get_flavor(await caught_up(request), flavor_id, who.project_id,
                               is_admin=who.caller.is_admin)
    if found is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return found


async def show_flavor(request: Request) -> Response:
    flavor = await _flavor(request)
    return _json({"flavor": catalog_views.flavor(context(request).base_url, flavor)}, request)


async def flavor_extra_specs(request: Request) -> Response:
    await _flavor(request)
    return _json({"extra_specs": {}}, request)


async def flavor_access(request: Request) -> Response:
    flavor = await _flavor(request)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    projects = await q.flavor_projects(await caught_up(request), flavor.id)
    return _json({"flavor_access": [{"flavor_id": flavor.id, "tenant_id": p}
                                    for p in projects]}, request)


async def image_versions(request: Request) -> Response:
    base = context(request).base_url
    doc = {"id": "v2.16", "status": "CURRENT",
           "links": [{"rel": "self", "href": f"{base}/image/v2/"}]}
    return JSONResponse({"versions": [doc]})


def _uuid_or_none(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


def _image_filters(request: Request) -> q.ImageFilters:
    params = request.query_params
    ids = None
    raw_id = params.get("id")
    if raw_id is not None:
        values = raw_id[3:].split(",") if raw_id.startswith("in:") else [raw_id]
        ids = [u for u in (_uuid_or_none(v.strip().strip('"')) for v in values) if u]
    visibility = params.get("visibility")
    if visibility == "all":
        visibility = None
    marker = params.get("marker")
    marker_id = _uuid_or_none(marker) if marker is not None else None
    if marker is not None and marker_id is None:
        raise InvalidInput(f"Invalid marker {marker}")
    return q.ImageFilters(name=params.get("name"), visibility=visibility,
                          status=params.get("status"), ids=ids, marker=marker_id,
                          limit=query_params.limit(request, default=IMAGE_PAGE,
                                                   most=IMAGE_PAGE_MAX))


async def list_images(request: Request) -> Response:
    who = claims(request)
    filters = _image_filters(request)
    hidden = request.query_params.get("os_hidden", "false").strip().lower()
    found = [] if hidden in ("true", "1", "yes") else await q.list_images(
        await caught_up(request), who.project_id, is_admin=who.caller.is_admin, filters=filters)
    body: dict[str, Any] = {"images": [catalog_views.image(i) for i in found],
                            "first": "/v2/images", "schema": "/v2/schemas/images"}
    if filters.limit and len(found) == filters.limit:
        keep = [(k, v) for k, v in request.query_params.multi_items()
                if k not in ("marker", "limit")]
        extra = "".join(f"&{k}={v}" for k, v in keep)
        body["next"] = f"/v2/images?marker={found[-1].id}&limit={filters.limit}{extra}"
    return JSONResponse(body)


async def _image(request: Request) -> q.ImageView:
    who = claims(request)
    raw = request.path_params["image_id"]
    image_id = _uuid_or_none(raw)
    found = None if image_id is None else await q.get_image(
        await caught_up(request), image_id, who.project_id, is_admin=who.caller.is_admin)
    if found is None:
        raise NotFound(f"No image found with ID {raw}")
    return found


async def show_image(request: Request) -> Response:
    return JSONResponse(catalog_views.image(await _image(request)))


async def download_image(request: Request) -> Response:
    image = await _image(request)
    path = context(request).extra["image_dir"] / str(image.id)
    if image.status != "active" or not path.exists():
        return Response(status_code=204)
    headers = {"Content-MD5": image.checksum or ""}
    return FileResponse(path, media_type="application/octet-stream", headers=headers)


async def list_keypairs(request: Request) -> Response:
    who = claims(request)
    version = microversion.requested(request)
    found = await q.list_keypairs(await caught_up(request), who.user_id)
    return _json({"keypairs": [{"keypair": catalog_views.keypair_brief(k, version)}
                               for k in found]}, request)


async def show_keypair(request: Request) -> Response:
    who = claims(request)
    version = microversion.requested(request)
    name = request.path_params["name"]
    found = await q.get_keypair(await caught_up(request), who.user_id, name)
    if found is None:
        raise NotFound(f"Keypair {name} not found for user {who.user_id}")
    return _json({"keypair": catalog_views.keypair(found, version)}, request)


C = "/compute/v2.1"
routes = [
    Route(f"{C}/flavors", list_flavors, methods=["GET"]),
    Route(f"{C}/flavors/detail", list_flavors_detail, methods=["GET"]),
    Route(f"{C}/flavors/{{flavor_id}}", show_flavor, methods=["GET"]),
    Route(f"{C}/flavors/{{flavor_id}}/os-extra_specs", flavor_extra_specs, methods=["GET"]),
    Route(f"{C}/flavors/{{flavor_id}}/os-flavor-access", flavor_access, methods=["GET"]),
    Route(f"{C}/os-keypairs", list_keypairs, methods=["GET"]),
    Route(f"{C}/os-keypairs/{{name}}", show_keypair, methods=["GET"]),
    Route("/image", image_versions, methods=["GET"]),
    Route("/image/", image_versions, methods=["GET"]),
    Route("/image/v2/images", list_images, methods=["GET"]),
    Route("/image/v2/images/{image_id}", show_image, methods=["GET"]),
    Route("/image/v2/images/{image_id}/file", download_image, methods=["GET"]),
]
