"""Refuses a request whose path or query string holds a NUL character.

PostgreSQL text cannot hold U+0000, so a NUL in a path parameter (a
keypair's name, a host's, an image id) or in a query filter fails the
query that uses it (psycopg's DataError: a 500). No id, name or filter that
nimbus keeps can contain one, so such a request is answered here, before
any route sees it: 404 for a path (nothing by that name can exist), 400 for
a query string. Routes then take path and query text as plain strings.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from domain.errors import InvalidInput, NotFound


class RequestTarget:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                await error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(scope: Scope) -> NotFound | InvalidInput | None:
        if "\x00" in scope["path"]:
            return NotFound("The resource could not be found.")
        if "\x00" in unquote_plus(scope.get("query_string", b"").decode("latin-1")):
            return InvalidInput("Invalid input for query parameters: the NUL character "
                                "(U+0000) is not allowed.")
        return None
