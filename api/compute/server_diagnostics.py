"""Nova's server diagnostics (``GET /servers/{id}/diagnostics``, admins only):
the guest's statistics as its hypervisor host reports them, asked on NATS
through ``Context.diagnostics`` (runtime/host_requests.py). At 2.1 the
body is the driver's own; nimbus names the values as Nova's libvirt driver
does (``cpu0_time``, ``memory``, ``memory-actual``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.compute.servers import visible_server
from api.context import claims, context
from api.policy import require_admin
from domain.errors import InvalidState, NotFound


async def diagnostics(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-server-diagnostics")
    server = await visible_server(request)
    ask = context(request).diagnostics
    if ask is None or not server.host:
        raise InvalidState(f"Instance {server.id} is not ready")
    try:
        found = await ask(server.host, str(server.id))
    except TimeoutError:
        raise InvalidState(f"The host of instance {server.id} did not answer; "
                           "try again later.") from None
    if found is None:
        raise NotFound(f"Instance {server.id} has no guest on its host.")
    return microversion.answer(found, request)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/diagnostics", diagnostics, methods=["GET"]),
]
