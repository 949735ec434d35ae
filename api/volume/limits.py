"""Cinder's limits: the absolute limits and usage of the caller's project's
block-storage quota."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import claims
from api.quotas import usage_of


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


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [Route("/volume/v3/{tenant_id}/limits", limits, methods=["GET"])]
