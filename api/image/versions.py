"""Glance's version document: where a client finds the v2 API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import context


async def image_versions(request: Request) -> Response:
    base = context(request).base_url
    doc = {"id": "v2.16", "status": "CURRENT",
           "links": [{"rel": "self", "href": f"{base}/image/v2/"}]}
    return JSONResponse({"versions": [doc]})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/image", image_versions, methods=["GET"]),
    Route("/image/", image_versions, methods=["GET"]),
]
