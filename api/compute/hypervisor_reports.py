"""The rest of Nova's os-hypervisors (admin only): the fleet's statistics
(sums over every compute host), a hypervisor's uptime (from its machine's
boot time, as its last report gave it), the hypervisors whose name contains a
text (``{pattern}/search``), and the servers on them (``{pattern}/servers``).
All from the hosts view and the instances view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.consistency import caught_up
from api.context import claims, context
from api.policy import require_admin
from domain.errors import NotFound
from projections.hosts_queries import HostView, list_hosts, servers_on


def _brief(host: HostView, down_after: float) -> dict[str, Any]:
    return {"id": host.number, "hypervisor_hostname": host.host,
            "state": "up" if host.is_up(down_after) else "down",
            "status": "disabled" if host.disabled else "enabled"}


async def statistics(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-hypervisors:statistics")
    hosts = await list_hosts(await caught_up(request))

    def total(field: str) -> int:
        return sum(int(getattr(h, field)) for h in hosts)

    free_disk = total("local_gb") - total("local_gb_used")
    stats = {
        "count": len(hosts), "current_workload": 0, "vcpus": total("vcpus"),
        "vcpus_used": total("vcpus_used"), "memory_mb": total("memory_mb"),
        "memory_mb_used": total("memory_mb_used"),
        "free_ram_mb": total("memory_mb") - total("memory_mb_used"),
        "local_gb": total("local_gb"), "local_gb_used": total("local_gb_used"),
        "free_disk_gb": free_disk, "disk_available_least": free_disk,
        "running_vms": total("running_vms"),
    }
    return microversion.answer({"hypervisor_statistics": stats}, request)


def uptime_text(booted: datetime, now: datetime) -> str:
    """The first part of ``uptime``'s line, as Nova's libvirt driver passes it on."""
    minutes = int((now - booted).total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    since = f"{days} day{'s' if days != 1 else ''}, " if days else ""
    return f" {now:%H:%M:%S} up {since}{rest // 60}:{rest % 60:02d}"


async def uptime(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-hypervisors:uptime")
    ident = request.path_params["hypervisor_id"]
    found = next((h for h in await list_hosts(await caught_up(request))
                  if str(h.number) == ident), None)
    if found is None:
        raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
    down_after = context(request).settings.service_down_time
    if found.booted_at is None or not found.is_up(down_after):
        raise NotFound(f"Hypervisor {found.host} has not reported its uptime.")
    body = {**_brief(found, down_after),
            "uptime": uptime_text(found.booted_at, datetime.now(UTC))}
    return microversion.answer({"hypervisor": body}, request)


async def _matching(request: Request) -> list[HostView]:
    pattern = request.path_params["pattern"]
    found = [h for h in await list_hosts(await caught_up(request)) if pattern in h.host]
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return found


async def search(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-hypervisors:search")
    down_after = context(request).settings.service_down_time
    found = [_brief(h, down_after) for h in await _matching(request)]
    return microversion.answer({"hypervisors": found}, request)


async def servers(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-hypervisors:servers")
    down_after = context(request).settings.service_down_time
    pool = await caught_up(request)
    found = []
    for host in await _matching(request):
        body = _brief(host, down_after)
        on_it = await servers_on(pool, host.host)
        if on_it:  # Nova leaves the key out of a hypervisor with no servers
            body["servers"] = [{"uuid": s.uuid, "name": s.name} for s in on_it]
        found.append(body)
    return microversion.answer({"hypervisors": found}, request)


C = "/compute/v2.1/os-hypervisors"
command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{C}/statistics", statistics, methods=["GET"]),
    Route(f"{C}/{{hypervisor_id}}/uptime", uptime, methods=["GET"]),
    Route(f"{C}/{{pattern}}/search", search, methods=["GET"]),
    Route(f"{C}/{{pattern}}/servers", servers, methods=["GET"]),
]
