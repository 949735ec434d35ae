"""What the floating IP and security group routes share: who asks and in
which project they see things, a write's request id and answer, a list's
filters, and the views a write consults.

Some refusals depend on what no aggregate holds: whether a fixed IP already
has a floating IP, whether a port uses a group, which ports a server has.
The write side refuses what it can see; the views answer the rest, so a
command route reads them (caught up to the log's head, api/consistency.py)
before it writes. A command-only process has no views: there those checks
are left to the write side alone (``views_if_any``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import idempotency
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.http import commands, iso
from api.tokens import Claims
from commands.services import Commands
from projections.views import Views


async def who_asks(request: Request) -> tuple[Claims, str, Commands]:
    """Who asks, the request's id and the command services."""
    who = claims(request)
    return who, await idempotency.request_id(request, who), commands(request)


async def views_if_any(request: Request) -> Views | None:
    """The views caught up with the log (None in a command-only process)."""
    return None if context(request).pool is None else await caught_up(request)


def done(position: int | None, body: dict[str, Any] | None = None,
         status: int = 200) -> Response:
    if body is None:
        return Response(status_code=status, headers=positioned(position))
    return JSONResponse(body, status_code=status, headers=positioned(position))


def listing_scope(request: Request, who: Claims) -> tuple[bool, str | None]:
    """Whether anything can match, and the project whose rows a list shows
    (None: every project's). A member sees their project's alone, whatever
    ``project_id``/``tenant_id`` asks; an admin sees all, or the one asked."""
    asked = (request.query_params.getlist("project_id")
             + request.query_params.getlist("tenant_id"))
    if who.caller.is_admin:
        return True, asked[0] if asked else None
    return all(p == who.project_id for p in asked), who.project_id


def filters(request: Request, names: tuple[str, ...]) -> dict[str, list[str]]:
    """The query's values of each filter ``names`` allows (others are ignored)."""
    return {name: request.query_params.getlist(name) for name in names
            if name in request.query_params}


def stamps(created_at: Any, updated_at: Any, revision_number: int) -> dict[str, Any]:
    return {"created_at": iso(created_at), "updated_at": iso(updated_at),
            "revision_number": revision_number, "tags": []}
