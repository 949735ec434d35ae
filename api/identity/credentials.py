"""Keystone's credentials: ``/v3/credentials`` (create, list, show, update,
delete: an admin's, or a user's own) and the EC2 access/secret pairs of
``/v3/users/{u}/credentials/OS-EC2`` (kept as credentials of type ``ec2``,
as Keystone keeps them). Blobs are sealed before they are stored and opened
only to answer their owner or an admin."""

from __future__ import annotations

import json
import secrets
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.consistency import caught_up
from api.context import claims, context
from api.errors import IdentityForbidden
from api.fields import Text255
from api.identity.requests import identity, listing, pool, request_id, with_position
from api.identity.sealing import seal, unseal
from api.tokens import Claims
from domain.errors import InvalidInput, NotFound
from domain.identity_credentials import EC2
from projections import identity_queries as q


class _NewCredential(msgspec.Struct):
    blob: str
    type: Text255
    user_id: Text255
    project_id: Text255 | None = None


class _CredentialBody(msgspec.Struct):
    credential: _NewCredential


class _CredentialChange(msgspec.Struct):
    blob: str | None = None
    type: Text255 | None = None
    project_id: Text255 | None = None
    user_id: Text255 | None = None


class _CredentialChangeBody(msgspec.Struct):
    credential: _CredentialChange


class _Ec2Body(msgspec.Struct):
    tenant_id: Text255


def _own_or_admin(who: Claims, user_id: str, action: str) -> None:
    if user_id != who.user_id and not who.caller.is_admin:
        raise IdentityForbidden(f"You are not authorized to perform the requested action: "
                                f"identity:{action}.")


def _access_of(type: str, blob: str, project_id: str | None) -> str | None:
    """An EC2 blob's access key (Keystone: the blob is JSON with one, and the
    credential names a project)."""
    if type != EC2:
        return None
    try:
        access = json.loads(blob).get("access")
    except (ValueError, AttributeError):
        access = None
    if not isinstance(access, str) or not access or project_id is None:
        raise InvalidInput("Invalid blob in credential: an ec2 credential needs a project_id "
                           "and a JSON blob with an access key.")
    return access


def _body(request: Request, row: Any) -> dict[str, Any]:
    ctx = context(request)
    return {"id": row.id, "user_id": row.user_id, "project_id": row.project_id,
            "type": row.type, "blob": unseal(ctx.signer, row.sealed_blob),
            "links": {"self": f"{ctx.base_url}/identity/v3/credentials/{row.id}"}}


async def _row(request: Request, cred_id: str) -> q.CredentialRow:
    await caught_up(request)
    rows = await q.list_credentials(pool(request), cred_id=cred_id)
    if not rows:
        raise NotFound(f"Could not find credential: {cred_id}.")
    return rows[0]


async def create_credential(request: Request) -> Response:
    who = claims(request)
    new = decode(await request.body(), _CredentialBody, service="keystone").credential
    _own_or_admin(who, new.user_id, "create_credential")
    access = _access_of(new.type, new.blob, new.project_id)
    written = await run_in_threadpool(
        identity(request).credentials.create, request_id=await request_id(request),
        user_id=new.user_id, project_id=new.project_id, type=new.type,
        sealed_blob=seal(context(request).signer, new.blob), access=access)
    return with_position(JSONResponse({"credential": _body(request, written.state)},
                                      status_code=201), written)


