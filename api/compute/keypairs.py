"""Nova's os-keypairs: list and show (queries, from the catalog view), create
or import, and delete (commands).

A create without ``public_key`` answers with the generated private key; it
is in this response only.
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
from commands.keypairs import KeypairCommands
from domain.errors import NotFound
from projections import catalog_queries as q


class KeypairBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    public_key: LongText | None = None
    type: Text255 = "ssh"


class CreateKeypairBody(msgspec.Struct):
    keypair: KeypairBody


def _keypairs(request: Request) -> KeypairCommands:
    return commands(request).keypairs


def _headers(version: tuple[int, int], request_id: str,
             position: int | None) -> dict[str, str]:
    return {"x-openstack-request-id": request_id, **microversion.headers(version),
            **positioned(position)}



async def list_keypairs(request: Request) -> Response:
    who = claims(request)
    version = microversion.requested(request)
    found = await q.list_keypairs(await caught_up(request), who.user_id)
    return microversion.answer({"keypairs": [{"keypair": shapes.keypair_brief(k, version)}
                               for k in found]}, request)


async def show_keypair(request: Request) -> Response:
    who = claims(request)
    version = microversion.requested(request)
    name = request.path_params["name"]
    found = await q.get_keypair(await caught_up(request), who.user_id, name)
    if found is None:
        raise NotFound(f"Keypair {name} not found for user {who.user_id}")
    return microversion.answer({"keypair": shapes.keypair(found, version)}, request)


async def create_keypair(request: Request) -> Response:
    version = microversion.requested(request)
    who = claims(request)
    body = decode(await request.body(), CreateKeypairBody).keypair
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(
        _keypairs(request).create, body.name, body.public_key, who.caller, request_id,
        body.type if version >= (2, 2) else "ssh")
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
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(_keypairs(request).delete, request.path_params["name"],
                                      who.caller, request_id)
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
