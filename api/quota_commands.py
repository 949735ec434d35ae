"""Quota command routes: an admin updates (PUT) or reverts (DELETE) a project's limits.

Values are integers from -1 (unlimited) to 2**31-1 (a PostgreSQL integer),
as numbers or numeric strings, as Nova's schema allows; an unknown key, a
value beyond those, or a limit below what the project already uses (without
``force``) is a 400 naming it, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import idempotency, microversion
from api.bodies import convert, decode
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.fields import QuotaLimit
from api.policy import require_admin
from api.quotas import NOVA_KEYS
from api.volume_quotas import CINDER_KEYS
from commands.application import Written
from commands.quotas import QuotaCommands, ResetQuotaLimits, SetQuotaLimits
from domain.errors import InvalidInput


def _quotas(request: Request) -> QuotaCommands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands.quotas


def _force(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise InvalidInput(f"Invalid input for field/attribute force. Value: {value}."
                       f" {value!r} is not of type 'boolean', 'string'")


def _headers(request: Request, changed: Written[dict[str, int]]) -> dict[str, str]:
    headers = microversion.headers(microversion.requested(request))
    if changed.position is not None:
        headers[POSITION_HEADER] = str(changed.position)
    return headers


async def set_limits(request: Request, keys: tuple[str, ...],
                     action: str) -> Written[dict[str, int]]:
    """Apply a PUT ``{"quota_set": {...}}`` naming only ``keys`` (and force)."""
    who = claims(request)
    require_admin(who, action)
    body = decode(await request.body(), dict[str, Any])
    quota_set = body.get("quota_set")
    if set(body) != {"quota_set"} or not isinstance(quota_set, dict):
        raise InvalidInput("Invalid input for field/attribute quota_set."
                           " A 'quota_set' object is required.")
    force = _force(quota_set.get("force", False))
    values = {k: convert(v, QuotaLimit, strict=False, field=k)
              for k, v in quota_set.items() if k != "force"}
    for key in values:
        if key not in keys:
            raise InvalidInput("Invalid input for field/attribute quota_set. Additional"
                               f" properties are not allowed ('{key}' was unexpected)")
    cmd = SetQuotaLimits(request_id=await idempotency.request_id(request, who),
                         project_id=request.path_params["project_id"], limits=values,
                         force=force)
    return await run_in_threadpool(_quotas(request).set_limits, cmd)


async def update(request: Request) -> Response:
    changed = await set_limits(request, NOVA_KEYS, "os_compute_api:os-quota-sets:update")
    return JSONResponse({"quota_set": {k: changed.state[k] for k in NOVA_KEYS}},
                        headers=_headers(request, changed))


async def update_volume_quotas(request: Request) -> Response:
    changed = await set_limits(request, CINDER_KEYS, "volume_extension:quotas:update")
    return JSONResponse({"quota_set": {k: changed.state[k] for k in CINDER_KEYS}},
                        headers=_headers(request, changed))


async def revert(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-quota-sets:delete")
    cmd = ResetQuotaLimits(request_id=await idempotency.request_id(request, who),
                           project_id=request.path_params["project_id"])
    changed = await run_in_threadpool(_quotas(request).reset, cmd)
    return Response(status_code=202, headers=_headers(request, changed))


routes = [
    Route("/compute/v2.1/os-quota-sets/{project_id}", update, methods=["PUT"]),
    Route("/compute/v2.1/os-quota-sets/{project_id}", revert, methods=["DELETE"]),
    Route("/volume/v3/{tenant_id}/os-quota-sets/{project_id}", update_volume_quotas,
          methods=["PUT"]),
]
