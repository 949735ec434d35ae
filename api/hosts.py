"""Host query routes (admin only): os-services and os-hypervisors, Nova 2.1 shapes.

Registration, enablement and claims come from the hosts view; "up" or
"down" from the heartbeat table: a host heard from within
``service_down_time`` seconds is up. Ids are the small integers the fleet
gives each host in order of registration (2.1 uses integers, not UUIDs).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import microversion
from api.consistency import caught_up
from api.context import Context, claims, context
from api.policy import require_admin
from domain.errors import NotFound
from domain.host import BINARY
from projections.hosts_queries import HostView, get_host, list_hosts, usage_by_project


def down_time(ctx: Context) -> float:
    value = ctx.extra.get("service_down_time", 60.0)
    return float(value)


def _json(body: Any, request: Request) -> Response:
    return JSONResponse(body, headers=microversion.headers(microversion.requested(request)))


def _time(host: HostView) -> str | None:
    seen = host.last_seen or host.updated_at
    return seen.strftime("%Y-%m-%dT%H:%M:%S.%f") if seen else None


def service(host: HostView, down_after: float) -> dict[str, Any]:
    return {
        "id": host.number, "binary": BINARY, "host": host.host, "zone": "nova",
        "status": "disabled" if host.disabled else "enabled",
        "state": "up" if host.is_up(down_after) else "down",
        "updated_at": _time(host), "disabled_reason": host.disabled_reason,
    }


def hypervisor(host: HostView, down_after: float, *, detail: bool) -> dict[str, Any]:
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
            "host_ip": host.host_ip, "cpu_info": "{}",
            "service": {"host": host.host, "id": host.number,
                        "disabled_reason": host.disabled_reason},
        })
    return body


async def list_services(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-services:list")
    ctx = context(request)
    wanted_host = request.query_params.get("host")
    wanted_binary = request.query_params.get("binary")
    found = [
        service(h, down_time(ctx)) for h in await list_hosts(await caught_up(request))
        if (wanted_host is None or h.host == wanted_host)
        and (wanted_binary is None or wanted_binary == BINARY)
    ]
    return _json({"services": found}, request)


async def _hypervisors(request: Request, *, detail: bool) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-hypervisors:list")
    ctx = context(request)
    hosts = await list_hosts(await caught_up(request))
    body = [hypervisor(h, down_time(ctx), detail=detail) for h in hosts]
    return _json({"hypervisors": body}, request)


async def list_hypervisors(request: Request) -> Response:
    return await _hypervisors(request, detail=False)


async def list_hypervisors_detail(request: Request) -> Response:
    return await _hypervisors(request, detail=True)


async def show_hypervisor(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-hypervisors:show")
    ctx = context(request)
    ident = request.path_params["hypervisor_id"]
    found = next((h for h in await list_hosts(await caught_up(request))
                  if str(h.number) == ident or h.host == ident), None)
    if found is None:
        raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
    return _json({"hypervisor": hypervisor(found, down_time(ctx), detail=True)}, request)


async def describe_host(request: Request) -> Response:
    """os-hosts/{host} (2.1): the seed's describe_resource, per project."""
    who = claims(request)
    require_admin(who, "os_compute_api:os-hosts:show")
    name = request.path_params["host_name"]
    pool = await caught_up(request)
    found = await get_host(pool, name)
    if found is None:
        raise NotFound(f"Compute host {name} could not be found.")
    now = await usage_by_project(pool, name, running_only=True)
    every = await usage_by_project(pool, name)

    def row(project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict[str, Any]:
        return {"resource": {"host": name, "project": project, "cpu": cpu,
                             "memory_mb": memory_mb, "disk_gb": disk_gb}}

    rows = [
        row("(total)", found.vcpus, found.memory_mb, found.local_gb),
        row("(used_now)", sum(u.vcpus for u in now), sum(u.memory_mb for u in now),
            sum(u.disk_gb for u in now)),
        row("(used_max)", found.vcpus_used, found.memory_mb_used, found.local_gb_used),
        *(row(u.project_id, u.vcpus, u.memory_mb, u.disk_gb) for u in every),
    ]
    return _json({"host": rows}, request)


routes = [
    Route("/compute/v2.1/os-services", list_services, methods=["GET"]),
    Route("/compute/v2.1/os-hypervisors", list_hypervisors, methods=["GET"]),
    Route("/compute/v2.1/os-hypervisors/detail", list_hypervisors_detail, methods=["GET"]),
    Route("/compute/v2.1/os-hypervisors/{hypervisor_id}", show_hypervisor, methods=["GET"]),
    Route("/compute/v2.1/os-hosts/{host_name}", describe_host, methods=["GET"]),
]
