"""Cinder's os-hosts (admin only): the block-storage services' hosts, and
what each storage host holds per project (from the volumes and snapshots
views).

Each storage host runs Cinder's two host-side services in one worker: volumes
(``cinder-volume``, named ``host@lvm`` as Cinder names a backend) and
backups (``cinder-backup``). Storage hosts send no heartbeat, so a
configured one is listed available and ``last-update`` is null.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import context
from api.policy import require_admin
from api.volume.requests import PREFIX, caller_in_path
from api.volume.shapes import BACKEND
from domain.errors import NotFound
from projections import volumes_queries as q


def hosts_of(request: Request) -> list[dict[str, Any]]:
    """Every storage host's volume and backup service, as os-hosts lists them."""
    return [{"host_name": name, "service": service, "zone": "nova",
             "service-status": "available", "service-state": "enabled", "last-update": None}
            for host in context(request).settings.storage_hosts
            for name, service in ((f"{host}@{BACKEND}", "cinder-volume"),
                                  (host, "cinder-backup"))]


async def list_hosts(request: Request) -> Response:
    require_admin(caller_in_path(request), "volume_extension:hosts")
    return JSONResponse({"hosts": hosts_of(request)})


async def show_host(request: Request) -> Response:
    """``GET os-hosts/{host}``: the total, then each project's use of the host."""
    require_admin(caller_in_path(request), "volume_extension:hosts")
    named = request.path_params["host"]
    host = named.partition("@")[0]
    if host not in context(request).settings.storage_hosts:
        raise NotFound(f"Host {named} could not be found.")
    usage = await q.host_usage(await caught_up(request), host)
    rows = [("(total)", sum(u.volume_count for u in usage), sum(u.volume_gb for u in usage),
             sum(u.snapshot_count for u in usage), sum(u.snapshot_gb for u in usage))]
    rows += [(u.project_id, u.volume_count, u.volume_gb, u.snapshot_count, u.snapshot_gb)
             for u in usage]
    return JSONResponse({"host": [{"resource": {
        "host": named, "project": project, "volume_count": str(vc),
        "total_volume_gb": str(vg), "snapshot_count": str(sc), "total_snapshot_gb": str(sg)}}
        for project, vc, vg, sc, sg in rows]})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/os-hosts", list_hosts, methods=["GET"]),
    Route(f"{PREFIX}/os-hosts/{{host}}", show_host, methods=["GET"]),
]
