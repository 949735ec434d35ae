"""Nova's os-hosts (admin only, 2.1, deprecated in Nova since 2.43 but still
served): the compute hosts with their zone (from the host aggregates view),
a host's resources in total, in use and per project (the seed's
describe_resource, from the hosts view), enabling or disabling a host
(``PUT`` with ``status``: the same HostEnabled / HostDisabled events as
os-services). Maintenance mode and host power actions are refused with 501
as Nova's libvirt driver refuses them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.availability_zones import zones_of
from api.compute.flavors import written_headers
from api.consistency import caught_up
from api.context import claims
from api.errors import NotImplementedByHost
from api.fields import Text255
from api.http import commands
from api.policy import require_admin
from commands.hosts import SetHostEnabled
from domain.errors import InvalidInput, NotFound
from projections.host_aggregates_queries import list_host_aggregates
from projections.hosts_queries import HostView, get_host, list_hosts, usage_by_project

C = "/compute/v2.1"


class HostUpdate(msgspec.Struct, forbid_unknown_fields=True):
    status: Text255 | None = None
    maintenance_mode: Text255 | None = None


async def list_compute_hosts(request: Request) -> Response:
    """os-hosts: every compute host and its zone; ``?zone=`` keeps one zone's."""
    require_admin(claims(request), "os_compute_api:os-hosts:list")
    pool = await caught_up(request)
    hosts = await list_hosts(pool)
    zone = zones_of(hosts, await list_host_aggregates(pool))
    wanted = request.query_params.get("zone")
    body = [{"host_name": h.host, "service": "compute", "zone": zone[h.host]}
            for h in hosts if not wanted or zone[h.host] == wanted]
    return microversion.answer({"hosts": body}, request)


async def _known(request: Request) -> HostView:
    name = request.path_params["host_name"]
    found = await get_host(await caught_up(request), name)
    if found is None:
        raise NotFound(f"Compute host {name} could not be found.")
    return found


async def describe_host(request: Request) -> Response:
    """os-hosts/{host} (2.1): the seed's describe_resource, per project."""
    require_admin(claims(request), "os_compute_api:os-hosts:show")
    found = await _known(request)
    name = found.host
    pool = await caught_up(request)
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
    return microversion.answer({"host": rows}, request)


async def update_host(request: Request) -> Response:
    """``{"status": "enable"|"disable"}`` enables or disables the host's
    compute service; ``maintenance_mode`` is not something libvirt does (501)."""
    who = claims(request)
    require_admin(who, "os_compute_api:os-hosts:update")
    body = decode(await request.body(), HostUpdate)
    if body.status is None and body.maintenance_mode is None:
        raise InvalidInput("Invalid input for field/attribute host. Value: {}. "
                           "At least one of status or maintenance_mode is required")
    for field, value in (("status", body.status), ("maintenance_mode", body.maintenance_mode)):
        if value is not None and value not in ("enable", "disable"):
            raise InvalidInput(f"Invalid input for field/attribute {field}. Value: {value}. "
                               f"'{value}' is not one of ['enable', 'disable']")
    host = await _known(request)
    if body.maintenance_mode is not None:
        raise NotImplementedByHost("Virt driver does not implement host maintenance mode.")
    assert body.status is not None
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).hosts.set_enabled, SetHostEnabled(
        request_id=request_id, host=host.host, enabled=body.status == "enable"))
    status = "disabled" if written.state.disabled else "enabled"
    return JSONResponse({"host": host.host, "status": status},
                        headers=written_headers(request, request_id, written.position))


async def power_action(request: Request) -> Response:
    """startup, shutdown, reboot: Nova's libvirt driver does none of them (501)."""
    action = request.path_params["action"]
    if action not in ("startup", "shutdown", "reboot"):
        raise NotFound("The resource could not be found.")
    require_admin(claims(request), f"os_compute_api:os-hosts:{action}")
    await _known(request)
    raise NotImplementedByHost("Virt driver does not implement host power management.")


command_routes: list[BaseRoute] = [
    Route(f"{C}/os-hosts/{{host_name}}", update_host, methods=["PUT"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{C}/os-hosts", list_compute_hosts, methods=["GET"]),
    Route(f"{C}/os-hosts/{{host_name}}", describe_host, methods=["GET"]),
    Route(f"{C}/os-hosts/{{host_name}}/{{action:str}}", power_action, methods=["GET"]),
]
