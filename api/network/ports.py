"""Neutron's ports (create, list, show, update, delete): a MAC and one fixed
IP on a network, for a server or a router.

A port is created with its address in one transaction (commands/networks.py):
a fixed IP outside the subnet or already held is refused, nothing written.
``security_groups`` are the groups' ids. ``binding:*`` fields are shown to
admins only, as Neutron's policy does.
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
from api.tokens import Claims
from domain import port as model
from domain.errors import InvalidInput, NotFound
from projections import networks_queries as q

_FILTERS = {"id": "id", "name": "name", "network_id": "network_id", "device_id": "device_id",
            "device_owner": "device_owner", "mac_address": "mac_address",
            "status": "status", "project_id": "project_id", "tenant_id": "project_id",
            "admin_state_up": "admin_state_up"}


class FixedIpFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    subnet_id: Text255 | None = None
    ip_address: Text255 | None = None


class PortFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    network_id: Text255
    name: LooseName = ""
    fixed_ips: list[FixedIpFields] | None = None
    security_groups: list[Text255] = []
    device_id: Text255 = ""
    device_owner: Text255 = ""
    admin_state_up: bool = True


class PortBody(msgspec.Struct):
    port: PortFields


class PortChanges(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: LooseName | None = None
    security_groups: list[Text255] | None = None
    admin_state_up: bool | None = None


class PortChangesBody(msgspec.Struct):
    port: PortChanges


def from_state(p: model.Port) -> q.PortView:
    return q.PortView(
        id=p.id, version=0, project_id=p.project_id, network_id=p.network_id, name=p.name,
        mac_address=p.mac_address, fixed_ips=list(p.fixed_ips), device_id=p.device_id,
        device_owner=p.device_owner, security_groups=list(p.security_groups),
        admin_state_up=p.admin_state_up, status=p.status, binding_host=p.binding_host,
        created_at=p.created_at, updated_at=p.updated_at)


def shape(p: q.PortView, who: Claims) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id, "name": p.name, "network_id": p.network_id,
        "mac_address": p.mac_address, "admin_state_up": p.admin_state_up,
        "status": p.status, "device_id": p.device_id, "device_owner": p.device_owner,
        "fixed_ips": [{"subnet_id": f.subnet_id, "ip_address": f.ip_address}
                      for f in p.fixed_ips],
        "security_groups": p.security_groups, "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        **neutron.standard(p.project_id, p.version, p.created_at, p.updated_at)}
    if who.caller.is_admin:
        body.update({"binding:host_id": p.binding_host, "binding:vnic_type": "normal",
                     "binding:vif_type": "bridge" if p.binding_host else "unbound",
                     "binding:vif_details": {}, "binding:profile": {}})
    return body


async def list_ports(request: Request) -> Response:
    who = claims(request)
    found = await q.list_ports(await caught_up(request), neutron.scope(who),
                               neutron.filters(request, _FILTERS,
                                               frozenset({"admin_state_up"})))
    return neutron.listed(request, "ports", [shape(p, who) for p in found])


async def show_port(request: Request) -> Response:
    who = claims(request)
    port_id = request.path_params["port_id"]
    found = await q.get_port(await caught_up(request), port_id, neutron.scope(who))
    if found is None:
        raise NotFound(f"Port {port_id} could not be found.")
    return JSONResponse({"port": neutron.shown(request, shape(found, who))})


def _fixed_ip(fields: PortFields) -> FixedIpFields:
    if fields.fixed_ips is None:
        return FixedIpFields()
    if len(fields.fixed_ips) != 1:
        raise InvalidInput("Invalid input for fixed_ips. Reason: a port holds exactly one"
                           " fixed IP here.")
    return fields.fixed_ips[0]


async def create_port(request: Request) -> Response:
    who = claims(request)
    fields = neutron.body(await request.body(), PortBody).port
    fixed = _fixed_ip(fields)
    if not fields.admin_state_up:
        raise InvalidInput("Invalid input for admin_state_up. Reason: a port is created up"
                           " here; set it down afterwards.")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).networks.create_port, who.caller, request_id, fields.network_id,
        name=fields.name, fixed_ip=fixed.ip_address, subnet_id=fixed.subnet_id,
        security_groups=tuple(fields.security_groups), device_id=fields.device_id,
        device_owner=fields.device_owner)
    return neutron.answer("port", shape(from_state(written.state), who), written.position,
                          201)


async def update_port(request: Request) -> Response:
    who = claims(request)
    fields = neutron.body(await request.body(), PortChangesBody).port
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).networks.update_port, who.caller, request_id,
        request.path_params["port_id"], name=fields.name,
        security_groups=None if fields.security_groups is None
        else tuple(fields.security_groups), admin_state_up=fields.admin_state_up)
    return neutron.answer("port", shape(from_state(written.state), who), written.position)


async def delete_port(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).networks.delete_port, who.caller,
                                      request_id, request.path_params["port_id"])
    return neutron.answer("port", None, written.position, 204)


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/ports", create_port, methods=["POST"]),
    Route(f"{PREFIX}/ports/{{port_id}}", update_port, methods=["PUT"]),
    Route(f"{PREFIX}/ports/{{port_id}}", delete_port, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/ports", list_ports, methods=["GET"]),
    Route(f"{PREFIX}/ports/{{port_id}}", show_port, methods=["GET"]),
]
