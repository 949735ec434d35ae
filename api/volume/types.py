"""Cinder v3 volume types: list and show (queries, from the view), and an
admin's create, update, delete, extra specs and project access (commands).

A type's storage hosts are its ``volume_backend_name`` extra spec
(domain/volume_types.py); extra specs are the admin's business, so a member
sees only the few Cinder shows users. A private type is seen, and used, by
admins and the projects granted access to it.
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
from api.fields import Text255
from api.tokens import Claims
from api.volume.requests import PREFIX, caller_in_path, done, who_asks
from commands.volume_types import NewVolumeType, VolumeTypeChange
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.volume_types import DEFAULT, VolumeTypeState, visible
from projections import volume_types_queries as q

_USER_VISIBLE = ("multiattach", "RESKEY:availability_zones", "replication_enabled")
_TRUE, _FALSE = ("true", "1", "yes", "y", "on", "t"), ("false", "0", "no", "n", "off", "f")


class _NewType(msgspec.Struct, forbid_unknown_fields=True):
    name: Text255
    description: Text255 | None = None
    is_public: bool | str | None = None
    access_is_public: bool | str | None = msgspec.field(
        default=None, name="os-volume-type-access:is_public")
    extra_specs: dict[str, str] | None = None


class _NewTypeBody(msgspec.Struct):
    volume_type: _NewType


class _TypeChange(msgspec.Struct, forbid_unknown_fields=True):
    name: Text255 | None = None
    description: Text255 | None = None
    is_public: bool | str | None = None


class _TypeChangeBody(msgspec.Struct):
    volume_type: _TypeChange


class _SpecsBody(msgspec.Struct):
    extra_specs: dict[str, str]


class _Project(msgspec.Struct):
    project: Text255


def _flag(value: bool | str | None, field: str) -> bool | None:
    """Cinder's booleans: true/false, or the strings it reads as them."""
    if value is None or isinstance(value, bool):
        return value
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidInput(f"Invalid input for field/attribute {field}. Value: {value}. "
                       f"'{value}' is not a valid boolean value.")


def _admin(who: Claims, action: str) -> None:
    if not who.caller.is_admin:
        raise Forbidden(f"Policy doesn't allow volume_extension:{action} to be performed.")


def _body(t: VolumeTypeState, *, admin: bool, access: bool = True) -> dict[str, Any]:
    specs = dict(t.extra_specs) if admin else {
        k: v for k, v in t.extra_specs.items() if k in _USER_VISIBLE}
    body: dict[str, Any] = {"id": t.id, "name": t.name, "description": t.description,
                            "is_public": t.is_public, "extra_specs": specs}
    if access:
        body["os-volume-type-access:is_public"] = t.is_public
    return body


async def _shown(request: Request, who: Claims) -> VolumeTypeState:
    """The type the path names, if the caller may see it (Cinder's 404 if not)."""
    ref = request.path_params["type_id"]
    found = await q.one(await caught_up(request), ref)
    if found is None or not visible(found, who.project_id, who.caller.is_admin):
        raise NotFound(f"Volume type {ref} could not be found.")
    return found


# ---- queries ---------------------------------------------------------------

async def list_types(request: Request) -> Response:
    """Public types and the private ones the caller's project may use; an
    admin's ``is_public=false`` (private only) or ``is_public=none`` (all)."""
    who = caller_in_path(request)
    public: bool | None = True
    asked = request.query_params.get("is_public")
    if who.caller.is_admin and asked is not None:
        public = None if asked.lower() == "none" else _flag(asked, "is_public")
    found = await q.listed(await caught_up(request), who.project_id, public=public)
    return JSONResponse({"volume_types": [_body(t, admin=who.caller.is_admin) for t in found]})


async def show_type(request: Request) -> Response:
    who = caller_in_path(request)
    found = await _shown(request, who)
    return JSONResponse({"volume_type": _body(found, admin=who.caller.is_admin)})


async def show_default(request: Request) -> Response:
    """``GET types/default``: the type a volume gets when it names none."""
    who = caller_in_path(request)
    found = await q.one(await caught_up(request), DEFAULT)
    if found is None:
        raise NotFound("Default volume type can not be found.")
    return JSONResponse({"volume_type": _body(found, admin=who.caller.is_admin)})


async def list_specs(request: Request) -> Response:
    who = caller_in_path(request)
    _admin(who, "types_extra_specs:index")
    found = await _shown(request, who)
    return JSONResponse({"extra_specs": found.extra_specs})


async def show_spec(request: Request) -> Response:
    who = caller_in_path(request)
    _admin(who, "types_extra_specs:show")
    found = await _shown(request, who)
    key = request.path_params["key"]
    if key not in found.extra_specs:
        raise NotFound(f"Volume Type {found.id} has no extra specs with key {key}.")
    return JSONResponse({key: found.extra_specs[key]})


