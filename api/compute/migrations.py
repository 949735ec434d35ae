"""Nova's moves of a server: the migrate, resize, confirmResize and revertResize
actions, os-migrations, and /servers/{id}/migrations (2.23).

The actions are answered here for ``server_action`` (api/compute/server_actions.py),
which hands over the action names in ``ACTIONS``. Who may: migrating is an
admin's (Nova's os-migrate-server policy), resizing, confirming and
reverting the owner's; os-migrations is an admin's. The lists read the
migrations view (projections/migrations.py), numbered as Nova numbers them.
"""

from __future__ import annotations

import contextlib
import zlib
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute.bodies import argument
from api.compute.servers import accepted_answer
from api.consistency import caught_up
from api.context import claims, context
from api.http import commands, iso, links, uuid_or_404
from api.policy import require_admin
from api.tokens import Claims
from commands.migrations import (
    ConfirmResize,
    ControlLiveMigration,
    LiveMigrateInstance,
    ResizeInstance,
    RevertResize,
)
from domain.errors import InvalidInput, NotFound
from projections import migrations_queries as queries

ACTIONS = frozenset({"migrate", "resize", "confirmResize", "revertResize", "os-migrateLive"})


class LiveBody(msgspec.Struct, forbid_unknown_fields=True):
    """os-migrateLive before 2.25: both flags required."""

    host: str | None
    block_migration: bool
    disk_over_commit: bool


class LiveBody25(msgspec.Struct, forbid_unknown_fields=True):
    """os-migrateLive from 2.25: block_migration may be "auto"; no disk_over_commit."""

    host: str | None = None
    block_migration: bool | str = "auto"


class LiveBody30(LiveBody25, forbid_unknown_fields=True):
    """os-migrateLive from 2.30: ``force`` takes the named host though it is
    disabled (it needs a host)."""

    force: bool = False


class ResizeBody(msgspec.Struct):
    flavorRef: str
    diskConfig: str | None = msgspec.field(default=None, name="OS-DCF:diskConfig")


def _null(value: Any, name: str) -> None:
    """migrate (before 2.56), confirmResize and revertResize take no argument:
    null, or an empty object as tempest's client and others send."""
    if value is not None and value != {}:
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
    if name == "os-migrateLive":
        require_admin(who, "os_compute_api:os-migrate-server:migrate_live")
        block: bool | str
        force = False
        if microversion.at_least(request, 25):
            body25 = argument(value, LiveBody30 if microversion.at_least(request, 30)
                              else LiveBody25, "os-migrateLive")
            host, block = body25.host, body25.block_migration
            force = isinstance(body25, LiveBody30) and body25.force
            if force and host is None:
                raise InvalidInput("Invalid input for field/attribute force: a forced live "
                                   "migration needs a host")
            if isinstance(block, str) and block != "auto":
                raise InvalidInput("Invalid input for field/attribute block_migration. Value: "
                                   f"{block}. {block!r} is not one of [True, False, 'auto']")
        else:
            body = argument(value, LiveBody, "os-migrateLive")
            host, block = body.host, body.block_migration
        accepted = await run_in_threadpool(moves.live_migrate, LiveMigrateInstance(
            **common, host=host, block_migration=block is True, force=force))
        return accepted_answer(request, accepted, 202, None)
    if name == "resize":
        resize = argument(value, ResizeBody, "resize")
        if not resize.flavorRef.strip():
            raise InvalidInput("Invalid input for field/attribute flavorRef. "
                               "Value: ''. '' is too short")
        accepted = await run_in_threadpool(
            moves.resize, ResizeInstance(**common, flavor_ref=resize.flavorRef))
        return accepted_answer(request, accepted, 202, None)
    _null(value, name)
    if name == "confirmResize":
        accepted = await run_in_threadpool(moves.confirm, ConfirmResize(**common))
        return accepted_answer(request, accepted, 204, None)
    accepted = await run_in_threadpool(moves.confirm, RevertResize(**common))
    return accepted_answer(request, accepted, 202, None)


def flavor_number(flavor_id: str) -> int:
    """Nova's ``*_instance_type_id`` is the flavor's integer row id, not its
    flavorid: the id itself when it is a number, else a stable number of it."""
    return int(flavor_id) if flavor_id.isdigit() else zlib.crc32(flavor_id.encode()) >> 1


def shown(request: Request, m: queries.MigrationView) -> dict[str, Any]:
    """A migration as os-migrations shows it at the request's microversion."""
    body: dict[str, Any] = {
        "id": m.id, "source_node": m.source_compute, "dest_node": m.dest_compute,
        "source_compute": m.source_compute, "dest_compute": m.dest_compute,
        "dest_host": m.dest_compute, "status": m.status, "instance_uuid": str(m.instance_uuid),
        "old_instance_type_id": flavor_number(m.old_flavor_id),
        "new_instance_type_id": flavor_number(m.new_flavor_id),
        "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
    }
    if microversion.at_least(request, 23):
        body["migration_type"] = m.migration_type
        if m.live_in_progress:  # as Nova: links name an in-progress live migration only
            body["links"] = links(context(request).base_url,
                                  f"servers/{m.instance_uuid}/migrations", str(m.id))
    return body


