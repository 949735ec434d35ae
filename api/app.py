"""Builds the Starlette apps: command routes, query routes, or both on one port.

The command side needs the application (event store); the query side needs
the views' connection pool. ``role`` picks which to serve, so the two can run
as separate processes behind one address, or together (the default).
"""

from __future__ import annotations

from types import ModuleType
from typing import Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from api import (
    compute,
    console,
    health,
    identity,
    image,
    metrics,
    network,
    placement,
    stream,
    volume,
)
from api.body_limits import BodyLimits
from api.context import Context
from api.errors import error_response
from api.identity import auth
from api.image.images import streams_upload
from api.microversion import COMPUTE, Versioned
from api.network.errors import PREFIX as NETWORK_PREFIX
from api.network.errors import neutron_body, neutron_error
from api.network.networking_root import NetworkingRoot
from api.request_log import RequestLog
from api.request_target import RequestTarget
from api.volume.microversion import PREFIX as VOLUME_PREFIX
from api.volume.microversion import VOLUME
from domain.errors import DomainError, Unauthorized

Role = Literal["all", "command", "query"]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if request.url.path.startswith(NETWORK_PREFIX) and not isinstance(exc, Unauthorized):
        return neutron_error(exc)  # Neutron's bodies; a 401 stays Keystone's everywhere
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405 and request.url.path.startswith(VOLUME_PREFIX + "/"):
        exc = HTTPException(404)  # Cinder's router knows no path a method is refused on
    key = {404: "itemNotFound", 405: "badMethod"}.get(exc.status_code, "computeFault")
    message = {404: "The resource could not be found."}.get(exc.status_code, str(exc.detail))
    if request.url.path.startswith(NETWORK_PREFIX):
        return neutron_body(exc.status_code, message)
    return JSONResponse({key: {"code": exc.status_code, "message": message}},
                        status_code=exc.status_code)


async def _too_deep(request: Request, exc: Exception) -> Response:
    """A body nested deeper than the decoder recurses is bad input, not a fault."""
    message = "Malformed request body: it is nested too deeply."
    return JSONResponse({"badRequest": {"code": 400, "message": message}}, status_code=400)


# Every resource module, by service; each exports command_routes and query_routes.
RESOURCES: tuple[ModuleType, ...] = (*identity.RESOURCES, *compute.RESOURCES,
                                     *image.RESOURCES, *volume.RESOURCES, *network.RESOURCES,
                                     *placement.RESOURCES)


def routes_for(role: Role) -> list[BaseRoute]:
    """The routes a process in ``role`` serves: logins, health and metrics in
    every one, the command routes in a command process, the query routes (with
    the event stream and the web console, which read the log and the views) in
    a query one."""
    routes: list[BaseRoute] = [*auth.routes, *health.routes, *metrics.routes]
    if role in ("all", "command"):
        routes += [r for module in RESOURCES for r in module.command_routes]
    if role in ("all", "query"):
        routes += [r for module in RESOURCES for r in module.query_routes]
        routes += [*stream.routes, *console.routes]
    return routes


def create_app(ctx: Context, role: Role = "all") -> Starlette:
    app = Starlette(
        routes=routes_for(role),
        exception_handlers={DomainError: _domain_error, HTTPException: _http_error,
                            RecursionError: _too_deep},
    )
    app.state.nimbus = ctx
    app.add_middleware(RequestTarget)
    app.add_middleware(BodyLimits, max_bytes=ctx.max_request_body_bytes,
                       timeout=ctx.request_body_timeout_seconds,
                       unbounded=streams_upload)
    app.add_middleware(Versioned, service=COMPUTE)
    app.add_middleware(Versioned, service=VOLUME)
    app.add_middleware(RequestLog)
    app.add_middleware(NetworkingRoot)  # outermost: every other part sees /network
    return app