async def list_access(request: Request) -> Response:
    """``GET types/{id}/os-volume-type-access``: the projects a private type is for."""
    who = caller_in_path(request)
    _admin(who, "volume_type_access")
    found = await _shown(request, who)
    if found.is_public:
        raise NotFound("Access list not available for public volume types.")
    return JSONResponse({"volume_type_access": [
        {"volume_type_id": found.id, "project_id": p} for p in sorted(found.projects)]})


# ---- commands --------------------------------------------------------------

async def create_type(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    _admin(who, "types_manage")
    new = decode(await request.body(), _NewTypeBody, service="cinder").volume_type
    public = _flag(new.access_is_public, "os-volume-type-access:is_public")
    if public is None:
        public = _flag(new.is_public, "is_public")
    accepted = await run_in_threadpool(
        commands.volume_types.create,
        NewVolumeType(name=new.name, description=new.description,
                      is_public=True if public is None else public,
                      extra_specs=new.extra_specs or {}), who.caller, request_id)
    return done(accepted.position, {"volume_type": _body(accepted.state, admin=True)}, 200)


async def update_type(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    _admin(who, "types_manage")
    change = decode(await request.body(), _TypeChangeBody, service="cinder").volume_type
    accepted = await run_in_threadpool(
        commands.volume_types.update, request.path_params["type_id"],
        VolumeTypeChange(name=change.name, description=change.description,
                         is_public=_flag(change.is_public, "is_public")),
        who.caller, request_id)
    return done(accepted.position,
                {"volume_type": _body(accepted.state, admin=True, access=False)}, 200)


async def delete_type(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    accepted = await run_in_threadpool(commands.volume_types.delete,
                                       request.path_params["type_id"], who.caller, request_id)
    return done(accepted.position)


async def create_specs(request: Request) -> Response:
    """``POST types/{id}/extra_specs``: add or replace the specs given."""
    who, request_id, commands = await who_asks(request)
    specs = decode(await request.body(), _SpecsBody, service="cinder").extra_specs
    accepted = await run_in_threadpool(commands.volume_types.set_specs,
                                       request.path_params["type_id"], specs, who.caller,
                                       request_id)
    return done(accepted.position, {"extra_specs": specs}, 200)


async def update_spec(request: Request) -> Response:
    """``PUT types/{id}/extra_specs/{key}`` with ``{key: value}``, one key, the URL's."""
    who, request_id, commands = await who_asks(request)
    key = request.path_params["key"]
    body = decode(await request.body(), dict[str, Any], service="cinder")
    if key not in body:
        raise InvalidInput("Request body and URI mismatch")
    if len(body) > 1:
        raise InvalidInput("Request body contains too many items")
    value = convert(body[key], str, service="cinder", field=key)
    accepted = await run_in_threadpool(commands.volume_types.set_specs,
                                       request.path_params["type_id"], {key: value},
                                       who.caller, request_id)
    return done(accepted.position, {key: value}, 200)


async def delete_spec(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    accepted = await run_in_threadpool(commands.volume_types.unset_spec,
                                       request.path_params["type_id"],
                                       request.path_params["key"], who.caller, request_id)
    return done(accepted.position)


async def type_action(request: Request) -> Response:
    """``POST types/{id}/action``: addProjectAccess or removeProjectAccess."""
    who, request_id, commands = await who_asks(request)
    body = decode(await request.body(), dict[str, Any], service="cinder")
    actions = [a for a in ("addProjectAccess", "removeProjectAccess") if a in body]
    if len(body) != 1 or not actions:
        raise InvalidInput("Invalid request body: one of addProjectAccess or "
                           "removeProjectAccess is required.")
    action = actions[0]
    project = convert(body[action], _Project, service="cinder", field=action).project
    accepted = await run_in_threadpool(
        lambda: commands.volume_types.grant(request.path_params["type_id"], project,
                                            who.caller, request_id,
                                            allow=action == "addProjectAccess"))
    return done(accepted.position)


T = f"{PREFIX}/types"
command_routes: list[BaseRoute] = [
    Route(T, create_type, methods=["POST"]),
    Route(f"{T}/{{type_id}}", update_type, methods=["PUT"]),
    Route(f"{T}/{{type_id}}", delete_type, methods=["DELETE"]),
    Route(f"{T}/{{type_id}}/extra_specs", create_specs, methods=["POST"]),
    Route(f"{T}/{{type_id}}/extra_specs/{{key}}", update_spec, methods=["PUT"]),
    Route(f"{T}/{{type_id}}/extra_specs/{{key}}", delete_spec, methods=["DELETE"]),
    Route(f"{T}/{{type_id}}/action", type_action, methods=["POST"]),
]
query_routes: list[BaseRoute] = [
    Route(T, list_types, methods=["GET"]),
    Route(f"{T}/default", show_default, methods=["GET"]),
    Route(f"{T}/{{type_id}}", show_type, methods=["GET"]),
    Route(f"{T}/{{type_id}}/extra_specs", list_specs, methods=["GET"]),
    Route(f"{T}/{{type_id}}/extra_specs/{{key}}", show_spec, methods=["GET"]),
    Route(f"{T}/{{type_id}}/os-volume-type-access", list_access, methods=["GET"]),
]
