"""Neutron's subnets (create, list, show, delete): IPv4 ranges of a network,
with their gateway, allocation pools, DHCP switch and DNS servers.

A subnet is part of its network's aggregate, so a request naming only the
subnet is resolved to its network by the write side (the fabric knows every
subnet); no two subnets of the cloud overlap.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.consistency import caught_up
from api.context import claims
from api.fields import LooseName, Text255
from api.http import commands
from api.network import neutron
from api.network.neutron import PREFIX
from domain import network as model
from domain.errors import InvalidInput, NotFound
from projections import networks_queries as q

_FILTERS = {"id": "id", "name": "name", "network_id": "network_id", "cidr": "cidr",
            "gateway_ip": "gateway_ip", "project_id": "project_id",
            "tenant_id": "project_id", "enable_dhcp": "enable_dhcp"}


class PoolFields(msgspec.Struct, forbid_unknown_fields=True):
    start: Text255
    end: Text255


class SubnetFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    network_id: Text255
    cidr: Text255
    name: LooseName = ""
    ip_version: int = 4
    gateway_ip: Text255 | msgspec.UnsetType | None = msgspec.UNSET
    allocation_pools: list[PoolFields] | None = None
    enable_dhcp: bool = True
    dns_nameservers: list[Text255] = []
    host_routes: list[Any] = []


class SubnetBody(msgspec.Struct):
    subnet: SubnetFields


def shape(s: q.SubnetView) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "network_id": s.network_id, "ip_version": 4,
        "cidr": s.cidr, "gateway_ip": s.gateway_ip,
        "allocation_pools": [{"start": p.start, "end": p.end} for p in s.allocation_pools],
        "enable_dhcp": s.enable_dhcp, "dns_nameservers": s.dns_nameservers,
        "host_routes": [], "ipv6_address_mode": None, "ipv6_ra_mode": None,
        "subnetpool_id": None, "service_types": [],
        **neutron.standard(s.project_id, 0, s.created_at, s.created_at)}


def from_state(network_id: str, s: model.Subnet) -> q.SubnetView:
    return q.SubnetView(id=s.id, network_id=network_id, project_id=s.project_id,
                        name=s.name, cidr=s.cidr, gateway_ip=s.gateway_ip,
                        allocation_pools=list(s.allocation_pools), enable_dhcp=s.enable_dhcp,
                        dns_nameservers=list(s.dns_nameservers), created_at=s.created_at,
                        updated_at=s.created_at)


async def list_subnets(request: Request) -> Response:
    who = claims(request)
    found = await q.list_subnets(await caught_up(request), neutron.scope(who),
                                 neutron.filters(request, _FILTERS, frozenset({"enable_dhcp"})))
    return neutron.listed(request, "subnets", [shape(s) for s in found])


async def show_subnet(request: Request) -> Response:
    who = claims(request)
    subnet_id = request.path_params["subnet_id"]
    found = await q.get_subnet(await caught_up(request), subnet_id, neutron.scope(who))
    if found is None:
        raise NotFound(f"Subnet {subnet_id} could not be found.")
    return JSONResponse({"subnet": neutron.shown(request, shape(found))})


async def create_subnet(request: Request) -> Response:
    who = claims(request)
    fields = neutron.body(await request.body(), SubnetBody).subnet
    if fields.ip_version != 4:
        raise InvalidInput(f"Invalid input for ip_version. Reason: {fields.ip_version} is not"
                           " supported here: only IPv4 subnets are.")
    if fields.host_routes:
        raise InvalidInput("Invalid input for host_routes. Reason: host routes are not"
                           " supported here.")
    gateway: str | bool | None = (True if isinstance(fields.gateway_ip, msgspec.UnsetType)
                                  else fields.gateway_ip)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).networks.create_subnet, who.caller, request_id, fields.network_id,
        name=fields.name, cidr=fields.cidr, gateway_ip=gateway,
        allocation_pools=None if fields.allocation_pools is None else [
            (p.start, p.end) for p in fields.allocation_pools],
        enable_dhcp=fields.enable_dhcp, dns_nameservers=fields.dns_nameservers)
    return neutron.answer("subnet", shape(from_state(fields.network_id, written.state)),
                          written.position, 201)


async def delete_subnet(request: Request) -> Response:
    who = claims(request)
    subnet_id = request.path_params["subnet_id"]
    request_id = await idempotency.request_id(request, who)
    networks = commands(request).networks

    def delete() -> int | None:
        return networks.delete_subnet(who.caller, request_id,
                                      networks.network_of_subnet(subnet_id),
                                      subnet_id).position

    return neutron.answer("subnet", None, await run_in_threadpool(delete), 204)


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/subnets", create_subnet, methods=["POST"]),
    Route(f"{PREFIX}/subnets/{{subnet_id}}", delete_subnet, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/subnets", list_subnets, methods=["GET"]),
    Route(f"{PREFIX}/subnets/{{subnet_id}}", show_subnet, methods=["GET"]),
]
