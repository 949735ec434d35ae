"""Cinder's version documents: where a client finds v3 and which
microversions it serves (api/volume/microversion.py). Like Cinder's, they
need no token: a client reads them before it logs in."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import context
from api.microversion import text
from api.volume import microversion


async def volume_versions(request: Request) -> Response:
    """``GET /volume/``: the one version, with Cinder's 300 Multiple Choices."""
    return JSONResponse({"versions": [_version_doc(context(request).base_url)]},
                        status_code=300)


async def volume_version(request: Request) -> Response:
    """``GET /volume/v3/``: v3's own document (Cinder lists it as ``versions``)."""
    return JSONResponse({"versions": [_version_doc(context(request).base_url)]})


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v3.0", "status": "CURRENT", "updated": "2016-02-08T12:20:21Z",
        "version": text(microversion.MAX), "min_version": text(microversion.MIN),
        "links": [{"rel": "describedby", "type": "text/html",
                   "href": "https://docs.openstack.org/"},
                  {"rel": "self", "href": f"{base}/volume/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    }


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(path, handler, methods=["GET"])
    for path, handler in (("/volume", volume_versions), ("/volume/", volume_versions),
                          ("/volume/v3", volume_version), ("/volume/v3/", volume_version))
]
