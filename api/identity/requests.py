"""What the Keystone routes share: the identity service and views they use,
a write's request id and log position, and Keystone's list wrapper."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import idempotency
from api.consistency import positioned
from api.context import claims, context
from commands.application import Written
from commands.identity import IdentityCommands
from projections.views import Views


def identity(request: Request) -> IdentityCommands:
    return context(request).identity


def pool(request: Request) -> Views:
    found = context(request).pool
    assert found is not None, "query routes need the views"
    return found


async def request_id(request: Request) -> str:
    return await idempotency.request_id(request, claims(request))


def with_position(response: Response, done: Written[Any]) -> Response:
    """``response`` with the log position of what the request wrote."""
    response.headers.update(positioned(done.position))
    return response


def listing(request: Request, key: str, items: list[dict[str, Any]]) -> Response:
    return JSONResponse({key: items, "links": {"self": str(request.url), "previous": None,
                                                "next": None}})
