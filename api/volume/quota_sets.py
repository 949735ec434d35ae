"""Cinder's os-quota-sets (v3, under /volume/v3/{tenant_id}): show and defaults
(queries), an admin's update (a command) of the block-storage limits.

They read and set the same per-project quota as Nova's routes (api/quotas.py):
the settings' defaults with the project's overrides. Volumes, snapshots and
backups claim these resources when they are created. With the volume entry
in the catalog, ``openstack quota show`` and ``quota set`` reach these routes.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.consistency import positioned
from api.context import claims, context
from api.http import commands
from api.policy import require_admin
from api.quotas import readable, set_limits, usage_of
from commands.quotas import ResetQuotaLimits
from domain.errors import NotFound

CINDER_KEYS = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
               "per_volume_gigabytes", "groups")
V = "/volume/v3/{tenant_id}"


async def show(request: Request) -> Response:
    who = claims(request)
    project_id = request.path_params["project_id"]
    readable(who, project_id, "volume_extension:quotas:show")
    limits, usage = await usage_of(request, project_id)
    body: dict[str, object] = {"id": project_id}
    with_usage = request.query_params.get("usage", "").lower() in ("true", "1", "yes")
    for key in CINDER_KEYS:
        body[key] = ({"limit": limits[key], "in_use": usage.in_use.get(key, 0),
                      "reserved": 0, "allocated": 0} if with_usage else limits[key])
    return JSONResponse({"quota_set": body})


async def defaults(request: Request) -> Response:
    claims(request)
    values = context(request).settings.quota_defaults.as_dict()
    return JSONResponse({"quota_set": {"id": request.path_params["project_id"],
                                       **{k: values[k] for k in CINDER_KEYS}}})


async def class_defaults(request: Request) -> Response:
    """``GET os-quota-class-sets/default``: the cloud's default limits (the
    settings' quota_*). Only the ``default`` class exists; changing it through
    the API is not served (the defaults are configuration)."""
    claims(request)
    if request.path_params["class_name"] != "default":
        raise NotFound(f"Quota class {request.path_params['class_name']} could not be found.")
    values = context(request).settings.quota_defaults.as_dict()
    return JSONResponse({"quota_class_set": {"id": "default",
                                             **{k: values[k] for k in CINDER_KEYS}}})


async def update_volume_quotas(request: Request) -> Response:
    changed = await set_limits(request, CINDER_KEYS, "volume_extension:quotas:update")
    return JSONResponse({"quota_set": {k: changed.state[k] for k in CINDER_KEYS}},
                        headers=positioned(changed.position))


async def delete_volume_quotas(request: Request) -> Response:
    """``DELETE os-quota-sets/{project}``: the project's block-storage limits
    back to the defaults (its compute limits stay)."""
    who = claims(request)
    require_admin(who, "volume_extension:quotas:delete")
    cmd = ResetQuotaLimits(request_id=await idempotency.request_id(request, who),
                           project_id=request.path_params["project_id"],
                           resources=CINDER_KEYS)
    changed = await run_in_threadpool(commands(request).quotas.reset, cmd)
    return Response(status_code=200, headers=positioned(changed.position))


command_routes: list[BaseRoute] = [
    Route(f"{V}/os-quota-sets/{{project_id}}", update_volume_quotas, methods=["PUT"]),
    Route(f"{V}/os-quota-sets/{{project_id}}", delete_volume_quotas, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{V}/os-quota-sets/{{project_id}}/defaults", defaults, methods=["GET"]),
    Route(f"{V}/os-quota-sets/{{project_id}}", show, methods=["GET"]),
    Route(f"{V}/os-quota-class-sets/{{class_name}}", class_defaults, methods=["GET"]),
]
