"""The event log as Server-Sent Events, resumable by position (docs/events.md §7).

It reads the log itself (not NATS), so an SSE client needs nothing but HTTP,
and ``Last-Event-ID`` resumes exactly where a dropped connection stopped.
Each event is shown as the web console shows it (``projections.shown``): a
secret field such as a user's ``password_hash`` reads ``(hidden)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api import query_params
from api.context import claims, context
from domain.errors import Forbidden
from projections import queries
from projections.shown import shown

BATCH = 500
IDLE_SECONDS = 0.2
_encoder = msgspec.json.Encoder()


def _start(request: Request) -> int:
    header = request.headers.get("last-event-id")
    if header:
        return query_params.whole_number(header, "header Last-Event-ID")
    after = request.query_params.get("after") or "0"
    return query_params.whole_number(after, "query parameter after")


async def event_stream(request: Request) -> Response:
    if not claims(request).caller.is_admin:
        raise Forbidden("Policy doesn't allow the event stream to be read by non-admins.")
    after = _start(request)
    follow = request.query_params.get("follow", "true").lower() not in ("0", "false", "no")
    pool = context(request).pool
    assert pool is not None

    async def frames() -> AsyncIterator[bytes]:
        position = after
        while True:
            entries = await queries.events_after(pool, position, BATCH)
            for entry in entries:
                position = entry.position
                data = _encoder.encode(shown(entry.message())).decode()
                yield f"id: {position}\nevent: {entry.event_type}\ndata: {data}\n\n".encode()
            if len(entries) == BATCH:
                continue
            if not follow or await request.is_disconnected():
                return
            await asyncio.sleep(IDLE_SECONDS)

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


routes = [Route("/events/stream", event_stream, methods=["GET"])]
