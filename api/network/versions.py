"""Neutron's version document: where a client finds v2.0."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import context


async def network_versions(request: Request) -> Response:
    base = context(request).base_url
    return JSONResponse({"versions": [{
        "id": "v2.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": f"{base}/network/v2.0/"}]}]})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/network", network_versions, methods=["GET"]),
    Route("/network/", network_versions, methods=["GET"]),
]
