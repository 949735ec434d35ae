"""Liveness and readiness for load balancers, supervisors and operators.

``/healthz`` answers 200 while the process serves requests. ``/readyz``
answers 200 while the views it serves are within ``READY_LAG`` log positions
of the head and none is stuck, else 503 with why: each stuck view with the
position it stopped at, the event's type and the database's reason
(projections/faults.py), and the lag. Neither needs a token, so neither says
more than that (no aggregate ids, no rows); the log and the view_faults
table hold the rest. A command-only process serves no views: its /readyz
says so and answers 200.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.context import context
from projections.queries import views_health

READY_LAG = 1000  # log positions: one projector batch behind is still "caught up"


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    pool = context(request).pool
    if pool is None:
        return JSONResponse({"status": "ready", "views": "not served by this process"})
    health = await views_health(pool)
    stuck: list[dict[str, Any]] = [
        {"view": f.view, "position": f.position, "event_type": f.event_type,
         "error": f.error, "since": f.at.isoformat() if f.at else None}
        for f in health.stuck
    ]
    ready = not stuck and health.lag <= READY_LAG
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "position": health.position,
         "head": health.head, "lag": health.lag, "stuck": stuck},
        status_code=200 if ready else 503,
    )


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
