"""Neutron's routers (create, list, show, delete), their external gateway
(set and cleared through an update, as ``router set|unset --external-gateway``
does) and their subnets (``add_router_interface``, ``remove_router_interface``).

An interface is a port holding the subnet's gateway address, owned by the
router (``network:router_interface``); ``router show`` finds it by listing
ports with the router as ``device_id``. The gateway takes no address on the
external network here: one network host SNATs every fixed network out of
the public side (domain/router.py), so ``external_fixed_ips`` is empty.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.consistency import caught_up, positioned
from api.context import claims
from api.fields import LooseName, Text255
from api.http import commands
from api.network import neutron
from api.network.neutron import PREFIX
from domain import router as model
from domain.errors import InvalidInput, NotFound
from projections import networks_queries as q

_FILTERS = {"id": "id", "name": "name", "project_id": "project_id",
            "tenant_id": "project_id", "admin_state_up": "admin_state_up"}


class GatewayFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    network_id: Text255 | None = None
    enable_snat: bool = True
    external_fixed_ips: list[Any] = []


class RouterFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: LooseName = ""
    admin_state_up: bool = True
    external_gateway_info: GatewayFields | None = None


class RouterBody(msgspec.Struct):
    router: RouterFields


class RouterChanges(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    external_gateway_info: GatewayFields | msgspec.UnsetType | None = msgspec.UNSET
    routes: list[Any] = []


class RouterChangesBody(msgspec.Struct):
    router: RouterChanges


class InterfaceBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    subnet_id: Text255 | None = None
    port_id: Text255 | None = None


def from_state(r: model.Router) -> q.RouterView:
    return q.RouterView(id=r.id, version=0, project_id=r.project_id, name=r.name,
                        admin_state_up=r.admin_state_up,
                        gateway_network_id=r.gateway_network_id,
                        interfaces=list(r.interfaces), created_at=r.created_at,
                        updated_at=r.updated_at)


def shape(r: q.RouterView) -> dict[str, Any]:
    gateway = None if r.gateway_network_id is None else {
        "network_id": r.gateway_network_id, "enable_snat": True, "external_fixed_ips": []}
    return {"id": r.id, "name": r.name, "status": "ACTIVE",
            "admin_state_up": r.admin_state_up, "external_gateway_info": gateway,
            "routes": [], **neutron.standard(r.project_id, r.version, r.created_at,
                                             r.updated_at)}


def _gateway(info: GatewayFields | None) -> str | None:
    if info is None or info.network_id is None:
        return None
    if not info.enable_snat or info.external_fixed_ips:
        raise InvalidInput("Invalid input for external_gateway_info. Reason: the gateway"
                           " always SNATs and takes no address of its own here.")
    return info.network_id


async def list_routers(request: Request) -> Response:
    who = claims(request)
    found = await q.list_routers(await caught_up(request), neutron.scope(who),
                                 neutron.filters(request, _FILTERS,
                                                 frozenset({"admin_state_up"})))
    return neutron.listed(request, "routers", [shape(r) for r in found])


async def show_router(request: Request) -> Response:
    who = claims(request)
    router_id = request.path_params["router_id"]
    found = await q.get_router(await caught_up(request), router_id, neutron.scope(who))
    if found is None:
        raise NotFound(f"Router {router_id} could not be found")
    return JSONResponse({"router": neutron.shown(request, shape(found))})


async def create_router(request: Request) -> Response:
    who = claims(request)
    fields = neutron.body(await request.body(), RouterBody).router
    if not fields.admin_state_up:
        raise InvalidInput("Invalid input for admin_state_up. Reason: a router is always up"
                           " here.")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        commands(request).networks.create_router, who.caller, request_id, name=fields.name,
        gateway_network_id=_gateway(fields.external_gateway_info))
    return neutron.answer("router", shape(from_state(written.state)), written.position, 201)


async def update_router(request: Request) -> Response:
    """Only the external gateway changes (``{}`` or null clears it)."""
    who = claims(request)
    fields = neutron.body(await request.body(), RouterChangesBody).router
    if fields.routes:
        raise InvalidInput("Invalid input for routes. Reason: static routes are not"
                           " supported here.")
    request_id = await idempotency.request_id(request, who)
    router_id = request.path_params["router_id"]
    networks = commands(request).networks
    if isinstance(fields.external_gateway_info, msgspec.UnsetType):
        raise InvalidInput("Invalid input for router. Reason: only external_gateway_info"
                           " can be changed here.")
    written = await run_in_threadpool(networks.set_gateway, who.caller, request_id,
                                      router_id, _gateway(fields.external_gateway_info))
    return neutron.answer("router", shape(from_state(written.state)), written.position)


async def delete_router(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).networks.delete_router, who.caller,
                                      request_id, request.path_params["router_id"])
    return neutron.answer("router", None, written.position, 204)


def _subnet_of(raw: bytes) -> str:
    fields = neutron.body(raw, InterfaceBody)
    if fields.port_id is not None:
        raise InvalidInput("Invalid input for port_id. Reason: name the subnet: a router's"
                           " interface is a port it makes itself here.")
    if fields.subnet_id is None:
        raise InvalidInput("Bad router request: subnet_id is required.")
    return fields.subnet_id


async def add_interface(request: Request) -> Response:
    who = claims(request)
    subnet_id = _subnet_of(await request.body())
    request_id = await idempotency.request_id(request, who)
    router_id = request.path_params["router_id"]
    networks = commands(request).networks

    def add() -> tuple[model.Router, str, int | None]:
        network_id = networks.network_of_subnet(subnet_id)
        written = networks.add_interface(who.caller, request_id, router_id,
                                         network_id=network_id, subnet_id=subnet_id)
        return written.state, network_id, written.position

    router, network_id, position = await run_in_threadpool(add)
    port_id = next(i.port_id for i in router.interfaces if i.subnet_id == subnet_id)
    return JSONResponse({"id": router.id, "tenant_id": router.project_id,
                         "project_id": router.project_id, "subnet_id": subnet_id,
                         "subnet_ids": [subnet_id], "port_id": port_id,
                         "network_id": network_id}, headers=positioned(position))


async def remove_interface(request: Request) -> Response:
    who = claims(request)
    subnet_id = _subnet_of(await request.body())
    request_id = await idempotency.request_id(request, who)
    router_id = request.path_params["router_id"]
    networks = commands(request).networks

    def remove() -> tuple[model.Router, str, int | None]:
        network_id = networks.network_of_subnet(subnet_id)
        written = networks.remove_interface(who.caller, request_id, router_id,
                                            subnet_id=subnet_id)
        return written.state, network_id, written.position

    router, network_id, position = await run_in_threadpool(remove)
    return JSONResponse({"id": router.id, "tenant_id": router.project_id,
                         "project_id": router.project_id, "subnet_id": subnet_id,
                         "subnet_ids": [subnet_id], "network_id": network_id},
                        headers=positioned(position))


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/routers", create_router, methods=["POST"]),
    Route(f"{PREFIX}/routers/{{router_id}}", update_router, methods=["PUT"]),
    Route(f"{PREFIX}/routers/{{router_id}}", delete_router, methods=["DELETE"]),
    Route(f"{PREFIX}/routers/{{router_id}}/add_router_interface", add_interface,
          methods=["PUT"]),
    Route(f"{PREFIX}/routers/{{router_id}}/remove_router_interface", remove_interface,
          methods=["PUT"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/routers", list_routers, methods=["GET"]),
    Route(f"{PREFIX}/routers/{{router_id}}", show_router, methods=["GET"]),
]
