"""Every answer names a request id, as OpenStack services do, and is logged
and counted once (api/metrics.py).

The middleware binds a log context for each request (domain/log_context.py)
with a fresh id; a command without an Idempotency-Key takes that id
(api/idempotency.py), one with a key the id the key stands for, and the
route names it in ``x-openstack-request-id``. Whatever id the answer names is
the one logged: the access line (method, path, status, duration in ms, and
the log position a write reached) and every line logged while the request
ran, with the caller's user and project once its token was checked
(api/context.py).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.consistency import POSITION_HEADER
from api.idempotency import new_request_id
from domain import log_context

HEADER = b"x-openstack-request-id"
_POSITION = POSITION_HEADER.lower().encode()

log = logging.getLogger("api.access")


class RequestLog:
    """Names the request id on every answer, logs one access line per
    request and counts it with its time (the metrics need the route the router
    recorded in the scope: no middleware inside this one copies the scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts

        with log_context.bound(request_id=new_request_id(), user_id="", project_id="",
                               position=None) as context:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = list(message.get("headers", []))
                    named = next((v for k, v in headers if k.lower() == HEADER), None)
                    if named is None:
                        headers.append((HEADER, context.request_id.encode()))
                    else:
                        context.request_id = named.decode("latin-1")
                    position = next((v for k, v in headers if k.lower() == _POSITION), None)
                    if position is not None and position.isdigit():
                        context.position = int(position)
                    message["headers"] = headers
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                metrics.count_request(scope, status, seconds)
                if log.isEnabledFor(logging.INFO):
                    took = round(seconds * 1000, 1)
                    method, path = scope.get("method", ""), scope.get("path", "")
                    log.info("%s %s %s %.1f ms", method, path, status, took,
                             extra={"method": method, "path": path, "status": status,
                                    "duration_ms": took})