def in_progress(m: queries.MigrationView) -> dict[str, Any]:
    """A live migration in progress as /servers/{id}/migrations shows it (2.23)."""
    return {
        "id": m.id, "server_uuid": str(m.instance_uuid), "status": m.status,
        "source_compute": m.source_compute, "source_node": m.source_compute,
        "dest_compute": m.dest_compute, "dest_node": m.dest_compute,
        "dest_host": m.dest_compute, "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "memory_total_bytes": m.memory_total_bytes,
        "memory_processed_bytes": m.memory_processed_bytes,
        "memory_remaining_bytes": m.memory_remaining_bytes,
        "disk_total_bytes": m.disk_total_bytes, "disk_processed_bytes": m.disk_processed_bytes,
        "disk_remaining_bytes": m.disk_remaining_bytes,
    }


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


def _at(request: Request, minor: int) -> None:
    if not microversion.at_least(request, minor):
        raise NotFound("The resource could not be found.")


async def _live_of(request: Request, who: Claims, action: str) -> queries.MigrationView | None:
    """The server's migration of the path, if it is a live one in progress
    (the server checked first: 404 for one the caller cannot see)."""
    require_admin(who, f"os_compute_api:servers:migrations:{action}")
    server_id = uuid_or_404(request.path_params["server_id"], "Instance")
    await run_in_threadpool(commands(request).instances.instance, str(server_id), who.caller)
    raw = request.path_params.get("migration_id")
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"Invalid input for field/attribute migration_id. Value: {raw}.")
    found = await queries.list_migrations(await caught_up(request),
                                          instance_uuid=str(server_id), id=raw)
    if not found or not found[0].live_in_progress:
        raise NotFound(f"In-progress live migration {raw} is not found for server "
                       f"{server_id}.")
    return found[0]


async def server_migrations(request: Request) -> Response:
    """GET /servers/{id}/migrations (2.23, admin): its live migrations in progress."""
    _at(request, 23)
    who = claims(request)
    await _live_of(request, who, "index")
    found = await queries.list_migrations(
        await caught_up(request), instance_uuid=request.path_params["server_id"])
    return microversion.answer(
        {"migrations": [in_progress(m) for m in found if m.live_in_progress]}, request)


async def server_migration(request: Request) -> Response:
    """GET /servers/{id}/migrations/{mid} (2.23, admin): one live migration in
    progress, with how far its copy is; 404 for any other, as Nova answers."""
    _at(request, 23)
    found = await _live_of(request, claims(request), "show")
    assert found is not None
    return microversion.answer({"migration": in_progress(found)}, request)


async def _control(request: Request, abort: bool) -> Response:
    """Record force_complete or abort, then tell the source host's worker
    (if it does not answer, the copy ends by itself: converged or timed out)."""
    who = claims(request)
    found = await _live_of(request, who, "delete" if abort else "force_complete")
    assert found is not None
    request_id = await idempotency.request_id(request, who)
    accepted = await run_in_threadpool(commands(request).migrations.control, ControlLiveMigration(
        request_id=request_id, caller=who.caller, instance_id=str(found.instance_uuid),
        migration_id=str(found.uuid), abort=abort))
    tell = context(request).migration_control
    if tell is not None:
        with contextlib.suppress(TimeoutError):
            await tell(found.source_compute, str(found.instance_uuid),
                       "abort" if abort else "force")
    return accepted_answer(request, accepted, 202, None)


async def migration_action(request: Request) -> Response:
    """POST /servers/{id}/migrations/{mid}/action {"force_complete": null} (2.22)."""
    _at(request, 22)
    body = decode(await request.body(), dict[str, Any])
    if list(body) != ["force_complete"] or body["force_complete"] is not None:
        raise InvalidInput("Invalid input for field/attribute force_complete.")
    return await _control(request, abort=False)


async def abort_migration(request: Request) -> Response:
    """DELETE /servers/{id}/migrations/{mid} (2.24): abort a running live migration."""
    _at(request, 24)
    return await _control(request, abort=True)


command_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/migrations/{migration_id}/action",
          migration_action, methods=["POST"]),
    Route("/compute/v2.1/servers/{server_id}/migrations/{migration_id}", abort_migration,
          methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-migrations", list_migrations, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/migrations", server_migrations, methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/migrations/{migration_id}", server_migration,
          methods=["GET"]),
]