async def list_credentials(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    user_id = request.query_params.get("user_id")
    if not who.caller.is_admin:
        user_id = who.user_id
    rows = await q.list_credentials(pool(request), user_id=user_id,
                                    type=request.query_params.get("type"))
    return listing(request, "credentials", [_body(request, r) for r in rows])


async def show_credential(request: Request) -> Response:
    who = claims(request)
    row = await _row(request, request.path_params["credential_id"])
    _own_or_admin(who, row.user_id, "get_credential")
    return JSONResponse({"credential": _body(request, row)})


async def update_credential(request: Request) -> Response:
    who = claims(request)
    ref = request.path_params["credential_id"]
    row = await _row(request, ref)
    _own_or_admin(who, row.user_id, "update_credential")
    change = decode(await request.body(), _CredentialChangeBody,
                    service="keystone").credential
    if change.user_id not in (None, row.user_id):
        raise InvalidInput("Invalid input for field 'user_id': a credential keeps its user.")
    written = await run_in_threadpool(
        identity(request).credentials.update, request_id=await request_id(request),
        cred_id=ref, project_id=change.project_id, type=change.type,
        sealed_blob=None if change.blob is None else seal(context(request).signer,
                                                          change.blob))
    return with_position(JSONResponse({"credential": _body(request, written.state)}), written)


async def delete_credential(request: Request) -> Response:
    who = claims(request)
    ref = request.path_params["credential_id"]
    row = await _row(request, ref)
    _own_or_admin(who, row.user_id, "delete_credential")
    written = await run_in_threadpool(identity(request).credentials.delete,
                                      request_id=await request_id(request), cred_id=ref)
    return with_position(Response(status_code=204), written)


# ---- OS-EC2 ---------------------------------------------------------------


def _ec2_body(request: Request, user_id: str, project_id: str | None,
              sealed: str) -> dict[str, Any]:
    blob = json.loads(unseal(context(request).signer, sealed))
    base = context(request).base_url
    return {"user_id": user_id, "tenant_id": project_id, "access": blob.get("access"),
            "secret": blob.get("secret"), "trust_id": blob.get("trust_id"),
            "links": {"self": f"{base}/identity/v3/users/{user_id}/credentials/OS-EC2/"
                              f"{blob.get('access')}"}}


async def create_ec2(request: Request) -> Response:
    who = claims(request)
    user_id = request.path_params["user_id"]
    _own_or_admin(who, user_id, "ec2_create_credential")
    project_id = decode(await request.body(), _Ec2Body, service="keystone").tenant_id
    project = await run_in_threadpool(identity(request).project, project_id)
    access, secret = secrets.token_hex(16), secrets.token_hex(16)
    sealed = seal(context(request).signer, json.dumps({"access": access, "secret": secret,
                                                       "trust_id": None}))
    written = await run_in_threadpool(
        identity(request).credentials.create, request_id=await request_id(request),
        user_id=user_id, project_id=project.id, type=EC2, sealed_blob=sealed, access=access)
    body = _ec2_body(request, user_id, project.id, written.state.sealed_blob)
    return with_position(JSONResponse({"credential": body}, status_code=201), written)


async def list_ec2(request: Request) -> Response:
    who = claims(request)
    user_id = request.path_params["user_id"]
    _own_or_admin(who, user_id, "ec2_list_credentials")
    await caught_up(request)
    rows = await q.list_credentials(pool(request), user_id=user_id, type=EC2)
    return listing(request, "credentials", [_ec2_body(request, r.user_id, r.project_id,
                                                      r.sealed_blob) for r in rows])


async def _ec2_row(request: Request) -> q.CredentialRow:
    who = claims(request)
    p = request.path_params
    _own_or_admin(who, p["user_id"], "ec2_get_credential")
    await caught_up(request)
    rows = await q.list_credentials(pool(request), user_id=p["user_id"], type=EC2,
                                    access=p["access"])
    if not rows:
        raise NotFound(f"Could not find credential: {p['access']}.")
    return rows[0]


async def show_ec2(request: Request) -> Response:
    row = await _ec2_row(request)
    return JSONResponse({"credential": _ec2_body(request, row.user_id, row.project_id,
                                                 row.sealed_blob)})


async def delete_ec2(request: Request) -> Response:
    row = await _ec2_row(request)
    written = await run_in_threadpool(identity(request).credentials.delete,
                                      request_id=await request_id(request), cred_id=row.id)
    return with_position(Response(status_code=204), written)


P = "/identity/v3"
CRED = f"{P}/credentials/{{credential_id}}"
EC2_PATH = f"{P}/users/{{user_id}}/credentials/OS-EC2"
command_routes: list[BaseRoute] = [
    Route(f"{P}/credentials", create_credential, methods=["POST"]),
    Route(CRED, update_credential, methods=["PATCH"]),
    Route(CRED, delete_credential, methods=["DELETE"]),
    Route(EC2_PATH, create_ec2, methods=["POST"]),
    Route(f"{EC2_PATH}/{{access}}", delete_ec2, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/credentials", list_credentials, methods=["GET"]),
    Route(CRED, show_credential, methods=["GET"]),
    Route(EC2_PATH, list_ec2, methods=["GET"]),
    Route(f"{EC2_PATH}/{{access}}", show_ec2, methods=["GET"]),
]
