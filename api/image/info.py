"""Glance's discovery documents: ``/v2/info/import`` (no interoperable
import method: data is uploaded with ``PUT .../file``) and ``/v2/info/stores``
(the one file store, under the state directory)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


async def import_info(request: Request) -> Response:
    return JSONResponse({"import-methods": {
        "description": "Import methods available.", "type": "array", "value": []}})


async def stores_info(request: Request) -> Response:
    return JSONResponse({"stores": [{
        "id": "file", "default": True,
        "description": "Image bytes as files on the API host's disk."}]})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/image/v2/info/import", import_info, methods=["GET"]),
    Route("/image/v2/info/stores", stores_info, methods=["GET"]),
]
