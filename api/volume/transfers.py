"""Cinder's volume transfers, read side only: nimbus makes no transfers, so
the lists (``os-volume-transfer`` and, from 3.55, ``volume-transfers``, each
with ``/detail``) are empty. Horizon lists them beside every volume list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.volume.requests import PREFIX, caller_in_path


async def list_transfers(request: Request) -> Response:
    caller_in_path(request)
    return JSONResponse({"transfers": []})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/{collection}{detail}", list_transfers, methods=["GET"])
    for collection in ("os-volume-transfer", "volume-transfers") for detail in ("", "/detail")]
