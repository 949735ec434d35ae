"""Cinder's os-services (admin only): each storage host's volume service
(``cinder-volume`` on ``host@lvm``) and backup service (``cinder-backup``),
filtered by ``host`` (before any ``@``) and ``binary``.

Storage hosts send no heartbeat: a configured host is listed ``up`` and
``enabled``, and ``updated_at`` is the last time one of its volumes,
snapshots or backups changed (before any did, when the cloud first started).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import context
from api.http import iso
from api.policy import require_admin
from api.volume.requests import PREFIX, caller_in_path
from api.volume.shapes import BACKEND
from projections import volumes_queries as q


async def list_services(request: Request) -> Response:
    require_admin(caller_in_path(request), "volume_extension:services:index")
    views = await caught_up(request)
    heard, started = await q.last_heard(views), await q.cloud_started(views)
    host_filter = request.query_params.get("host")
    binary_filter = request.query_params.get("binary")
    services = [
        {"binary": binary, "host": name, "zone": "nova", "status": "enabled", "state": "up",
         "disabled_reason": None, "frozen": False, "replication_status": "disabled",
         "active_backend_id": None, "updated_at": iso(heard.get(host, started))}
        for host in context(request).settings.storage_hosts
        for binary, name in (("cinder-volume", f"{host}@{BACKEND}"), ("cinder-backup", host))
        if (host_filter is None or host_filter.partition("@")[0] == host)
        and (binary_filter is None or binary_filter == binary)]
    return JSONResponse({"services": services})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [Route(f"{PREFIX}/os-services", list_services, methods=["GET"])]
