"""Compute command routes: turn a request into a command, answer as Nova does.

The request path only appends events (through the application, in a worker
thread because eventsourcing is synchronous); it never publishes to NATS and
never writes a view. The response carries the log position of the events.
The one exception to "no I/O beyond the store" is os-getConsoleOutput, which
asks the instance's host through ``Context.console``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import idempotency, metadata_commands, microversion
from api.bodies import decode
from api.consistency import POSITION_HEADER
from api.context import claims, context
from api.server_bodies import (
    ConsoleOutputBody,
    CreateServerBody,
    LockBody,
    RebootBody,
    UpdateServerBody,
    argument,
    count,
)
from api.tokens import Claims
from api.views import from_state, links, server
from commands.instances import InstanceCommands
from commands.messages import (
    Accepted,
    BootInstance,
    DeleteInstance,
    InstanceChange,
    InstanceCommand,
    LockInstance,
    PauseInstance,
    RebootInstance,
    ResumeInstance,
    StartInstance,
    StopInstance,
    SuspendInstance,
    UnlockInstance,
    UnpauseInstance,
    UpdateInstance,
)
from domain.errors import InvalidInput, InvalidState, NotFound

# actions that start host work and take no argument
SIMPLE_ACTIONS: dict[str, type[InstanceCommand]] = {
    "pause": PauseInstance,
    "unpause": UnpauseInstance,
    "suspend": SuspendInstance,
    "resume": ResumeInstance,
    "os-stop": StopInstance,
    "os-start": StartInstance,
}


def _instances(request: Request) -> InstanceCommands:
    commands = context(request).commands
    assert commands is not None, "command routes need the command services"
    return commands.instances


def _answer(accepted: Accepted, status: int, body: dict[str, Any] | None,
            version: tuple[int, int], extra: dict[str, str] | None = None) -> Response:
    headers = {"x-openstack-request-id": accepted.request_id, **microversion.headers(version)}
    if accepted.position is not None:
        headers[POSITION_HEADER] = str(accepted.position)
    headers.update(extra or {})
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def create_server(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    body = decode(await request.body(), CreateServerBody).server
    cmd = BootInstance(
        request_id=await idempotency.request_id(request, who), caller=who.caller,
        name=body.name, flavor_ref=str(body.flavorRef), image_ref=body.image(),
        key_name=body.key_name, metadata=body.metadata, user_data=body.user_data,
        availability_zone=body.availability_zone,
        min_count=count(body.min_count, "min_count") or 1,
        max_count=count(body.max_count, "max_count"), description=body.description,
    )
    accepted = await run_in_threadpool(_instances(request).boot, cmd)
    if body.return_reservation_id:
        return _answer(accepted, 202, {"reservation_id": accepted.reservation_id}, version)
    base = context(request).base_url
    created = {
        "id": accepted.instance_id,
        "links": links(base, "servers", accepted.instance_id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": secrets.token_urlsafe(12),
    }
    location = f"{base}/compute/v2.1/servers/{accepted.instance_id}"
    return _answer(accepted, 202, {"server": created}, version, {"Location": location})


def _command(request: Request, who: Claims, name: str, value: Any,
             request_id: str) -> InstanceCommand:
    """The command an action body names, or 400."""
    common: dict[str, Any] = {
        "request_id": request_id, "caller": who.caller,
        "instance_id": request.path_params["server_id"],
    }
    if name in SIMPLE_ACTIONS:
        return SIMPLE_ACTIONS[name](**common)
    if name == "reboot":
        kind = argument(value, RebootBody, "reboot").type.upper()
        if kind not in ("SOFT", "HARD"):
            raise InvalidInput("Invalid input for field/attribute type: "
                               f"{kind!r} is not one of 'SOFT', 'HARD'")
        return RebootInstance(**common, hard=kind == "HARD")
    if name == "forceDelete":
        return DeleteInstance(**common, force=True)
    if name == "lock":
        return LockInstance(**common, reason=argument(value, LockBody, "lock").locked_reason)
    if name == "unlock":
        return UnlockInstance(**common)
    raise InvalidInput(f"There is no such action: {name}")


async def server_action(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    body = decode(await request.body(), dict[str, Any])
    if len(body) != 1:
        raise InvalidInput("Exactly one action is expected in the request body.")
    ((name, value),) = body.items()
    if name == "os-getConsoleOutput":
        return await _console_output(request, who, value, version)
    cmd = _command(request, who, name, value, await idempotency.request_id(request, who))
    run: Callable[[Any], Accepted] = (
        _instances(request).change if isinstance(cmd, InstanceChange)
        else _instances(request).act)
    accepted = await run_in_threadpool(run, cmd)
    return _answer(accepted, 202, None, version)


async def _console_output(request: Request, who: Claims, value: Any,
                          version: tuple[int, int]) -> Response:
    raw = argument(value, ConsoleOutputBody, "os-getConsoleOutput").length
    length = None if raw is None else int(raw)
    if length is not None and length < -1:
        raise InvalidInput("Invalid input for field/attribute length: must be -1 or more")
    state = await run_in_threadpool(_instances(request).instance,
                                    request.path_params["server_id"], who.caller)
    console = context(request).console
    if console is None:
        raise InvalidState(f"Instance {state.id}'s console cannot be reached here.")
    try:
        output = await console(state.host, state.id, length)
    except TimeoutError:
        raise InvalidState(f"The host of instance {state.id} did not answer; "
                           "try again later.") from None
    if output is None:
        raise NotFound("Guest does not have a console available.")
    return JSONResponse({"output": output}, headers=microversion.headers(version))


async def update_server(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    body = decode(await request.body(), UpdateServerBody).server
    described = body.description is not msgspec.UNSET
    cmd = UpdateInstance(
        request_id=await idempotency.request_id(request, who), caller=who.caller,
        instance_id=request.path_params["server_id"], name=body.name,
        description=None if isinstance(body.description, msgspec.UnsetType)
        else body.description, description_set=described,
    )
    accepted = await run_in_threadpool(_instances(request).change, cmd)
    assert accepted.state is not None
    shown = server(context(request).base_url, from_state(accepted.state),
                   admin=who.caller.is_admin)
    return _answer(accepted, 200, {"server": shown}, version)


async def delete_server(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    cmd = DeleteInstance(request_id=await idempotency.request_id(request, who), caller=who.caller,
                         instance_id=request.path_params["server_id"])
    accepted = await run_in_threadpool(_instances(request).act, cmd)
    return _answer(accepted, 204, None, version)


routes = [
    Route("/compute/v2.1/servers", create_server, methods=["POST"]),
    Route("/compute/v2.1/servers/{server_id}/action", server_action, methods=["POST"]),
    Route("/compute/v2.1/servers/{server_id}", delete_server, methods=["DELETE"]),
    Route("/compute/v2.1/servers/{server_id}", update_server, methods=["PUT"]),
    *metadata_commands.routes,
]
