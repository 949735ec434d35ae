"""Keystone v3 tokens and the service catalog, under /identity: password login
and token validation (served by either process, since a client logs in to
whichever it reaches), logout (a command), and the projects a token's user
may scope to (a query)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.bodies import decode
from api.context import Context, claims, context
from api.errors import IdentityForbidden
from api.fields import Password, Text255
from api.identity.requests import identity, with_position
from api.identity.users import user_projects
from api.tokens import Claims
from domain.errors import InvalidInput, NotFound, Unauthorized
from domain.identity import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, keystone_id, role_id

DOMAIN = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}


class _Domain(msgspec.Struct):
    name: Text255 | None = None
    id: Text255 | None = None


class _Named(msgspec.Struct):
    name: Text255 | None = None
    id: Text255 | None = None
    domain: _Domain | None = None


class _User(msgspec.Struct):
    password: Password
    name: Text255 | None = None
    id: Text255 | None = None
    domain: _Domain | None = None


class _Password(msgspec.Struct):
    user: _User


class _Identity(msgspec.Struct):
    methods: list[Text255]
    password: _Password | None = None


class _Scope(msgspec.Struct):
    project: _Named | None = None


class _Auth(msgspec.Struct):
    identity: _Identity
    scope: _Scope | None = None


class _AuthBody(msgspec.Struct):
    auth: _Auth


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def catalog(ctx: Context, project_id: str) -> list[dict[str, Any]]:
    """Every service on this one address, at the roots devstack publishes:
    unversioned for Keystone and Glance (their clients find the version, and
    glanceclient appends ``/v2`` itself), Nova's v2.1, Cinder's v3 with the
    project in its URL and Neutron's ``/networking`` (api/network/networking_root.py),
    as devstack registers those services' endpoints."""
    def entry(kind: str, name: str, path: str) -> dict[str, Any]:
        return {
            "id": keystone_id("service", kind), "type": kind, "name": name,
            "endpoints": [{
                "id": keystone_id("endpoint", kind), "interface": iface,
                "region_id": ctx.region, "region": ctx.region, "url": f"{ctx.base_url}{path}",
            } for iface in ("public", "internal", "admin")],
        }

    return [
        entry("identity", "keystone", "/identity"),
        entry("compute", "nova", "/compute/v2.1"),
        entry("image", "glance", "/image"),
        entry("volumev3", "cinderv3", f"/volume/v3/{project_id}"),
        entry("network", "neutron", "/networking"),
    ]


def token_body(ctx: Context, c: Claims) -> dict[str, Any]:
    return {"token": {
        "methods": ["password"],
        "user": {"id": c.user_id, "name": c.user_name, "domain": DOMAIN,
                 "password_expires_at": None},
        "project": {"id": c.project_id, "name": c.project_name, "domain": DOMAIN},
        "roles": [{"id": role_id(r), "name": r} for r in c.roles],
        "is_domain": False,
        "issued_at": _iso(c.issued_at),
        "expires_at": _iso(c.expires_at),
        "audit_ids": [c.audit_id],
        "catalog": catalog(ctx, c.project_id),
    }}


async def versions(request: Request) -> Response:
    ctx = context(request)
    return JSONResponse({"versions": {"values": [_version(ctx)]}}, status_code=300)


async def version(request: Request) -> Response:
    return JSONResponse({"version": _version(context(request))})


def _version(ctx: Context) -> dict[str, Any]:
    return {
        "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{ctx.base_url}/identity/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


def _in_default_domain(domain: _Domain | None) -> bool:
    return domain is None or domain.id == DOMAIN["id"] or (
        domain.id is None and domain.name == DOMAIN["name"])


async def issue_token(request: Request) -> Response:
    """Password login, checked against the user and project aggregates."""
    ctx = context(request)
    body = decode(await request.body(), _AuthBody, service="keystone")
    identity = body.auth.identity
    if "password" not in identity.methods or identity.password is None:
        raise Unauthorized("Only password authentication is supported.")
    user = identity.password.user
    project = body.auth.scope.project if body.auth.scope else None
    user_ref = user.id or user.name
    project_ref = (project.id or project.name) if project else None
    if not user_ref or (project is not None and not project_ref):
        raise InvalidInput("Invalid authentication request: a user and a project need a name "
                           "or an id.")
    if not _in_default_domain(user.domain) or (
            project is not None and not project.id and not _in_default_domain(project.domain)):
        raise Unauthorized("The request you have made requires authentication.")
    principal = await run_in_threadpool(
        ctx.identity.authenticate, user_ref=user_ref, password=user.password,
        project_ref=project_ref)
    token, issued = ctx.signer.issue(
        user_id=principal.user_id, user_name=principal.user_name,
        project_id=principal.project_id, project_name=principal.project_name,
        roles=principal.roles,
    )
    return JSONResponse(token_body(ctx, issued), status_code=201,
                        headers={"X-Subject-Token": token})


def subject(request: Request) -> tuple[str, Claims]:
    """The token named by X-Subject-Token, valid and not revoked; 404 otherwise."""
    ctx = context(request)
    token = request.headers.get("x-subject-token", "")
    found = ctx.signer.verify(token)
    if found is None or ctx.revocations.is_revoked(found):
        raise NotFound("Could not find token.")
    return token, found


async def validate_token(request: Request) -> Response:
    """Keystone's ``identity:validate_token`` (service_admin_or_token_subject):
    an admin or a service may validate any token, anyone else only their own."""
    who = claims(request)
    token, found = subject(request)
    if found.user_id != who.user_id and not who.caller.is_admin and "service" not in who.roles:
        raise IdentityForbidden("You are not authorized to perform the requested action: "
                                "identity:validate_token.")
    return JSONResponse(token_body(context(request), found), headers={"X-Subject-Token": token})


async def revoke_token(request: Request) -> Response:
    """Logout: the token is refused everywhere from now on."""
    who = claims(request)
    _, token = subject(request)
    if token.user_id != who.user_id and not who.caller.is_admin:
        raise IdentityForbidden("You are not authorized to perform the requested action: "
                        "identity:revoke_token.")
    written = await run_in_threadpool(
        identity(request).revoke_token, audit_id=token.audit_id, user_id=token.user_id,
        project_id=token.project_id)
    context(request).revocations.add(token.audit_id)
    return with_position(Response(status_code=204), written)


# login and validation are served by the command and the query process alike
routes: list[BaseRoute] = [
    Route("/identity", versions, methods=["GET"]),
    Route("/identity/", versions, methods=["GET"]),
    Route("/identity/v3", version, methods=["GET"]),
    Route("/identity/v3/", version, methods=["GET"]),
    Route("/identity/v3/auth/tokens", issue_token, methods=["POST"]),
    Route("/identity/v3/auth/tokens", validate_token, methods=["GET", "HEAD"]),
]
command_routes: list[BaseRoute] = [
    Route("/identity/v3/auth/tokens", revoke_token, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route("/identity/v3/auth/projects", user_projects, methods=["GET"]),
]
