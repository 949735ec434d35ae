"""Bounds on a request body: its size, and how long it may take to arrive.

Without them one client holds the API: a 100 MB body is read and parsed
before anyone has looked at the token, and a client that starts a body and
stops sending keeps its request waiting forever. This middleware sits in
front of every route, so nothing is parsed before it has decided:

* a ``Content-Length`` above ``max_bytes`` is answered 413 at once, unread;
  a chunked body is counted as it arrives and refused (413) as soon as it
  passes ``max_bytes`` (oslo.middleware's ``max_request_body_size``);
* a body must arrive within ``timeout`` seconds, else 408.

A streamed upload (``unbounded`` says which requests are one: Glance's image
data, which has its own cap) is not size-bounded here, and may take as long
as it needs as long as it never pauses for ``timeout`` seconds. After a
413 the server reads and drops the rest of the body (for its keep-alive
timeout at most), so the client, still sending, gets to read the answer; a
408 closes the connection at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import RequestTimeout, error_response
from domain.errors import TooLarge

TOO_LARGE = "Request is too large."


def _timed_out(seconds: float) -> RequestTimeout:
    return RequestTimeout(f"The request body did not arrive within {seconds:g} seconds.")


class BodyLimits:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float,
                 unbounded: Callable[[Scope], bool]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.unbounded = unbounded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streamed = self.unbounded(scope)
        if not streamed and self._declared(scope) > self.max_bytes:
            await error_response(TooLarge(TOO_LARGE))(scope, receive, send)
            return
        timed_out = False
        complete = False
        received = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout

        async def limited() -> Message:
            nonlocal timed_out, complete, received
            if complete:
                return await receive()
            wait = self.timeout if streamed else max(deadline - loop.time(), 0.0)
            try:
                message = await asyncio.wait_for(receive(), wait)
            except TimeoutError:
                timed_out = True
                raise _timed_out(self.timeout) from None
            if message["type"] != "http.request":
                complete = True
                return message
            received += len(message.get("body", b""))
            if not streamed and received > self.max_bytes:
                raise TooLarge(TOO_LARGE)
            complete = not message.get("more_body", False)
            return message

        async def closing(message: Message) -> None:
            if timed_out and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, limited, closing)

    @staticmethod
    def _declared(scope: Scope) -> int:
        for key, value in scope["headers"]:
            if key == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0
