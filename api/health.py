"""Liveness and readiness for load balancers, supervisors and operators.

``/healthz`` answers 200 while the process serves requests. ``/readyz``
answers 200 while the views it serves are within ``READY_LAG`` log positions
of the head and none is stuck, else 503 with why: each stuck view with the
position it stopped at, the event's type and the database's reason
(projections/faults.py), and the lag. Its ``parts`` list says where every
follower of the log stands (projections/progress.py): each view, the relay,
the ingester and each host's consumer, with its position, its lag in events
and in seconds, and whether it is stuck and why (an event it cannot apply,
or an oldest waiting event older than ``stuck_after_seconds``; a host's,
also when the host has not reported for ``service_down_time``). Only the
views decide readiness, as only they are what this process answers from:
taking an API process out of a load balancer does not help a stalled relay
or a silent host, so those are reported, not acted on.

Neither route needs a token, so neither says more than that (no aggregate
ids, no rows: part names are views' and hosts' names); the log and the
view_faults table hold the rest. A command-only process serves no views: its
/readyz says so and answers 200.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.context import Context, context
from projections.progress import Part, Progress, heartbeats, log_progress, with_heartbeats

log = logging.getLogger(__name__)

READY_LAG = 1000  # log positions: one projector batch behind is still "caught up"
CONSUMERS_TIMEOUT = 3.0  # seconds JetStream has to say where the consumers stand


async def parts_of(ctx: Context) -> tuple[Progress | None, list[Part]]:
    """The log's progress (when this process serves the views) and every
    part: the views and the relay, then the consumers JetStream knows of
    (none when NATS does not answer: the views are still reported), a
    host's stuck while it does not report."""
    stuck_after = ctx.settings.stuck_after_seconds
    progress = await log_progress(ctx.pool, stuck_after) if ctx.pool is not None else None
    parts = list(progress.parts) if progress is not None else []
    if ctx.consumer_parts is not None:
        try:
            consumers = await asyncio.wait_for(ctx.consumer_parts(stuck_after),
                                               CONSUMERS_TIMEOUT)
        except Exception as error:  # NATS away: what the database says still stands
            log.warning("no consumer states from JetStream: %s", error)
            consumers = []
        if ctx.pool is not None:
            consumers = with_heartbeats(consumers, await heartbeats(ctx.pool),
                                        ctx.settings.service_down_time)
        parts += consumers
    return progress, parts


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    progress, parts = await parts_of(context(request))
    shown = [msgspec.to_builtins(p) for p in parts]
    if progress is None:
        return JSONResponse({"status": "ready", "views": "not served by this process",
                             "parts": shown})
    stuck: list[dict[str, Any]] = [
        {"view": f.view, "position": f.position, "event_type": f.event_type,
         "error": f.error, "since": f.at.isoformat() if f.at else None}
        for f in progress.stuck
    ]
    lag = max(0, progress.head - progress.views)
    ready = (not stuck and lag <= READY_LAG
             and not any(p.stuck for p in parts if p.kind == "view"))
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "position": progress.views,
         "head": progress.head, "lag": lag, "stuck": stuck, "parts": shown},
        status_code=200 if ready else 503,
    )


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
