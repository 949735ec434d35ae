"""Cinder v3 volume types (read-only): the configured types, each served by
the storage backends named in its extra specs (shown to admins)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import claims, context
from api.volume.requests import PREFIX, own_project
from domain.volume_types import VolumeType, find


def _types(request: Request) -> list[VolumeType]:
    return list(context(request).settings.volume_types)


def _type_body(t: VolumeType, *, admin: bool) -> dict[str, object]:
    specs = {"volume_backend_name": ",".join(t.backends)} if admin else {}
    return {"id": t.id, "name": t.name, "description": None, "is_public": True,
            "extra_specs": specs, "os-volume-type-access:is_public": True}


async def list_types(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    return JSONResponse({"volume_types": [_type_body(t, admin=who.caller.is_admin)
                                          for t in _types(request)]})


async def show_type(request: Request) -> Response:
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    found = find(_types(request), request.path_params["type_id"])
    return JSONResponse({"volume_type": _type_body(found, admin=who.caller.is_admin)})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/types", list_types, methods=["GET"]),
    Route(f"{PREFIX}/types/{{type_id}}", show_type, methods=["GET"]),
]
