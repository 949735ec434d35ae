"""Cinder v3 qos-specs (admin only): list, show and the associations
(queries, from the view); create, set and unset keys, associate with and
disassociate from volume types, delete (commands).

Cinder's odd verbs are kept: associations are ``GET`` calls naming the type
in ``vol_type_id``, and ``PUT .../delete_keys`` unsets keys.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import convert, decode
from api.consistency import caught_up
from api.context import context
from api.fields import Text255
from api.policy import require_admin
from api.tokens import Claims
from api.volume.requests import PREFIX, caller_in_path, done, who_asks
from domain.errors import InvalidInput, NotFound
from domain.qos_specs import QosSpecs
from projections import qos_specs_queries as q

ACTION = "volume_extension:qos_specs_manage"


class _Keys(msgspec.Struct):
    keys: list[Text255]


def _admin(request: Request) -> Claims:
    who = caller_in_path(request)
    require_admin(who, ACTION)
    return who


def _body(s: QosSpecs) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "consumer": s.consumer, "specs": dict(s.specs)}


def _links(request: Request, s: QosSpecs) -> list[dict[str, str]]:
    href = (f"{context(request).base_url}/volume/v3/{request.path_params['project_id']}"
            f"/qos-specs/{s.id}")
    return [{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}]


async def _found(request: Request) -> QosSpecs:
    ident = request.path_params["qos_id"]
    found = await q.one(await caught_up(request), ident)
    if found is None:
        raise NotFound(f"No such QoS spec {ident}.")
    return found


def _strings(raw: Any, field: str) -> dict[str, str]:
    return convert(raw, dict[Text255, Text255], service="cinder", field=field)


# ---- queries ---------------------------------------------------------------

async def list_qos(request: Request) -> Response:
    _admin(request)
    return JSONResponse({"qos_specs": [_body(s) for s in
                                       await q.listed(await caught_up(request))]})


async def show_qos(request: Request) -> Response:
    _admin(request)
    found = await _found(request)
    return JSONResponse({"qos_specs": _body(found), "links": _links(request, found)})


async def associations(request: Request) -> Response:
    _admin(request)
    found = await _found(request)
    names = await q.type_names(await caught_up(request), sorted(found.types))
    return JSONResponse({"qos_associations": [
        {"association_type": "volume_type", "id": i, "name": n} for i, n in names.items()]})


# ---- commands --------------------------------------------------------------

async def create_qos(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    body = decode(await request.body(), dict[str, Any], service="cinder")
    if set(body) != {"qos_specs"} or not isinstance(body["qos_specs"], dict):
        raise InvalidInput("Invalid input for field/attribute qos_specs. A 'qos_specs' "
                           "object is required.")
    fields = _strings(body["qos_specs"], "qos_specs")
    name = fields.pop("name", None)
    if name is None:
        raise InvalidInput("Invalid input for field/attribute qos_specs: 'name' is required.")
    consumer = fields.pop("consumer", "back-end")
    accepted = await run_in_threadpool(commands.qos_specs.create, name, consumer, fields,
                                       who.caller, request_id)
    return done(accepted.position, {"qos_specs": _body(accepted.state),
                                    "links": _links(request, accepted.state)}, 200)


async def set_keys(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    body = decode(await request.body(), dict[str, Any], service="cinder")
    if set(body) != {"qos_specs"}:
        raise InvalidInput("Invalid input for field/attribute qos_specs. A 'qos_specs' "
                           "object is required.")
    specs = _strings(body["qos_specs"], "qos_specs")
    accepted = await run_in_threadpool(commands.qos_specs.set_keys,
                                       request.path_params["qos_id"], specs, who.caller,
                                       request_id)
    return done(accepted.position, {"qos_specs": specs}, 200)


async def unset_keys(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    keys = decode(await request.body(), _Keys, service="cinder").keys
    accepted = await run_in_threadpool(commands.qos_specs.unset_keys,
                                       request.path_params["qos_id"], keys, who.caller,
                                       request_id)
    return done(accepted.position)


def _type_id(request: Request) -> str:
    type_id = request.query_params.get("vol_type_id")
    if not type_id:
        raise InvalidInput("Invalid input received: the query parameter vol_type_id is "
                           "required.")
    return type_id


async def associate(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    accepted = await run_in_threadpool(commands.qos_specs.associate,
                                       request.path_params["qos_id"], _type_id(request),
                                       who.caller, request_id)
    return done(accepted.position)


async def disassociate(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    accepted = await run_in_threadpool(commands.qos_specs.disassociate,
                                       request.path_params["qos_id"], _type_id(request),
                                       who.caller, request_id)
    return done(accepted.position)


async def disassociate_all(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    accepted = await run_in_threadpool(commands.qos_specs.disassociate,
                                       request.path_params["qos_id"], None, who.caller,
                                       request_id)
    return done(accepted.position)


async def delete_qos(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    require_admin(who, ACTION)
    force = request.query_params.get("force", "false").lower() in ("true", "1", "yes")
    accepted = await run_in_threadpool(
        lambda: commands.qos_specs.delete(request.path_params["qos_id"], who.caller,
                                          request_id, force=force))
    return done(accepted.position)


Q = f"{PREFIX}/qos-specs"
command_routes: list[BaseRoute] = [
    Route(Q, create_qos, methods=["POST"]),
    Route(f"{Q}/{{qos_id}}", set_keys, methods=["PUT"]),
    Route(f"{Q}/{{qos_id}}", delete_qos, methods=["DELETE"]),
    Route(f"{Q}/{{qos_id}}/delete_keys", unset_keys, methods=["PUT"]),
    Route(f"{Q}/{{qos_id}}/associate", associate, methods=["GET"]),
    Route(f"{Q}/{{qos_id}}/disassociate", disassociate, methods=["GET"]),
    Route(f"{Q}/{{qos_id}}/disassociate_all", disassociate_all, methods=["GET"]),
]
query_routes: list[BaseRoute] = [
    Route(Q, list_qos, methods=["GET"]),
    Route(f"{Q}/{{qos_id}}", show_qos, methods=["GET"]),
    Route(f"{Q}/{{qos_id}}/associations", associations, methods=["GET"]),
]
