"""The one network nimbus has, answered where the real clients look for it.

nimbus has no network service yet, but ``openstack server create --network
private`` must resolve the name before it boots. With no ``network`` entry in
the catalog the SDK falls back to Nova's ``os-networks`` (at 2.1), matching
on ``label``; with one it asks Neutron's ``/network/v2.0/networks``. Both
answer the same single, fixed "private" network, read-only. A network
service would replace this module. Nova's ``os-networks`` is served here,
not under api/compute/, because it answers this same fixed network.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.context import claims
from domain.errors import NotFound

NAME = "private"
NETWORK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nimbus:network:private"))
CIDR = "10.0.0.0/24"


def _nova_network() -> dict[str, Any]:
    return {"id": NETWORK_ID, "label": NAME, "cidr": CIDR}


def _neutron_network(project_id: str) -> dict[str, Any]:
    return {
        "id": NETWORK_ID, "name": NAME, "status": "ACTIVE", "admin_state_up": True,
        "shared": True, "router:external": False, "subnets": [], "mtu": 1500,
        "project_id": project_id, "tenant_id": project_id, "tags": [],
    }


async def list_nova_networks(request: Request) -> Response:
    claims(request)
    version = microversion.requested(request)
    return JSONResponse({"networks": [_nova_network()]}, headers=microversion.headers(version))


async def show_nova_network(request: Request) -> Response:
    claims(request)
    version = microversion.requested(request)
    if request.path_params["network_id"] != NETWORK_ID:
        raise NotFound(f"Network {request.path_params['network_id']} could not be found.")
    return JSONResponse({"network": _nova_network()}, headers=microversion.headers(version))


async def list_neutron_networks(request: Request) -> Response:
    who = claims(request)
    wanted = request.query_params.getlist("name")
    ids = request.query_params.getlist("id")
    found = [] if (wanted and NAME not in wanted) or (ids and NETWORK_ID not in ids) else [
        _neutron_network(who.project_id)]
    return JSONResponse({"networks": found})


async def show_neutron_network(request: Request) -> Response:
    who = claims(request)
    if request.path_params["network_id"] != NETWORK_ID:
        body = {"NeutronError": {
            "type": "NetworkNotFound", "detail": "",
            "message": f"Network {request.path_params['network_id']} could not be found."}}
        return JSONResponse(body, status_code=404)
    return JSONResponse({"network": _neutron_network(who.project_id)})



command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-networks", list_nova_networks, methods=["GET"]),
    Route("/compute/v2.1/os-networks/{network_id}", show_nova_network, methods=["GET"]),
    Route("/network/v2.0/networks", list_neutron_networks, methods=["GET"]),
    Route("/network/v2.0/networks/{network_id}", show_neutron_network, methods=["GET"]),
]
