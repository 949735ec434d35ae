"""Nova's ``GET /servers/{id}/os-security-groups``: the groups of the server's
ports, in Nova's shape (ingress rules only, as Nova shows Neutron's groups),
answered from the views."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.consistency import caught_up
from api.context import claims
from api.http import uuid_or_404, uuid_or_none
from domain.errors import NotFound
from projections import network_security_queries as q
from projections.queries import get_instance


def _rule(rule: q.RuleView, names: dict[str, str]) -> dict[str, Any]:
    group = ({"name": names.get(rule.remote_group_id, ""), "tenant_id": rule.project_id}
             if rule.remote_group_id else {})
    return {"id": str(rule.id), "parent_group_id": str(rule.security_group_id),
            "ip_protocol": rule.protocol, "from_port": rule.port_range_min,
            "to_port": rule.port_range_max, "group": group,
            "ip_range": {"cidr": rule.remote_ip_prefix} if rule.remote_ip_prefix else {}}


def nova_group(group: q.SecurityGroupView, names: dict[str, str]) -> dict[str, Any]:
    return {"id": str(group.id), "name": group.name, "description": group.description,
            "tenant_id": group.project_id,
            "rules": [_rule(r, names) for r in group.rules if r.direction == "ingress"]}


async def server_security_groups(request: Request) -> Response:
    who = claims(request)
    views = await caught_up(request)
    server_id = uuid_or_404(request.path_params["server_id"], "Instance")
    scope = None if who.caller.is_admin else who.project_id
    if await get_instance(views, server_id, scope) is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    ids: list[str] = []
    for port in await q.ports_of_server(views, server_id):
        ids += [g for g in port.security_groups if g not in ids and uuid_or_none(g)]
    groups = await q.security_groups(views, None, {"id": ids}) if ids else []
    groups.sort(key=lambda g: ids.index(str(g.id)))
    remote = {r.remote_group_id for g in groups for r in g.rules if r.remote_group_id}
    names = {str(g.id): g.name for g in (await q.security_groups(
        views, None, {"id": sorted(remote)}) if remote else [])}
    return microversion.answer(
        {"security_groups": [nova_group(g, names) for g in groups]}, request)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/os-security-groups", server_security_groups,
          methods=["GET"]),
]
