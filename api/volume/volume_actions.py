"""``POST /volumes/{id}/action``: the volume actions nimbus serves. Today
``os-retype`` (to another type served by the volume's storage host; no
migration); any other action on a volume the caller may see is Cinder's
400 naming it (one it may not see: 404)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.bodies import convert, decode
from api.fields import Text255
from api.volume.requests import PREFIX, done, who_asks
from commands.volumes import RetypeVolume
from domain.errors import InvalidInput


class _Retype(msgspec.Struct):
    new_type: Text255
    migration_policy: Text255 = "never"


async def volume_action(request: Request) -> Response:
    who, request_id, commands = await who_asks(request)
    body = decode(await request.body(), dict[str, Any], service="cinder")
    if len(body) != 1:
        raise InvalidInput("Invalid request body: exactly one volume action is required.")
    (action, argument), = body.items()
    ident = request.path_params["ident"]
    if action != "os-retype":
        await run_in_threadpool(commands.volumes.volume, ident, who.caller)  # 404 first
        raise InvalidInput(f"Invalid request body: the volume action {action} is not "
                           "supported.")
    asked = convert(argument, _Retype, service="cinder", field=action)
    accepted = await run_in_threadpool(commands.volumes.retype, RetypeVolume(
        request_id=request_id, caller=who.caller, volume_id=ident,
        new_type=asked.new_type, migration_policy=asked.migration_policy))
    return done(accepted.position)


command_routes: list[BaseRoute] = [
    Route(f"{PREFIX}/volumes/{{ident}}/action", volume_action, methods=["POST"])]
query_routes: list[BaseRoute] = []
