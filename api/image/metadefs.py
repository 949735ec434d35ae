"""Glance's metadata definitions catalog, read side only: nimbus defines no
namespaces, so the list is empty (Horizon asks for it on its image, flavor
and launch pages, to offer the properties a namespace names)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import claims


async def list_namespaces(request: Request) -> Response:
    claims(request)
    return JSONResponse({"namespaces": [], "first": "/v2/metadefs/namespaces",
                         "schema": "/v2/schemas/metadefs/namespaces"})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/image/v2/metadefs/namespaces", list_namespaces, methods=["GET"])]
