"""Neutron's security groups: list, show (queries, from the views), create,
rename and delete (commands; creating and deleting are a ``netadmin``'s or
an admin's).

A new group lets everything out and nothing in (its two egress rules). A
group a port uses cannot be deleted: which ports use it is known only to the
view, so the route asks it and the write side refuses what that shows
(api/network/neutron.py). The rules' own routes are in
security_group_rules.py; both show rules in the one shape here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims
from api.fields import LooseName, Text255
from api.http import iso, uuid_or_none
from api.network import neutron
from api.policy import require_netadmin
from domain.errors import InvalidInput, NotFound
from domain.security_group import Rule, SecurityGroup
from projections import network_security_queries as q

PATH = "/network/v2.0/security-groups"


class _NewGroup(msgspec.Struct, forbid_unknown_fields=True):
    name: LooseName = ""
    description: Text255 = ""
    stateful: bool = True
    project_id: Text255 | None = None
    tenant_id: Text255 | None = None


class _NewBody(msgspec.Struct):
    security_group: _NewGroup


class _Change(msgspec.Struct, forbid_unknown_fields=True):
    name: LooseName | None = None
    description: Text255 | None = None


class _ChangeBody(msgspec.Struct):
    security_group: _Change


def rule_shape(rule: Rule | q.RuleView, *, group_id: str, project_id: str,
               created_at: datetime) -> dict[str, Any]:
    return {
        "id": str(rule.id), "security_group_id": group_id, "direction": rule.direction,
        "ethertype": rule.ethertype, "protocol": rule.protocol,
        "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": None, "normalized_cidr": rule.remote_ip_prefix,
        "description": rule.description, "project_id": project_id, "tenant_id": project_id,
        "belongs_to_default_sg": False, "created_at": iso(created_at),
        "updated_at": iso(created_at), "revision_number": 0}


def viewed_rule(rule: q.RuleView) -> dict[str, Any]:
    return rule_shape(rule, group_id=str(rule.security_group_id), project_id=rule.project_id,
                      created_at=rule.created_at)


def shape(group: SecurityGroup | q.SecurityGroupView) -> dict[str, Any]:
    if isinstance(group, SecurityGroup):  # a write's answer: the rules' times are not kept
        rules = [rule_shape(r, group_id=group.id, project_id=group.project_id,
                            created_at=group.updated_at) for r in group.rules]
    else:
        rules = [viewed_rule(r) for r in group.rules]
    return {"id": str(group.id), "name": group.name, "description": group.description,
            "project_id": group.project_id, "tenant_id": group.project_id,
            "security_group_rules": rules, "stateful": True, "shared": False,
            **neutron.stamps(group.created_at, group.updated_at, group.revision_number)}


def _not_found(raw: str) -> NotFound:
    return NotFound(f"Security group {raw} does not exist")


def _id(request: Request) -> str:
    raw: str = request.path_params["group_id"]
    if uuid_or_none(raw) is None:
        raise _not_found(raw)
    return raw


async def list_groups(request: Request) -> Response:
    who = claims(request)
    views = await caught_up(request)
    matches, project_id = neutron.listing_scope(request, who)
    found = await q.security_groups(views, project_id, neutron.filters(
        request, {n: n for n in q.GROUP_FILTERS})) if matches else []
    return JSONResponse({"security_groups": [shape(g) for g in found]})


async def show_group(request: Request) -> Response:
    who = claims(request)
    raw = request.path_params["group_id"]
    ident = uuid_or_none(raw)
    found = None if ident is None else await q.security_group(
        await caught_up(request), ident, None if who.caller.is_admin else who.project_id)
    if found is None:
        raise _not_found(raw)
    return JSONResponse({"security_group": shape(found)})


async def create_group(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "create_security_group")
    new = decode(await request.body(), _NewBody, service="neutron").security_group
    for asked in (new.project_id, new.tenant_id):
        if asked is not None and asked != who.project_id:
            raise InvalidInput("Specifying 'project_id' or 'tenant_id' other than the"
                               " authenticated project in request requires admin"
                               " privileges")
    if not new.stateful:
        raise InvalidInput("Invalid input for stateful. Reason: only stateful security"
                           " groups are supported.")
    made = await run_in_threadpool(
        lambda: commands.networks.create_security_group(
            who.caller, request_id, name=new.name, description=new.description))
    return neutron.answer("security_group", shape(made.state), made.position, 201)


async def update_group(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "update_security_group")
    group_id = _id(request)
    change = decode(await request.body(), _ChangeBody, service="neutron").security_group
    changed = await run_in_threadpool(
        lambda: commands.networks.update_security_group(
            who.caller, request_id, group_id, name=change.name,
            description=change.description))
    return neutron.answer("security_group", shape(changed.state), changed.position)


async def delete_group(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "delete_security_group")
    group_id = _id(request)
    views = await neutron.views_if_any(request)
    in_use = views is not None and await q.group_in_use(views, UUID(group_id))
    gone = await run_in_threadpool(
        lambda: commands.networks.delete_security_group(who.caller, request_id, group_id,
                                                        in_use=in_use))
    return neutron.answer("", None, gone.position, 204)


command_routes: list[BaseRoute] = [
    Route(PATH, create_group, methods=["POST"]),
    Route(f"{PATH}/{{group_id}}", update_group, methods=["PUT"]),
    Route(f"{PATH}/{{group_id}}", delete_group, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(PATH, list_groups, methods=["GET"]),
    Route(f"{PATH}/{{group_id}}", show_group, methods=["GET"]),
]
