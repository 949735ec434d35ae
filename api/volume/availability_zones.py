"""Cinder's ``os-availability-zone``: the zones volumes may be made in (only
Nova's default one, ``nova``; domain/instance_boot.py), available while any
storage host is configured."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import context
from api.volume.requests import PREFIX, caller_in_path
from domain.instance_boot import AVAILABILITY_ZONES


async def list_zones(request: Request) -> Response:
    caller_in_path(request)  # any caller, not only an admin
    available = bool(context(request).settings.storage_hosts)
    return JSONResponse({"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": available}}
        for zone in sorted(AVAILABILITY_ZONES)]})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/os-availability-zone", list_zones, methods=["GET"])]
