"""Nova's version documents: where a client finds v2.1 and which
microversions it serves."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.context import context


async def compute_version(request: Request) -> Response:
    base = context(request).base_url
    return JSONResponse({"version": _version_doc(base)})


async def compute_versions(request: Request) -> Response:
    base = context(request).base_url
    return JSONResponse({"versions": [_version_doc(base)]})


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v2.1", "status": "CURRENT", "updated": "2013-07-23T11:33:21Z",
        "version": microversion.text(microversion.MAX),
        "min_version": microversion.text(microversion.MIN),
        "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute", compute_versions, methods=["GET"]),
    Route("/compute/", compute_versions, methods=["GET"]),
    Route("/compute/v2.1", compute_version, methods=["GET"]),
    Route("/compute/v2.1/", compute_version, methods=["GET"]),
]
