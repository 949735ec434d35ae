"""Cinder's quota routes (v3, under /volume/v3/{project_id}): quota sets,
defaults and absolute limits for the block-storage resources.

They read the same per-project quota as Nova's routes (api/quotas.py): the
settings' defaults with the project's overrides. Until nimbus has volumes,
nothing claims these resources, so their usage is 0. With the volume entry in
the catalog, ``openstack quota show`` and ``limits show`` ask these routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.context import claims, context
from api.quotas import defaults_of, readable, usage_of

CINDER_KEYS = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
               "per_volume_gigabytes")
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
    values = defaults_of(context(request)).as_dict()
    return JSONResponse({"quota_set": {"id": request.path_params["project_id"],
                                       **{k: values[k] for k in CINDER_KEYS}}})


async def limits(request: Request) -> Response:
    who = claims(request)
    limit, usage = await usage_of(request, who.project_id)
    absolute = {
        "maxTotalVolumes": limit["volumes"],
        "maxTotalSnapshots": limit["snapshots"],
        "maxTotalVolumeGigabytes": limit["gigabytes"],
        "maxTotalBackups": limit["backups"],
        "maxTotalBackupGigabytes": limit["backup_gigabytes"],
        "totalVolumesUsed": usage.in_use.get("volumes", 0),
        "totalSnapshotsUsed": usage.in_use.get("snapshots", 0),
        "totalGigabytesUsed": usage.in_use.get("gigabytes", 0),
        "totalBackupsUsed": usage.in_use.get("backups", 0),
        "totalBackupGigabytesUsed": usage.in_use.get("backup_gigabytes", 0),
    }
    return JSONResponse({"limits": {"absolute": absolute, "rate": []}})


routes = [
    Route(f"{V}/os-quota-sets/{{project_id}}/defaults", defaults, methods=["GET"]),
    Route(f"{V}/os-quota-sets/{{project_id}}", show, methods=["GET"]),
    Route(f"{V}/limits", limits, methods=["GET"]),
]
