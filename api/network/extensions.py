"""Neutron's extension list: what the clients may rely on, and only that.

openstacksdk and openstackclient ask ``/extensions/{alias}`` (and list with
``?name=``) before using an attribute or a call an extension brings; one
not listed makes them leave it out or say it is unsupported. So the list
names exactly what these routes implement: a resource module that adds
something an extension stands for adds its row here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import claims
from api.network import neutron
from api.network.neutron import PREFIX
from domain.errors import NotFound

UPDATED = "2026-12-01T00:00:00-00:00"

# alias -> (name, description)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "external-net": ("Neutron external network",
                     "Adds external network attribute to network resource."),
    "router": ("Neutron L3 Router",
               "Router abstraction for basic L3 forwarding between L2 Neutron networks and"
               " access to external networks via a NAT gateway."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical"
                 " networks (read-only here: the operator's network_manager decides)."),
    "agent": ("agent", "The agent management extension (list only: each network host"
              " is an agent, alive while it reports)."),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external"
                " application (binding:host_id, read-only)."),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "quotas": ("Quota management support", "Expose functions for quotas management per"
               " tenant (read-only here)."),
    "security-group": ("security-group", "The security groups extension."),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display"
                                " the revision number of neutron resources."),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at"
                                " fields to all Neutron resources that have Neutron"
                                " standard attributes."),
}


def _shape(alias: str) -> dict[str, Any]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "links": [],
            "updated": UPDATED}


async def list_extensions(request: Request) -> Response:
    claims(request)
    found = [_shape(a) for a in EXTENSIONS]
    for key in ("name", "alias"):
        wanted = request.query_params.getlist(key)
        if wanted:
            found = [e for e in found if e[key] in wanted]
    return neutron.listed(request, "extensions", found)


async def show_extension(request: Request) -> Response:
    claims(request)
    alias = request.path_params["alias"]
    if alias not in EXTENSIONS:
        raise NotFound(f"Extension with alias {alias} does not exist")
    return JSONResponse({"extension": _shape(alias)})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/extensions", list_extensions, methods=["GET"]),
    Route(f"{PREFIX}/extensions/{{alias}}", show_extension, methods=["GET"]),
]
