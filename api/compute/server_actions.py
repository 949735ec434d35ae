"""Nova's server actions (``POST /servers/{id}/action``): turn the one action a
body names into a command, answer as Nova does.

An action only appends events, as every write does (api/compute/servers.py).
The one exception to "no I/O beyond the store" is os-getConsoleOutput, which
asks the instance's host through ``Context.console``.

``addSecurityGroup`` / ``removeSecurityGroup`` (``openstack server add
security group``) change the server's ports, as Nova does with Neutron: the
group is found by id or name in the caller's project and the server's ports
(those whose ``device_id`` is the server) in the views, then the write side
changes every one of them in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute import migrations, shapes
from api.compute.bodies import (
    ConsoleOutputBody,
    LockBody,
    RebootBody,
    RebuildBody,
    ResetStateBody,
    SecurityGroupRef,
    argument,
)
from api.compute.servers import accepted_answer
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.http import commands, uuid_or_404
from api.tokens import Claims
from commands.instances import InstanceCommands
from commands.messages import (
    Accepted,
    DeleteInstance,
    InstanceChange,
    InstanceCommand,
    LockInstance,
    PauseInstance,
    RebootInstance,
    RebuildInstance,
    ResetInstanceState,
    ResumeInstance,
    StartInstance,
    StopInstance,
    SuspendInstance,
    UnlockInstance,
    UnpauseInstance,
)
from commands.server_images import CreateServerImage
from domain import instance as model
from domain.errors import Conflict, InvalidInput, InvalidState, NotFound
from domain.server_image import image_id_for
from projections import network_security_queries as network_q

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
    return commands(request).instances


def _command(request: Request, who: Claims, name: str, value: Any,
             request_id: str) -> InstanceCommand:
    """The command an action body names, or 400."""
    at_73 = microversion.at_least(request, 73)
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
    if name == "lock":  # a reason is 2.73's: before, the argument is not read, as in Nova
        reason = argument(value, LockBody, "lock").locked_reason if at_73 else None
        return LockInstance(**common, reason=reason)
    if name == "unlock":
        return UnlockInstance(**common)
    if name == "os-resetState":
        return ResetInstanceState(**common, state=argument(value, ResetStateBody,
                                                           "os-resetState").state)
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
    if name in ("addSecurityGroup", "removeSecurityGroup"):
        return await _security_group(request, who, name, value, version)
    if name == "createImage":
        return await _create_image(request, who, value, version)
    if name in migrations.ACTIONS:  # moves of the server (api/compute/migrations.py)
        return await migrations.action(request, who, name, value)
    if name == "rebuild":
        return await _rebuild(request, who, value, version)
    if name == "trigger_crash_dump" and version >= (2, 17):
        await _trigger_crash_dump(request, who, value)
    cmd = _command(request, who, name, value, await idempotency.request_id(request, who))
    run: Callable[[Any], Accepted] = (
        _instances(request).change if isinstance(cmd, InstanceChange)
        else _instances(request).act)
    accepted = await run_in_threadpool(run, cmd)
    return accepted_answer(request, accepted, 202, None)


async def _create_image(request: Request, who: Claims, value: Any,
                        version: tuple[int, int]) -> Response:
    """createImage: 202, the image named by ``Location`` (before 2.45; from
    2.45, which nimbus does not reach, also in the body), the image reserved
    ``queued`` in the same commit as the request (commands/server_images.py)."""
    if not isinstance(value, dict):
        raise InvalidInput("Invalid input for field/attribute createImage. Value: "
                           f"{value!r}. {value!r} is not of type 'object'")
    unknown = sorted(set(value) - {"name", "metadata"})
    if unknown:
        raise InvalidInput("Invalid input for field/attribute createImage. Additional "
                           f"properties are not allowed ({', '.join(map(repr, unknown))} "
                           "were unexpected)")
    if "name" not in value:
        raise InvalidInput("Invalid input for field/attribute createImage. Value: "
                           f"{value!r}. 'name' is a required property")
    metadata = value.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise InvalidInput("Invalid input for field/attribute metadata. Value: "
                           f"{metadata!r}. It must be an object of strings")
    cmd = CreateServerImage(request_id=await idempotency.request_id(request, who),
                            caller=who.caller, instance_id=request.path_params["server_id"],
                            name=value["name"], metadata=metadata)
    written = await run_in_threadpool(commands(request).server_images.create_image, cmd)
    image_id = image_id_for(written.request_id)
    headers = {"x-openstack-request-id": written.request_id, **microversion.headers(version),
               **positioned(written.position),
               "Location": f"{context(request).base_url}/image/v2/images/{image_id}"}
    if version >= (2, 45):
        return JSONResponse({"image_id": image_id}, status_code=202, headers=headers)
    return Response(status_code=202, headers=headers)


async def _rebuild(request: Request, who: Claims, value: Any,
                   version: tuple[int, int]) -> Response:
    """rebuild: 202 and the server as it is now (REBUILD, with its new image),
    and an adminPass, as Nova answers."""
    if not isinstance(value, dict):
        raise InvalidInput("Invalid input for field/attribute rebuild. Value: "
                           f"{value!r}. {value!r} is not of type 'object'")
    asked = argument(value, RebuildBody, "rebuild")
    cmd = RebuildInstance(request_id=await idempotency.request_id(request, who),
                          caller=who.caller, instance_id=request.path_params["server_id"],
                          image_ref=asked.imageRef, name=asked.name, metadata=asked.metadata)
    accepted = await run_in_threadpool(_instances(request).rebuild, cmd)
    assert accepted.state is not None
    shown = shapes.updated_server(shapes.server(
        context(request).base_url, shapes.from_state(accepted.state),
        admin=who.caller.is_admin, version=version), version)
    shown["adminPass"] = asked.adminPass or secrets.token_urlsafe(12)
    return accepted_answer(request, accepted, 202, {"server": shown})


CRASH_DUMP_FROM = (model.VmState.ACTIVE, model.VmState.PAUSED, model.VmState.ERROR)


async def _trigger_crash_dump(request: Request, who: Claims, value: Any) -> None:
    """2.17's ``trigger_crash_dump``: no nimbus host can inject an NMI into a
    guest, so a server that could take one is answered as Nova answers for a
    hypervisor without the feature (400); the checks before it are Nova's."""
    if value is not None:
        raise InvalidInput("Invalid input for field/attribute trigger_crash_dump. "
                           f"Value: {value!r}. {value!r} is not of type 'null'")
    state = await run_in_threadpool(_instances(request).instance,
                                    request.path_params["server_id"], who.caller)
    model.refuse_if_locked(state, who.caller.is_admin)
    if state.vm_state not in CRASH_DUMP_FROM:
        raise InvalidState(f"Cannot 'trigger_crash_dump' instance {state.id} while it is in "
                           f"vm_state {state.vm_state}")
    raise InvalidInput("Triggering crash dump is not supported")


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


