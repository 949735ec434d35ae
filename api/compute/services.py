"""Nova's os-services (admin only, 2.1 form): list the compute services (a
query: the hosts view, "up" or "down" from the heartbeat table), enable and
disable one (commands).

``PUT /os-services/disable`` {"host", "binary"}, ``/disable-log-reason``
(with "disabled_reason") and ``/enable`` record HostDisabled / HostEnabled;
placement skips a disabled host from the next boot on. From 2.11 a service
shows ``forced_down``, and ``PUT /os-services/force-down`` {"host", "binary",
"forced_down"} records HostForcedDown: the host is down (os-services,
os-hypervisors, a server's host_status) whatever its heartbeat, and
placement skips it, until it is forced up again.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.fields import Text255
from api.http import commands
from api.policy import require_admin
from commands.hosts import ForceHostDown, HostCommands, SetHostEnabled
from domain.errors import InvalidInput, NotFound
from domain.host import BINARY
from projections.hosts_queries import HostView, list_hosts


class ServiceBody(msgspec.Struct, forbid_unknown_fields=True):
    host: Text255
    binary: Text255
    disabled_reason: Text255 | None = None


class ForceDownBody(msgspec.Struct, forbid_unknown_fields=True):
    host: Text255
    binary: Text255
    forced_down: bool


def _time(host: HostView) -> str | None:
    seen = host.last_seen or host.updated_at
    return seen.strftime("%Y-%m-%dT%H:%M:%S.%f") if seen else None


def service(host: HostView, down_after: float, version: microversion.Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": host.number, "binary": BINARY, "host": host.host, "zone": "nova",
        "status": "disabled" if host.disabled else "enabled",
        "state": "up" if host.is_up(down_after) else "down",
        "updated_at": _time(host), "disabled_reason": host.disabled_reason,
    }
    if version >= (2, 11):
        body["forced_down"] = host.forced_down
    return body


async def list_services(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-services:list")
    wanted_host = request.query_params.get("host")
    wanted_binary = request.query_params.get("binary")
    down_after = context(request).settings.service_down_time
    version = microversion.requested(request)
    found = [
        service(h, down_after, version) for h in await list_hosts(await caught_up(request))
        if (wanted_host is None or h.host == wanted_host)
        and (wanted_binary is None or wanted_binary == BINARY)
    ]
    return microversion.answer({"services": found}, request)


def _hosts(request: Request) -> HostCommands:
    return commands(request).hosts


async def _set(request: Request, *, enabled: bool, with_reason: bool) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-services:update")
    body = decode(await request.body(), ServiceBody)
    if with_reason and not (body.disabled_reason or "").strip():
        raise InvalidInput("Missing disabled reason field")
    if body.binary != BINARY:
        raise NotFound(f"Service {body.binary} on host {body.host} could not be found.")
    cmd = SetHostEnabled(
        request_id=await idempotency.request_id(request, who),
        host=body.host, enabled=enabled, reason=body.disabled_reason if with_reason else None)
    written = await run_in_threadpool(_hosts(request).set_enabled, cmd)
    host, position = written.state, written.position
    service: dict[str, Any] = {"host": host.host, "binary": BINARY,
                               "status": "disabled" if host.disabled else "enabled"}
    if with_reason:
        service["disabled_reason"] = host.disabled_reason
    headers = {**microversion.headers(microversion.requested(request)), **positioned(position)}
    return JSONResponse({"service": service}, headers=headers)


async def force_down(request: Request) -> Response:
    """2.11's force-down (before 2.11 there is no such route: 404)."""
    if not microversion.at_least(request, 11):
        raise NotFound("The resource could not be found.")
    who = claims(request)
    require_admin(who, "os_compute_api:os-services:update")
    body = decode(await request.body(), ForceDownBody)
    if body.binary != BINARY:
        raise NotFound(f"Service {body.binary} on host {body.host} could not be found.")
    cmd = ForceHostDown(request_id=await idempotency.request_id(request, who),
                        host=body.host, forced_down=body.forced_down)
    written = await run_in_threadpool(_hosts(request).force_down, cmd)
    answer = {"host": written.state.host, "binary": BINARY,
              "forced_down": written.state.forced_down}
    return JSONResponse({"service": answer}, headers=positioned(written.position))


async def disable(request: Request) -> Response:
    return await _set(request, enabled=False, with_reason=False)


async def disable_log_reason(request: Request) -> Response:
    return await _set(request, enabled=False, with_reason=True)


async def enable(request: Request) -> Response:
    return await _set(request, enabled=True, with_reason=False)


command_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-services/disable", disable, methods=["PUT"]),
    Route("/compute/v2.1/os-services/disable-log-reason", disable_log_reason, methods=["PUT"]),
    Route("/compute/v2.1/os-services/enable", enable, methods=["PUT"]),
    Route("/compute/v2.1/os-services/force-down", force_down, methods=["PUT"]),
]
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-services", list_services, methods=["GET"]),
]
