"""The web console: an operator's page on the event log, served by the API.

``/console`` is a static page with its script and style (``static/``, no
build step); it logs in through Keystone's ``/identity/v3/auth/tokens`` and
sends the token as ``X-Auth-Token`` on every call. The page itself holds no
data, so it needs no token; everything it shows comes from the existing APIs
(the event stream, the servers, volumes and hypervisors, ``/readyz``) and from
the few admin-only JSON routes here, under ``/console/api/``, that answer
what no other API does: who is logged in, one request's events, and one
aggregate's state after each of its events (docs/console.md).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.context import claims, context
from api.policy import require_admin
from domain.errors import InvalidInput, NotFound
from projections import console_queries
from projections.progress import head_and_views
from projections.views import Views

STATIC = Path(__file__).with_name("static")
_encoder = msgspec.json.Encoder()


def _json(value: object) -> Response:
    return Response(_encoder.encode(value), media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _views(request: Request, action: str) -> Views:
    """The views, once the caller is shown to be an admin (else 401 or 403)."""
    require_admin(claims(request), action)
    views = context(request).pool
    assert views is not None  # the console is served by a process that serves the views
    return views


# the page runs only its own script and style, and in no one else's frame
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
}


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def session(request: Request) -> Response:
    """Who the token is, and the log's head: where the page starts its stream."""
    who = claims(request)
    views = _views(request, "the console to be used")
    head, applied = await head_and_views(views)
    return _json({"user": who.user_name, "user_id": who.user_id, "project": who.project_name,
                  "project_id": who.project_id, "head": head,
                  "views_position": applied})


async def request_events(request: Request) -> Response:
    views = _views(request, "a request's events to be read")
    request_id = request.path_params["request_id"]
    if not request_id or len(request_id) > 255:
        raise InvalidInput("A request id is 1 to 255 characters.")
    return _json(await console_queries.request_trace(views, request_id))


async def aggregate_states(request: Request) -> Response:
    views = _views(request, "an aggregate's states to be read")
    try:
        aggregate_id = uuid.UUID(request.path_params["aggregate_id"])
    except ValueError:
        raise InvalidInput("An aggregate id is a UUID.") from None
    found = await console_queries.aggregate_states(views, aggregate_id)
    if found is None:
        raise NotFound(f"No events are stored for aggregate {aggregate_id}.")
    return _json(found)


routes: list[BaseRoute] = [
    Route("/console", page, methods=["GET"]),
    Route("/console/", page, methods=["GET"]),
    Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
    Route("/console/api/session", session, methods=["GET"]),
    Route("/console/api/requests/{request_id}", request_events, methods=["GET"]),
    Route("/console/api/aggregates/{aggregate_id}/states", aggregate_states, methods=["GET"]),
]
