"""Nova's moves of a server: the migrate, resize, confirmResize and revertResize
actions, os-migrations, and /servers/{id}/migrations (2.23).

The actions are answered here for ``server_action`` (api/compute/server_actions.py),
which hands over the action names in ``ACTIONS``. Who may: migrating is an
admin's (Nova's os-migrate-server policy), resizing, confirming and
reverting the owner's; os-migrations is an admin's. The lists read the
migrations view (projections/migrations.py), numbered as Nova numbers them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.compute.bodies import argument
from api.compute.servers import accepted_answer
from api.consistency import caught_up
from api.context import claims
from api.http import commands, iso, uuid_or_404
from api.policy import require_admin
from api.tokens import Claims
from commands.migrations import ConfirmResize, ResizeInstance, RevertResize
from domain.errors import InvalidInput, NotFound
from projections import migrations_queries as queries

ACTIONS = frozenset({"migrate", "resize", "confirmResize", "revertResize"})


class ResizeBody(msgspec.Struct):
    flavorRef: str
    diskConfig: str | None = msgspec.field(default=None, name="OS-DCF:diskConfig")


def _null(value: Any, name: str) -> None:
    if value is not None:
        raise InvalidInput(f"Invalid input for field/attribute {name}. Value: {value!r}. "
                           f"{value!r} is not of type 'null'")


async def action(request: Request, who: Claims, name: str, value: Any) -> Response:
    """One of ``ACTIONS`` on the server of the path."""
    common: dict[str, Any] = {
        "request_id": await idempotency.request_id(request, who), "caller": who.caller,
        "instance_id": request.path_params["server_id"]}
    moves = commands(request).migrations
    if name == "migrate":
        require_admin(who, "os_compute_api:os-migrate-server:migrate")
        _null(value, "migrate")
        accepted = await run_in_threadpool(moves.resize, ResizeInstance(**common))
        return accepted_answer(request, accepted, 202, None)
    if name == "resize":
        body = argument(value, ResizeBody, "resize")
        if not body.flavorRef.strip():
            raise InvalidInput("Invalid input for field/attribute flavorRef. "
                               "Value: ''. '' is too short")
        accepted = await run_in_threadpool(
            moves.resize, ResizeInstance(**common, flavor_ref=body.flavorRef))
        return accepted_answer(request, accepted, 202, None)
    _null(value, name)
    if name == "confirmResize":
        accepted = await run_in_threadpool(moves.confirm, ConfirmResize(**common))
        return accepted_answer(request, accepted, 204, None)
    accepted = await run_in_threadpool(moves.confirm, RevertResize(**common))
    return accepted_answer(request, accepted, 202, None)


def shown(request: Request, m: queries.MigrationView) -> dict[str, Any]:
    """A migration as os-migrations shows it at the request's microversion."""
    body: dict[str, Any] = {
        "id": m.id, "source_node": m.source_compute, "dest_node": m.dest_compute,
        "source_compute": m.source_compute, "dest_compute": m.dest_compute,
        "dest_host": m.dest_compute, "status": m.status, "instance_uuid": str(m.instance_uuid),
        "old_instance_type_id": m.old_flavor_id, "new_instance_type_id": m.new_flavor_id,
        "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
    }
    if microversion.at_least(request, 23):
        body["migration_type"] = m.migration_type
        # links name an in-progress live migration only: nimbus has none (see docs)
    return body


async def list_migrations(request: Request) -> Response:
    """GET /os-migrations (admin): every migration, newest first, filtered as Nova's."""
    who = claims(request)
    require_admin(who, "os_compute_api:os-migrations:index")
    params = request.query_params
    found = await queries.list_migrations(
        await caught_up(request), instance_uuid=params.get("instance_uuid"),
        status=params.get("status"), host=params.get("host"),
        source_compute=params.get("source_compute"),
        migration_type=params.get("migration_type")
        if microversion.at_least(request, 23) else None)
    return microversion.answer({"migrations": [shown(request, m) for m in found]}, request)


def _at_23(request: Request) -> None:
    if not microversion.at_least(request, 23):
        raise NotFound("The resource could not be found.")


async def server_migrations(request: Request) -> Response:
    """GET /servers/{id}/migrations (2.23, admin): its live migrations in
    progress. nimbus runs no live migration yet, so the list is empty."""
    _at_23(request)
    who = claims(request)
    require_admin(who, "os_compute_api:servers:migrations:index")
    server_id = uuid_or_404(request.path_params["server_id"], "Instance")
    await run_in_threadpool(commands(request).instances.instance, str(server_id), who.caller)
    return microversion.answer({"migrations": []}, request)


async def server_migration(request: Request) -> Response:
    """GET /servers/{id}/migrations/{mid} (2.23, admin): 404 unless it is a live
    migration in progress, as Nova answers; nimbus runs none yet."""
    _at_23(request)
    who = claims(request)
    require_admin(who, "os_compute_api:servers:migrations:show")
    server_id = uuid_or_404(request.path_params["server_id"], "Instance")
    await run_in_threadpool(commands(request).instances.instance, str(server_id), who.caller)
    mid = request.path_params["migration_id"]
    raise NotFound(f"In-progress live migration {mid} is not found for server {server_id}.")


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-migrations", list_migrations, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/migrations", server_migrations, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/migrations/{migration_id}", server_migration,
          methods=["GET"]),
]