async def _security_group(request: Request, who: Claims, name: str, value: Any,
                          version: tuple[int, int]) -> Response:
    wanted = argument(value, SecurityGroupRef, name).name
    server_id = uuid_or_404(request.path_params["server_id"], "Instance")
    await run_in_threadpool(_instances(request).instance, str(server_id), who.caller)
    if context(request).pool is None:
        raise InvalidState(f"The security groups of instance {server_id} cannot be changed"
                           " here: this process has no views.")
    views = await caught_up(request)
    groups = await network_q.groups_named(views, who.project_id, wanted)
    if not groups:
        raise NotFound(f"Security group {wanted} not found for project {who.project_id}.")
    if len(groups) > 1:
        raise Conflict(f"Multiple security_group matches found for name '{wanted}', use an"
                       " ID to be more specific.")
    ports = await network_q.ports_of_server(views, server_id)
    request_id = await idempotency.request_id(request, who)
    changed = await run_in_threadpool(
        lambda: commands(request).networks.change_server_groups(
            who.caller, request_id, str(server_id), [str(p.port_id) for p in ports],
            str(groups[0].id), add=name == "addSecurityGroup"))
    return Response(status_code=202, headers={**microversion.headers(version),
                                              **positioned(changed.position)})


command_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/action", server_action, methods=["POST"]),
]
query_routes: list[BaseRoute] = []
