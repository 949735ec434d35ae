"""Neutron's security group rules: list, show (queries, from the views), add
and remove (commands, a ``netadmin``'s or an admin's).

A rule is part of its group (domain/security_group.py): adding one is a
change of the group named in the body; removing one needs its group, which
the rules view tells (a command-only process, without views, cannot find it).
Ports and protocols are checked by the domain, in Neutron's words.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims
from api.fields import Integer, Text255
from api.http import uuid_or_none
from api.network import neutron
from api.network.security_groups import rule_shape, viewed_rule
from api.policy import require_netadmin
from domain import security_group as sg_model
from domain.errors import InvalidInput, NotFound
from projections import network_security_queries as q

PATH = "/network/v2.0/security-group-rules"
Port = Integer | Annotated[str, msgspec.Meta(max_length=12)] | None


class _NewRule(msgspec.Struct, forbid_unknown_fields=True):
    security_group_id: Text255
    direction: Text255
    ethertype: Text255 = "IPv4"
    protocol: Integer | Text255 | None = None
    port_range_min: Port = None
    port_range_max: Port = None
    remote_ip_prefix: Text255 | None = None
    remote_group_id: Text255 | None = None
    description: Text255 = ""
    project_id: Text255 | None = None
    tenant_id: Text255 | None = None


class _NewBody(msgspec.Struct):
    security_group_rule: _NewRule


def _port(value: int | str | None, field: str) -> int | None:
    """Neutron takes a port as a number or a numeric string."""
    if value is None or isinstance(value, int):
        return value
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"Invalid input for {field}. Reason: '{value}' is not an"
                           " integer.") from None
    if not -2**31 <= number < 2**31:
        raise InvalidInput(f"Invalid value for port {number}.")
    return number


def _not_found(raw: str) -> NotFound:
    return NotFound(f"Security group rule {raw} does not exist")


async def list_rules(request: Request) -> Response:
    who = claims(request)
    views = await caught_up(request)
    matches, project_id = neutron.listing_scope(request, who)
    found = await q.security_group_rules(views, project_id, neutron.filters(
        request, {n: n for n in q.RULE_FILTERS})) if matches else []
    return JSONResponse({"security_group_rules": [viewed_rule(r) for r in found]})


async def show_rule(request: Request) -> Response:
    who = claims(request)
    raw = request.path_params["rule_id"]
    ident = uuid_or_none(raw)
    found = None if ident is None else await q.security_group_rule(
        await caught_up(request), ident, None if who.caller.is_admin else who.project_id)
    if found is None:
        raise _not_found(raw)
    return JSONResponse({"security_group_rule": viewed_rule(found)})


async def create_rule(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "create_security_group_rule")
    new = decode(await request.body(), _NewBody, service="neutron").security_group_rule
    for asked in (new.project_id, new.tenant_id):
        if asked is not None and asked != who.project_id:
            raise InvalidInput("Specifying 'project_id' or 'tenant_id' other than the"
                               " authenticated project in request requires admin"
                               " privileges")
    low = _port(new.port_range_min, "port_range_min")
    high = _port(new.port_range_max, "port_range_max")
    protocol = None if new.protocol is None else str(new.protocol)

    def make(rule_id: str) -> sg_model.Rule:
        return sg_model.rule(rule_id=rule_id, direction=new.direction,
                             ethertype=new.ethertype, protocol=protocol, port_range_min=low,
                             port_range_max=high, remote_ip_prefix=new.remote_ip_prefix,
                             remote_group_id=new.remote_group_id,
                             description=new.description)

    added = await run_in_threadpool(commands.networks.add_rule, who.caller, request_id,
                                    new.security_group_id, make)
    group = await run_in_threadpool(commands.networks.security_group,
                                    new.security_group_id, who.caller)
    return neutron.answer("security_group_rule", rule_shape(
        added.state, group_id=group.id, project_id=group.project_id,
        created_at=group.updated_at), added.position, 201)


async def delete_rule(request: Request) -> Response:
    who, request_id, commands = await neutron.who_asks(request)
    require_netadmin(who, "delete_security_group_rule")
    raw = request.path_params["rule_id"]
    ident = uuid_or_none(raw)
    views = await neutron.views_if_any(request)
    found = None if ident is None or views is None else await q.security_group_rule(
        views, UUID(raw), None if who.caller.is_admin else who.project_id)
    if found is None:
        raise _not_found(raw)
    gone = await run_in_threadpool(commands.networks.remove_rule, who.caller, request_id,
                                   str(found.security_group_id), raw)
    return neutron.answer("", None, gone.position, 204)


command_routes: list[BaseRoute] = [
    Route(PATH, create_rule, methods=["POST"]),
    Route(f"{PATH}/{{rule_id}}", delete_rule, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(PATH, list_rules, methods=["GET"]),
    Route(f"{PATH}/{{rule_id}}", show_rule, methods=["GET"]),
]
