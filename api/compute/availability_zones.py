"""Nova's os-availability-zone: the zones compute hosts are in, named by the
``availability_zone`` metadata of the host aggregates they belong to (a host
in none is in the default zone, "nova"). Anyone lists the zones; an admin's
``/detail`` also names each zone's hosts and their compute service. A zone
is available while one of its hosts' services is enabled. Both are views:
the hosts view and the host aggregates view.
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
from domain import host_aggregate as model
from domain.host import BINARY
from projections.host_aggregates_queries import HostAggregateView, list_host_aggregates
from projections.hosts_queries import HostView, list_hosts


def zones_of(hosts: list[HostView], aggregates: list[HostAggregateView]) -> dict[str, str]:
    """Each compute host's zone, by its aggregates (the first to name one)."""
    zone = {h.host: model.DEFAULT_ZONE for h in hosts}
    named: set[str] = set()
    for agg in aggregates:
        az = agg.metadata.get(model.AZ_KEY, "")
        for host in agg.hosts if az else ():
            if host in zone and host not in named:
                zone[host] = az
                named.add(host)
    return zone


async def _zones(request: Request, *, detail: bool) -> Response:
    pool = await caught_up(request)
    hosts = await list_hosts(pool)
    zone = zones_of(hosts, await list_host_aggregates(pool))
    down_after = context(request).settings.service_down_time
    by_zone: dict[str, list[HostView]] = {}
    for host in hosts:
        by_zone.setdefault(zone[host.host], []).append(host)
    info: list[dict[str, Any]] = []
    for name, members in sorted(by_zone.items()):
        listed: dict[str, Any] | None = None
        if detail:
            listed = {h.host: {BINARY: {
                "available": h.is_up(down_after) and not h.disabled, "active": not h.disabled,
                "updated_at": (h.last_seen or h.updated_at).strftime("%Y-%m-%dT%H:%M:%S.%f")}}
                for h in members}
        info.append({"zoneName": name,
                     "zoneState": {"available": any(not h.disabled for h in members)},
                     "hosts": listed})
    return microversion.answer({"availabilityZoneInfo": info}, request)


async def list_zones(request: Request) -> Response:
    return await _zones(request, detail=False)


async def list_zones_detail(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-availability-zone:detail")
    return await _zones(request, detail=True)


C = "/compute/v2.1"
command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{C}/os-availability-zone", list_zones, methods=["GET"]),
    Route(f"{C}/os-availability-zone/detail", list_zones_detail, methods=["GET"]),
]
