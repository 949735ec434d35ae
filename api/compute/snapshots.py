"""Nova's os-snapshots: compute 2.1's proxy to the volume snapshots
(deprecated in Nova from 2.36, still served below it). Lists and shows read
the snapshots view; create and delete are the volume API's own commands
(commands/snapshots.py), so both APIs show the same snapshot. Bodies are in
Nova's camelCase; ``limit`` and ``offset`` page a list.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion, query_params
from api.bodies import decode
from api.compute.flavors import written_headers
from api.consistency import caught_up
from api.context import claims
from api.fields import LooseName, Text255
from api.http import commands, iso, uuid_or_404
from commands.snapshots import DeleteSnapshot, TakeSnapshot
from domain.errors import NotFound
from domain.snapshot import Snapshot
from projections import volumes_queries as q

MAX_LIMIT = 1000


class NewSnapshot(msgspec.Struct, forbid_unknown_fields=True):
    volume_id: Text255
    display_name: LooseName | None = None
    display_description: Text255 | None = None
    force: bool | str = False


class CreateBody(msgspec.Struct):
    snapshot: NewSnapshot


def shape(s: Snapshot) -> dict[str, Any]:
    return {"id": s.id, "volumeId": s.volume_id, "status": str(s.status), "size": s.size_gb,
            "createdAt": iso(s.created_at), "displayName": s.name,
            "displayDescription": s.description}


async def list_snapshots(request: Request) -> Response:
    who = claims(request)
    limit = query_params.limit(request, default=MAX_LIMIT, most=MAX_LIMIT)
    offset = query_params.offset(request)
    found = await q.listed(await caught_up(request), Snapshot, limit=offset + limit,
                           project_id=who.project_id)
    return microversion.answer({"snapshots": [shape(s) for s in found[offset:]]}, request)


async def show_snapshot(request: Request) -> Response:
    who = claims(request)
    ident = uuid_or_404(request.path_params["snapshot_id"], "Snapshot")
    found = await q.one(await caught_up(request), Snapshot, ident,
                        None if who.caller.is_admin else who.project_id)
    if found is None:
        raise NotFound(f"Snapshot {ident} could not be found.")
    return microversion.answer({"snapshot": shape(found)}, request)


async def create_snapshot(request: Request) -> Response:
    who = claims(request)
    new = decode(await request.body(), CreateBody).snapshot
    force = new.force if isinstance(new.force, bool) else new.force.strip().lower() in (
        "true", "1", "yes", "y", "on")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).snapshots.take, TakeSnapshot(
        request_id=request_id, caller=who.caller, volume_id=new.volume_id,
        name=new.display_name or "", description=new.display_description or "",
        force=force))
    return JSONResponse({"snapshot": shape(written.state)},
                        headers=written_headers(request, request_id, written.position))


async def delete_snapshot(request: Request) -> Response:
    who = claims(request)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).snapshots.delete, DeleteSnapshot(
        request_id=request_id, caller=who.caller,
        snapshot_id=request.path_params["snapshot_id"]))
    return Response(status_code=202,
                    headers=written_headers(request, request_id, written.position))


C = "/compute/v2.1/os-snapshots"
command_routes: list[BaseRoute] = [
    Route(C, create_snapshot, methods=["POST"]),
    Route(f"{C}/{{snapshot_id}}", delete_snapshot, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(C, list_snapshots, methods=["GET"]),
    Route(f"{C}/detail", list_snapshots, methods=["GET"]),
    Route(f"{C}/{{snapshot_id}}", show_snapshot, methods=["GET"]),
]
