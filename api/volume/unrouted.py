"""A collection's path with a trailing slash and no id (``volumes/``):
Cinder's router knows no such resource and answers 404, where a redirect to
the collection would list it, or refuse the method with 405."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.volume.requests import PREFIX
from domain.errors import NotFound


async def unrouted(request: Request) -> Response:
    raise NotFound("The resource could not be found.")


_ROUTE = Route(f"{PREFIX}/{{collection}}/", unrouted,
               methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
command_routes: list[BaseRoute] = [_ROUTE]
query_routes: list[BaseRoute] = [_ROUTE]
