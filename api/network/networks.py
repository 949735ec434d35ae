"""Neutron's networks (create, list, show, update, delete), and Nova's
``os-networks`` answered from the same networks.

``openstack server create --network NAME`` resolves the name here: with a
``network`` entry in the catalog the SDK asks ``/network/v2.0/networks?name=``;
Nova's ``os-networks`` (``label``, the first subnet's ``cidr``) is what an
older client asks. Both read the networks view. The ``provider:*`` fields
(admin only, as in Neutron) say how the operator's ``network_manager``
carries the network (domain.network.provider).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.consistency import caught_up
from api.context import claims, context
from api.fields import LooseName
from api.http import commands
from api.network import neutron
from api.network.neutron import PREFIX
from api.tokens import Claims
from domain import network as model
from domain.errors import NotFound
from projections import networks_queries as q

_FILTERS = {"id": "id", "name": "name", "project_id": "project_id",
            "tenant_id": "project_id", "shared": "shared", "router:external": "external",
            "admin_state_up": "admin_state_up", "mtu": "mtu"}
_BOOLEANS = frozenset({"shared", "router:external", "admin_state_up"})


class NetworkFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: LooseName | None = None
    admin_state_up: bool | None = None
    shared: bool | None = None
    external: bool | None = msgspec.field(default=None, name="router:external")
    mtu: int | None = None


class NetworkBody(msgspec.Struct):
    network: NetworkFields


def from_state(state: model.Network) -> q.NetworkView:
    """The write side's network in the view's shape (for command answers)."""
    return q.NetworkView(
        id=state.id, version=0, project_id=state.project_id, name=state.name,
        number=state.number, external=state.external, shared=state.shared,
        admin_state_up=state.admin_state_up, mtu=state.mtu, created_at=state.created_at,
        updated_at=state.updated_at, subnets=[s.id for s in state.subnets])


def shape(request: Request, n: q.NetworkView, who: Claims) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": n.id, "name": n.name, "status": "ACTIVE", "admin_state_up": n.admin_state_up,
        "shared": n.shared, "router:external": n.external, "mtu": n.mtu,
        "subnets": n.subnets, "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        **neutron.standard(n.project_id, n.version, n.created_at, n.updated_at)}
    if who.caller.is_admin:
        settings = context(request).settings
        carried = model.provider(settings.network_manager, n.number,
                                 vlan_start=settings.vlan_start)
        body.update({"provider:network_type": carried.network_type,
                     "provider:physical_network": carried.physical_network,
                     "provider:segmentation_id": carried.segmentation_id})
    return body


async def visible(request: Request, who: Claims, network_id: str) -> q.NetworkView:
    found = await q.get_network(await caught_up(request), network_id, neutron.scope(who))
    if found is None:
        raise NotFound(f"Network {network_id} could not be found.")
    return found


async def list_networks(request: Request) -> Response:
    who = claims(request)
    found = await q.list_networks(await caught_up(request), neutron.scope(who),
                                  neutron.filters(request, _FILTERS, _BOOLEANS))
    return neutron.listed(request, "networks", [shape(request, n, who) for n in found])


async def show_network(request: Request) -> Response:
    who = claims(request)
    found = await visible(request, who, request.path_params["network_id"])
    return JSONResponse({"network": neutron.shown(request, shape(request, found, who))})


async def create_network(request: Request) -> Response:
    who = claims(request)
    fields = neutron.body(await request.body(), NetworkBody).network
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).networks.create_network, who.caller, request_id,
        name=fields.name or "", external=bool(fields.external), shared=bool(fields.shared),
        admin_state_up=True if fields.admin_state_up is None else fields.admin_state_up,
        mtu=1500 if fields.mtu is None else fields.mtu)
    return neutron.answer("network", shape(request, from_state(written.state), who),
                          written.position, 201)


async def update_network(request: Request) -> Response:
    who = claims(request)
    fields = neutron.body(await request.body(), NetworkBody).network
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).networks.update_network, who.caller, request_id,
        request.path_params["network_id"], name=fields.name,
        admin_state_up=fields.admin_state_up, shared=fields.shared, external=fields.external)
    return neutron.answer("network", shape(request, from_state(written.state), who),
                          written.position)


async def delete_network(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).networks.delete_network, who.caller,
                                      request_id, request.path_params["network_id"])
    return neutron.answer("network", None, written.position, 204)


# ---- Nova's os-networks, from the same view ------------------------------------------

def _nova_network(n: q.NetworkView, cidrs: dict[str, str]) -> dict[str, Any]:
    return {"id": n.id, "label": n.name,
            "cidr": next((cidrs[s] for s in n.subnets if s in cidrs), None)}


async def _nova_networks(request: Request, **equal: list[str]) -> list[dict[str, Any]]:
    who = claims(request)
    views = await caught_up(request)
    found = await q.list_networks(views, neutron.scope(who), equal)
    subnets = await q.list_subnets(views, neutron.scope(who),
                                   {"network_id": [n.id for n in found]})
    cidrs = {s.id: s.cidr for s in subnets}
    return [_nova_network(n, cidrs) for n in found]


async def list_nova_networks(request: Request) -> Response:
    version = microversion.requested(request)
    found = await _nova_networks(request)
    return JSONResponse({"networks": found}, headers=microversion.headers(version))


async def show_nova_network(request: Request) -> Response:
    version = microversion.requested(request)
    network_id = request.path_params["network_id"]
    found = await _nova_networks(request, id=[network_id])
    if not found:
        raise NotFound(f"Network {network_id} could not be found.")
    return JSONResponse({"network": found[0]}, headers=microversion.headers(version))


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/networks", create_network, methods=["POST"]),
    Route(f"{PREFIX}/networks/{{network_id}}", update_network, methods=["PUT"]),
    Route(f"{PREFIX}/networks/{{network_id}}", delete_network, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-networks", list_nova_networks, methods=["GET"]),
    Route("/compute/v2.1/os-networks/{network_id}", show_nova_network, methods=["GET"]),
    Route(f"{PREFIX}/networks", list_networks, methods=["GET"]),
    Route(f"{PREFIX}/networks/{{network_id}}", show_network, methods=["GET"]),
]
