"""Nova's os-keypairs: list and show (queries, from the catalog view), create
or import, and delete (commands).

A create without ``public_key`` answers with the generated private key; it
is in this response only. From 2.2 a keypair has a ``type`` (and create
answers 201, delete 204); from 2.10 an admin names another user's keypairs
with ``?user_id=`` (list, show, delete) or ``user_id`` (create).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import decode
from api.compute import shapes
from api.consistency import caught_up, positioned
from api.context import claims
from api.fields import LongText, Name, Text255
from api.http import commands
from api.policy import require_admin
from api.tokens import Claims
from commands.keypairs import KeypairCommands
from domain.errors import InvalidInput, NotFound
from projections import catalog_queries as q


class KeypairBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    public_key: LongText | None = None
    type: Text255 | msgspec.UnsetType = msgspec.UNSET  # 2.2
    user_id: Text255 | msgspec.UnsetType = msgspec.UNSET  # 2.10


class CreateKeypairBody(msgspec.Struct):
    keypair: KeypairBody


def _keypairs(request: Request) -> KeypairCommands:
    return commands(request).keypairs


def _headers(version: tuple[int, int], request_id: str,
             position: int | None) -> dict[str, str]:
    return {"x-openstack-request-id": request_id, **microversion.headers(version),
            **positioned(position)}



def _owner(request: Request, who: Claims, action: str, asked: str | None = None) -> str:
    """Whose keypairs a request names: from 2.10 an admin may name any user
    (``?user_id=``, or ``asked`` from the body), anyone else only themselves."""
    if not microversion.at_least(request, 10):
        return who.user_id
    wanted = asked or request.query_params.get("user_id") or who.user_id
    if wanted != who.user_id:
        require_admin(who, f"os_compute_api:os-keypairs:{action}")
    return wanted


def _unexpected(name: str) -> InvalidInput:
    return InvalidInput("Invalid input for field/attribute keypair. Additional properties"
                        f" are not allowed ('{name}' was unexpected)")


async def list_keypairs(request: Request) -> Response:
    who = claims(request)
    version = microversion.requested(request)
    owner = _owner(request, who, "index")
    found = await q.list_keypairs(await caught_up(request), owner)
    return microversion.answer({"keypairs": [{"keypair": shapes.keypair_brief(k, version)}
                               for k in found]}, request)


async def show_keypair(request: Request) -> Response:
    who = claims(request)
    version = microversion.requested(request)
    name = request.path_params["name"]
    owner = _owner(request, who, "show")
    found = await q.get_keypair(await caught_up(request), owner, name)
    if found is None:
        raise NotFound(f"Keypair {name} not found for user {owner}")
    return microversion.answer({"keypair": shapes.keypair(found, version)}, request)


async def create_keypair(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    body = decode(await request.body(), CreateKeypairBody).keypair
    if version < (2, 2) and body.type is not msgspec.UNSET:
        raise _unexpected("type")
    if version < (2, 10) and body.user_id is not msgspec.UNSET:
        raise _unexpected("user_id")
    owner = _owner(request, who, "create",
                   None if isinstance(body.user_id, msgspec.UnsetType) else body.user_id)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        _keypairs(request).create, body.name, body.public_key, who.caller, request_id,
        "ssh" if isinstance(body.type, msgspec.UnsetType) else body.type, owner)
    state = written.state
    keypair: dict[str, Any] = {"name": state.name, "public_key": state.public_key,
                               "fingerprint": state.fingerprint, "user_id": state.user_id}
    if version >= (2, 2):
        keypair["type"] = state.type
    if written.private_key is not None:
        keypair["private_key"] = written.private_key
    status = 201 if version >= (2, 2) else 200
    return JSONResponse({"keypair": keypair}, status_code=status,
                        headers=_headers(version, request_id, written.position))


async def delete_keypair(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    owner = _owner(request, who, "delete")
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(_keypairs(request).delete, request.path_params["name"],
                                      who.caller, request_id, owner)
    status = 204 if version >= (2, 2) else 202
    return Response(status_code=status, headers=_headers(version, request_id, written.position))


command_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-keypairs", create_keypair, methods=["POST"]),
    Route("/compute/v2.1/os-keypairs/{name}", delete_keypair, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/os-keypairs", list_keypairs, methods=["GET"]),
    Route("/compute/v2.1/os-keypairs/{name}", show_keypair, methods=["GET"]),
]
