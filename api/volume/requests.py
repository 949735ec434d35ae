"""What every Cinder route does first and last: the project in the path is the
caller's (an admin's: any), a write's request id, and a write's answer with
its log position."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import idempotency
from api.consistency import positioned
from api.context import claims
from api.http import commands
from api.tokens import Claims
from commands.services import Commands
from domain.errors import Forbidden

PREFIX = "/volume/v3/{project_id}"


def own_project(who: Claims, project_id: str) -> None:
    """A member works in their own project's URL; an admin in any."""
    if project_id != who.project_id and not who.caller.is_admin:
        raise Forbidden(f"Policy doesn't allow volume access to project {project_id}.")


def caller_in_path(request: Request) -> Claims:
    """The caller of a query, in their own project's URL (an admin: any)."""
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    return who


async def who_asks(request: Request) -> tuple[Claims, str, Commands]:
    """Who asks (in their own project's URL), the request id, and the command
    services."""
    who = claims(request)
    own_project(who, request.path_params["project_id"])
    return who, await idempotency.request_id(request, who), commands(request)


def done(position: int | None, body: dict[str, Any] | None = None,
         status: int = 202) -> Response:
    if body is None:
        return Response(status_code=status, headers=positioned(position))
    return JSONResponse(body, status_code=status, headers=positioned(position))
