"""Keystone v3 tokens and the service catalog, under /identity: password login
and token validation (served by either process, since a client logs in to
whichever it reaches), logout (a command), and the projects a token's user
may scope to (a query)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

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
from commands.identity import Principal
from domain.errors import InvalidInput, NotFound, Unauthorized
from domain.identity import (
    DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME,
    domain_id_of,
    keystone_id,
    role_id,
)

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


class _Token(msgspec.Struct):
    id: Password  # a token is as long as a password may be


class _AppCredential(msgspec.Struct):
    secret: Password
    id: Text255 | None = None


class _Identity(msgspec.Struct):
    methods: list[Text255]
    password: _Password | None = None
    token: _Token | None = None
    application_credential: _AppCredential | None = None


class _System(msgspec.Struct):
    all: bool = False


class _Scope(msgspec.Struct):
    project: _Named | None = None
    system: _System | None = None


class _Auth(msgspec.Struct):
    identity: _Identity
    scope: _Scope | Literal["unscoped"] | None = None


class _AuthBody(msgspec.Struct):
    auth: _Auth


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def catalog(ctx: Context, project_id: str) -> list[dict[str, Any]]:
    """Every service on this one address, at the roots devstack publishes:
    unversioned for Keystone and Glance (their clients find the version, and
    glanceclient appends ``/v2`` itself), Nova's v2.1, Cinder's v3 with the
    project in its URL, Neutron's ``/networking`` (api/network/networking_root.py)
    and placement's ``/placement`` (read only: api/placement), as devstack
    registers those services' endpoints."""
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
        entry("placement", "placement", "/placement"),
    ]


def token_body(ctx: Context, c: Claims) -> dict[str, Any]:
    """Keystone's token body; an unscoped token has no project, roles or catalog."""
    token: dict[str, Any] = {
        "methods": list(c.methods),
        "user": {"id": c.user_id, "name": c.user_name,
                 "domain": {"id": c.user_domain[0], "name": c.user_domain[1]},
                 "password_expires_at": None},
        "is_domain": False,
        "issued_at": _iso(c.issued_at),
        "expires_at": _iso(c.expires_at),
        "audit_ids": [c.audit_id],
    }
    if c.system:
        token.update({
            "system": {"all": True},
            "roles": [{"id": role_id(r), "name": r} for r in c.roles],
            "catalog": catalog(ctx, ""),
        })
    elif c.scoped:
        token.update({
            "project": {"id": c.project_id, "name": c.project_name,
                        "domain": {"id": c.project_domain[0], "name": c.project_domain[1]}},
            "roles": [{"id": role_id(r), "name": r} for r in c.roles],
            "catalog": catalog(ctx, c.project_id),
        })
    return {"token": token}


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


def _domain_ref(domain: _Domain | None) -> str:
    """The domain a login names a user or project in (by id or name; none: Default)."""
    if domain is None:
        return DEFAULT_DOMAIN_ID
    return domain.id or (domain_id_of(domain.name) if domain.name else DEFAULT_DOMAIN_ID)


async def issue_token(request: Request) -> Response:
    """Login: a password checked against the user aggregate, or a token the
    caller holds (Keystone's ``token`` method, to scope it to a project)."""
    ctx = context(request)
    body = decode(await request.body(), _AuthBody, service="keystone")
    identity = body.auth.identity
    scope = body.auth.scope
    project = scope.project if isinstance(scope, _Scope) else None
    system = isinstance(scope, _Scope) and scope.system is not None and scope.system.all
    project_ref = (project.id or project.name) if project else None
    if project is not None and not project_ref:
        raise InvalidInput("Invalid authentication request: a project needs a name or an id.")
    project_domain = _domain_ref(project.domain) if project is not None else DEFAULT_DOMAIN_ID
    if "password" in identity.methods and identity.password is not None:
        principal = await _password_login(ctx, identity.password.user, project_ref,
                                          project_domain, unscoped=scope == "unscoped",
                                          system=system)
        token, issued = ctx.signer.issue(
            user_id=principal.user_id, user_name=principal.user_name,
            project_id=principal.project_id, project_name=principal.project_name,
            roles=principal.roles, system=principal.system, user_domain=principal.user_domain,
            project_domain=principal.project_domain)
    elif "token" in identity.methods and identity.token is not None:
        held = ctx.signer.verify(identity.token.id)
        if held is None or ctx.revocations.is_revoked(held):
            raise Unauthorized("The request you have made requires authentication.")
        if system:
            principal = await run_in_threadpool(ctx.identity.scope_system,
                                                 user_id=held.user_id)
        elif project_ref is not None:
            principal = await run_in_threadpool(ctx.identity.scope, user_id=held.user_id,
                                                 project_ref=project_ref,
                                                 project_domain=project_domain)
        else:
            raise InvalidInput("Invalid authentication request: the token method needs a "
                               "project or system scope.")
        token, issued = ctx.signer.issue(
            user_id=principal.user_id, user_name=principal.user_name,
            project_id=principal.project_id, project_name=principal.project_name,
            roles=principal.roles, methods=tuple(dict.fromkeys(("token", *held.methods))),
            expires_at=held.expires_at, system=principal.system,
            user_domain=principal.user_domain, project_domain=principal.project_domain)
    elif ("application_credential" in identity.methods
          and identity.application_credential is not None):
        given = identity.application_credential
        if not given.id:
            raise InvalidInput("Invalid authentication request: an application credential "
                               "needs its id.")
        principal = await run_in_threadpool(ctx.identity.app_credentials.authenticate,
                                             cred_id=given.id, secret=given.secret)
        token, issued = ctx.signer.issue(
            user_id=principal.user_id, user_name=principal.user_name,
            project_id=principal.project_id, project_name=principal.project_name,
            roles=principal.roles, methods=("application_credential",),
            user_domain=principal.user_domain, project_domain=principal.project_domain)
    else:
        raise Unauthorized("Only password, token and application credential authentication "
                           "are supported.")
    return JSONResponse(token_body(ctx, issued), status_code=201,
                        headers={"X-Subject-Token": token})


async def _password_login(ctx: Context, user: _User, project_ref: str | None,
                          project_domain: str, *, unscoped: bool,
                          system: bool = False) -> Principal:
    user_ref = user.id or user.name
    if not user_ref:
        raise InvalidInput("Invalid authentication request: a user needs a name or an id.")
    if system:
        return await run_in_threadpool(
            ctx.identity.authenticate_system, user_ref=user_ref, password=user.password,
            user_domain=DEFAULT_DOMAIN_ID if user.id else _domain_ref(user.domain))
    return await run_in_threadpool(
        ctx.identity.authenticate, user_ref=user_ref, password=user.password,
        project_ref=project_ref, unscoped=unscoped,
        user_domain=DEFAULT_DOMAIN_ID if user.id else _domain_ref(user.domain),
        project_domain=project_domain)


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
    who = claims(request, unscoped=True)
    token, found = subject(request)
    if found.user_id != who.user_id and not who.caller.is_admin and "service" not in who.roles:
        raise IdentityForbidden("You are not authorized to perform the requested action: "
                                "identity:validate_token.")
    return JSONResponse(token_body(context(request), found), headers={"X-Subject-Token": token})


async def revoke_token(request: Request) -> Response:
    """Logout: the token is refused everywhere from now on."""
    who = claims(request, unscoped=True)
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
