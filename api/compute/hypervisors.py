"""Nova's os-hypervisors (admin only, 2.1 shapes): each compute host's
capacity and use, from the hosts view; "up" or "down" from the heartbeat
table (a host heard from within ``service_down_time`` seconds is up). Ids
are the small integers the fleet gives each host in order of registration.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.consistency import caught_up
from api.context import claims, context
from api.policy import require_admin
from domain.errors import NotFound
from projections.hosts_queries import HostView, list_hosts


def hypervisor(host: HostView, down_after: float, *, detail: bool,
               cpu_info_object: bool = False) -> dict[str, Any]:
    """Nova's hypervisor body; ``cpu_info`` is a JSON text before 2.28, an object from it."""
    body: dict[str, Any] = {
        "id": host.number, "hypervisor_hostname": host.host,
        "state": "up" if host.is_up(down_after) else "down",
        "status": "disabled" if host.disabled else "enabled",
    }
    if detail:
        body.update({
            "vcpus": host.vcpus, "memory_mb": host.memory_mb, "local_gb": host.local_gb,
            "vcpus_used": host.vcpus_used, "memory_mb_used": host.memory_mb_used,
            "local_gb_used": host.local_gb_used,
            "free_ram_mb": host.memory_mb - host.memory_mb_used,
            "free_disk_gb": host.local_gb - host.local_gb_used,
            "current_workload": 0, "running_vms": host.running_vms,
            "disk_available_least": host.local_gb - host.local_gb_used,
            "hypervisor_type": host.hypervisor_type,
            "hypervisor_version": host.hypervisor_version,
            "host_ip": host.host_ip, "cpu_info": {} if cpu_info_object else "{}",
            "service": {"host": host.host, "id": host.number,
                        "disabled_reason": host.disabled_reason},
        })
    return body


async def _hypervisors(request: Request, *, detail: bool) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-hypervisors:list")
    hosts = await list_hosts(await caught_up(request))
    down_after = context(request).settings.service_down_time
    body = [hypervisor(h, down_after, detail=detail,
                       cpu_info_object=microversion.at_least(request, 28)) for h in hosts]
    return microversion.answer({"hypervisors": body}, request)


async def list_hypervisors(request: Request) -> Response:
    return await _hypervisors(request, detail=False)


async def list_hypervisors_detail(request: Request) -> Response:
    return await _hypervisors(request, detail=True)


async def show_hypervisor(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-hypervisors:show")
    ident = request.path_params["hypervisor_id"]
    found = next((h for h in await list_hosts(await caught_up(request))
                  if str(h.number) == ident or h.host == ident), None)
    if found is None:
        raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
    down_after = context(request).settings.service_down_time
    body = hypervisor(found, down_after, detail=True,
                      cpu_info_object=microversion.at_least(request, 28))
    return microversion.answer({"hypervisor": body}, request)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-hypervisors", list_hypervisors, methods=["GET"]),
    Route("/compute/v2.1/os-hypervisors/detail", list_hypervisors_detail, methods=["GET"]),
    Route("/compute/v2.1/os-hypervisors/{hypervisor_id}", show_hypervisor, methods=["GET"]),
]
