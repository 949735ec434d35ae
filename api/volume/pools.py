"""Cinder's ``scheduler-stats/get_pools`` (admin only): one pool per storage
host, ``host@lvm#nova-volumes`` (the seed's volume group), with ``detail`` its
capabilities: the backend name a type's ``volume_backend_name`` names it by,
the LVM driver's vendor and protocol, and the gigabytes its volumes hold.
Storage hosts do not report their capacity: it is ``unknown``.
``capabilities/{host}`` is one backend's: what a type's extra specs may ask of it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import context
from api.policy import require_admin
from api.volume.requests import PREFIX, caller_in_path
from api.volume.shapes import BACKEND, POOL
from domain.errors import NotFound
from projections import volumes_queries as q


async def get_pools(request: Request) -> Response:
    require_admin(caller_in_path(request), "scheduler_extension:scheduler_stats:get_pools")
    hosts = context(request).settings.storage_hosts
    detail = request.query_params.get("detail", "").lower() in ("true", "1", "yes")
    if not detail:
        return JSONResponse({"pools": [{"name": f"{h}@{BACKEND}#{POOL}"} for h in hosts]})
    allocated = await q.allocated_gb(await caught_up(request))
    pools: list[dict[str, Any]] = [{"name": f"{h}@{BACKEND}#{POOL}", "capabilities": {
        "pool_name": POOL, "volume_backend_name": h, "vendor_name": "Open Source",
        "driver_version": "3.0.0", "storage_protocol": "iSCSI", "QoS_support": False,
        "total_capacity_gb": "unknown", "free_capacity_gb": "unknown",
        "allocated_capacity_gb": allocated.get(h, 0), "reserved_percentage": 0,
        "thin_provisioning_support": True, "multiattach": False, "timestamp": None,
    }} for h in hosts]
    return JSONResponse({"pools": pools})


async def capabilities(request: Request) -> Response:
    """``GET capabilities/{host@backend[#pool]}``: the backend's capabilities."""
    require_admin(caller_in_path(request), "volume_extension:capabilities")
    named = request.path_params["host"]
    host = named.partition("@")[0]
    if host not in context(request).settings.storage_hosts:
        raise NotFound(f"Host {named} could not be found.")
    return JSONResponse({
        "namespace": f"OS::Storage::Capabilities::{host}@{BACKEND}", "pool_name": POOL,
        "volume_backend_name": host, "vendor_name": "Open Source", "driver_version": "3.0.0",
        "storage_protocol": "iSCSI", "display_name": None, "description": None,
        "visibility": None, "replication_targets": [],
        "properties": {"thin_provisioning": {
            "type": "boolean", "title": "Thin Provisioning",
            "description": "Volumes take only the space their data fills"}},
    })


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/scheduler-stats/get_pools", get_pools, methods=["GET"]),
    Route(f"{PREFIX}/capabilities/{{host}}", capabilities, methods=["GET"])]
