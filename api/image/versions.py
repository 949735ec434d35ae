"""Glance's version documents: where a client finds the v2 API.

The catalog publishes the unversioned root (``/image``), as devstack does:
glanceclient appends ``/v2`` itself, and openstacksdk reads this document
(300 Multiple Choices at the root, 200 at ``/image/versions`` and ``/image/v2``,
as Glance answers them).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import context

CURRENT = "v2.16"
# every minor version Glance's v2 API has had, newest first; all are v2 here
SUPPORTED = ("v2.15", "v2.14", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.7",
             "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0")


def versions_document(base_url: str) -> dict[str, object]:
    link = [{"rel": "self", "href": f"{base_url}/image/v2/"}]
    return {"versions": [{"id": CURRENT, "status": "CURRENT", "links": link},
                         *({"id": v, "status": "SUPPORTED", "links": link}
                           for v in SUPPORTED)]}


async def image_versions(request: Request) -> Response:
    """The root: 300 Multiple Choices, as Glance answers an unversioned URL."""
    return JSONResponse(versions_document(context(request).base_url), status_code=300)


async def listed_versions(request: Request) -> Response:
    return JSONResponse(versions_document(context(request).base_url))


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/image", image_versions, methods=["GET"]),
    Route("/image/", image_versions, methods=["GET"]),
    Route("/image/versions", listed_versions, methods=["GET"]),
    Route("/image/v2", listed_versions, methods=["GET"]),
    Route("/image/v2/", listed_versions, methods=["GET"]),
]
