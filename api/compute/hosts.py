"""Nova's os-hosts/{host} (admin only, 2.1): a host's resources, in total, in
use and per project, from the hosts view."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.consistency import caught_up
from api.context import claims
from api.policy import require_admin
from domain.errors import NotFound
from projections.hosts_queries import get_host, usage_by_project


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
    return microversion.answer({"host": rows}, request)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-hosts/{host_name}", describe_host, methods=["GET"]),
]
