"""Host command routes (admin only): enable and disable a compute service, 2.1 form.

``PUT /os-services/disable`` {"host", "binary"}, ``/disable-log-reason``
(with "disabled_reason") and ``/enable`` record HostDisabled / HostEnabled;
placement skips a disabled host from the next boot on.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import idempotency, microversion
from api.bodies import decode
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.fields import Text255
from api.policy import require_admin
from commands.hosts import HostCommands, SetHostEnabled
from domain.errors import InvalidInput, NotFound
from domain.host import BINARY


class ServiceBody(msgspec.Struct, forbid_unknown_fields=True):
    host: Text255
    binary: Text255
    disabled_reason: Text255 | None = None


def _hosts(request: Request) -> HostCommands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands.hosts


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
    headers = microversion.headers(microversion.requested(request))
    if position is not None:
        headers[POSITION_HEADER] = str(position)
    return JSONResponse({"service": service}, headers=headers)


async def disable(request: Request) -> Response:
    return await _set(request, enabled=False, with_reason=False)


async def disable_log_reason(request: Request) -> Response:
    return await _set(request, enabled=False, with_reason=True)


async def enable(request: Request) -> Response:
    return await _set(request, enabled=True, with_reason=False)


routes = [
    Route("/compute/v2.1/os-services/disable", disable, methods=["PUT"]),
    Route("/compute/v2.1/os-services/disable-log-reason", disable_log_reason, methods=["PUT"]),
    Route("/compute/v2.1/os-services/enable", enable, methods=["PUT"]),
]
