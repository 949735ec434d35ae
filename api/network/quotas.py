"""Neutron's quotas (read-only): the network limits of the one per-project quota
that Nova's and Cinder's routes also read (api/quotas.py), for ``openstack
quota show``. Floating IPs and security groups hold claims (their usage);
nothing counts rules yet, so theirs is 0. The details (``/details``, which
Horizon's overview reads, or ``/details.json``) also name networks, subnets,
ports and routers, which nimbus does not limit (-1) and counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import claims
from api.quotas import readable, usage_of
from projections.networks_queries import owned_counts

# Neutron's names for the quotas nimbus keeps (the others need the network service).
NEUTRON_QUOTAS = {"floatingip": "floating_ips", "security_group": "security_groups",
                  "security_group_rule": "security_group_rules"}


async def show_quota(request: Request) -> Response:
    """``GET /network/v2.0/quotas/{project_id}[/details[.json]]``."""
    who = claims(request)
    project_id = request.path_params["project_id"]
    readable(who, project_id, "get_quota")
    limits, usage = await usage_of(request, project_id)
    if not request.url.path.endswith(("/details", "/details.json")):
        return JSONResponse({"quota": {name: limits[ours]
                                       for name, ours in NEUTRON_QUOTAS.items()}})
    body = {name: {"limit": limits[ours], "used": usage.in_use.get(ours, 0), "reserved": 0}
            for name, ours in NEUTRON_QUOTAS.items()}
    counted = await owned_counts(await caught_up(request), project_id)
    body.update({name: {"limit": -1, "used": used, "reserved": 0}
                 for name, used in counted.items()})
    return JSONResponse({"quota": body})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/network/v2.0/quotas/{project_id}/details.json", show_quota, methods=["GET"]),
    Route("/network/v2.0/quotas/{project_id}/details", show_quota, methods=["GET"]),
    Route("/network/v2.0/quotas/{project_id}", show_quota, methods=["GET"]),
]
