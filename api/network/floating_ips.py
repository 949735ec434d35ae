"""Neutron's floating IPs: list, show (queries, from the views), allocate,
associate or disassociate, release (commands, for a ``netadmin`` or an admin).

``openstack server add floating ip S F`` finds F (``GET /floatingips/F``,
then ``?floating_ip_address=F``), the server's ports by ``device_id``, and
PUTs ``{"floatingip": {"port_id": P}}``; ``port_id: null`` disassociates.
A fixed IP holds one floating IP at most: the port records the floating IPs
pointed at it (domain/port.py), so the write side refuses a second, even
when two race.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims
from api.fields import Text255
from api.http import uuid_or_none
from api.network import neutron
from api.policy import require_netadmin
from domain.errors import InvalidInput, NotFound
from domain.floating_ip import FloatingIp
from projections import network_security_queries as q

PATH = "/network/v2.0/floatingips"


class _NewFloatingIp(msgspec.Struct, forbid_unknown_fields=True):
    floating_network_id: Text255
    floating_ip_address: Text255 | None = None
    port_id: Text255 | None = None
    fixed_ip_address: Text255 | None = None
    description: Text255 = ""
    project_id: Text255 | None = None
    tenant_id: Text255 | None = None


class _NewBody(msgspec.Struct):
    floatingip: _NewFloatingIp


class _Change(msgspec.Struct, forbid_unknown_fields=True):
    port_id: Text255 | msgspec.UnsetType | None = msgspec.UNSET
    fixed_ip_address: Text255 | None = None


class _ChangeBody(msgspec.Struct):
    floatingip: _Change


def shape(fip: FloatingIp | q.FloatingIpView) -> dict[str, Any]:
    return {
        "id": str(fip.id), "project_id": fip.project_id, "tenant_id": fip.project_id,
        "floating_ip_address": fip.floating_ip_address,
        "floating_network_id": fip.floating_network_id, "router_id": None,
        "port_id": fip.port_id, "fixed_ip_address": fip.fixed_ip_address,
        "status": fip.status, "description": fip.description, "port_details": None,
        **neutron.stamps(fip.created_at, fip.updated_at, fip.revision_number)}


def _not_found(raw: str) -> NotFound:
    return NotFound(f"Floating IP {raw} could not be found")


async def list_floating_ips(request: Request) -> Response:
    who = claims(request)
    views = await caught_up(request)
    matches, project_id = neutron.listing_scope(request, who)
    found = await q.floating_ips(views, project_id, neutron.filters(
        request, {n: n for n in q.FLOATING_IP_FILTERS})) if matches else []
    return JSONResponse({"floatingips": [shape(f) for f in found]})


async def show_floating_ip(request: Request) -> Response:
    who = claims(request)
    raw = request.path_params["fip_id"]
    ident = uuid_or_none(raw)
    found = None if ident is None else await q.floating_ip(
        await caught_up(request), ident, None if who.caller.is_admin else who.project_id)
    if found is None:
        raise _not_found(raw)
    return JSONResponse({"floatingip": shape(found)})


async def create_floating_ip(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "create_floatingip")
    new = decode(await request.body(), _NewBody, service="neutron").floatingip
    for asked in (new.project_id, new.tenant_id):
        if asked is not None and asked != who.project_id:
            raise InvalidInput("Specifying 'project_id' or 'tenant_id' other than the"
                               " authenticated project in request requires admin"
                               " privileges")
    made = await run_in_threadpool(
        commands.networks.create_floating_ip, who.caller, request_id,
        new.floating_network_id, address=new.floating_ip_address, port_id=new.port_id,
        fixed_ip=new.fixed_ip_address, description=new.description)
    return neutron.answer("floatingip", shape(made.state), made.position, 201)


async def update_floating_ip(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "update_floatingip")
    raw = request.path_params["fip_id"]
    if uuid_or_none(raw) is None:
        raise _not_found(raw)
    change = decode(await request.body(), _ChangeBody, service="neutron").floatingip
    nets = commands.networks
    if change.port_id is msgspec.UNSET:  # nothing to change: the floating IP as it is
        state = await run_in_threadpool(nets.floating_ip, raw, who.caller)
        return neutron.answer("floatingip", shape(state), None)
    port_id = change.port_id or None  # null (or ""): disassociate
    changed = await run_in_threadpool(
        lambda: nets.update_floating_ip(who.caller, request_id, raw, port_id=port_id,
                                        fixed_ip=change.fixed_ip_address))
    return neutron.answer("floatingip", shape(changed.state), changed.position)


async def delete_floating_ip(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "delete_floatingip")
    raw = request.path_params["fip_id"]
    if uuid_or_none(raw) is None:
        raise _not_found(raw)
    gone = await run_in_threadpool(commands.networks.delete_floating_ip, who.caller,
                                   request_id, raw)
    return neutron.answer("", None, gone.position, 204)


command_routes: list[BaseRoute] = [
    Route(PATH, create_floating_ip, methods=["POST"]),
    Route(f"{PATH}/{{fip_id}}", update_floating_ip, methods=["PUT"]),
    Route(f"{PATH}/{{fip_id}}", delete_floating_ip, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(PATH, list_floating_ips, methods=["GET"]),
    Route(f"{PATH}/{{fip_id}}", show_floating_ip, methods=["GET"]),
]
