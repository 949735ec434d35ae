"""Keystone's domains and what a token may see of itself: nimbus has one
domain, Default, that every project and user is in. Listing and showing it
(``?name=`` as Keystone filters) lets clients that look a domain up by name,
such as the test suites' dynamic credentials, find its id; ``/auth/domains``
and ``/auth/catalog`` answer for the caller's own token."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.context import claims, context
from api.identity.auth import DOMAIN, catalog
from api.identity.requests import listing
from domain.errors import NotFound

P = "/identity/v3"


def _domain(request: Request) -> dict[str, Any]:
    return {**DOMAIN, "description": "The default domain", "enabled": True,
            "tags": [], "options": {},
            "links": {"self": f"{context(request).base_url}{P}/domains/{DOMAIN['id']}"}}


async def list_domains(request: Request) -> Response:
    claims(request)
    name = request.query_params.get("name")
    enabled = request.query_params.get("enabled", "").lower()
    found = [_domain(request)] if name in (None, DOMAIN["name"]) and enabled != "false" else []
    return listing(request, "domains", found)


async def show_domain(request: Request) -> Response:
    claims(request)
    if request.path_params["domain_id"] != DOMAIN["id"]:
        raise NotFound(f"Could not find domain: {request.path_params['domain_id']}.")
    return JSONResponse({"domain": _domain(request)})


async def auth_domains(request: Request) -> Response:
    """The domains the token's user may scope to: none, as nobody holds a
    role on a domain here (roles are held on projects)."""
    claims(request, unscoped=True)
    return listing(request, "domains", [])


async def auth_catalog(request: Request) -> Response:
    who = claims(request)
    return listing(request, "catalog", catalog(context(request), who.project_id))


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(f"{P}/domains", list_domains, methods=["GET"]),
    Route(f"{P}/domains/{{domain_id}}", show_domain, methods=["GET"]),
    Route(f"{P}/auth/domains", auth_domains, methods=["GET"]),
    Route(f"{P}/auth/catalog", auth_catalog, methods=["GET"]),
]
