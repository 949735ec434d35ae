"""Neutron under ``/networking`` too, the root devstack publishes for it.

Every Neutron route is declared under ``/network`` (api/network/); the
catalog advertises ``/networking`` as devstack does, and this middleware
serves a request there as the same request under ``/network``, before any
route or error handler sees its path.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

PUBLISHED = "/networking"
DECLARED = "/network"


def declared_path(path: str) -> str | None:
    """The ``/network`` path a ``/networking`` one stands for; None for any other."""
    if path == PUBLISHED or path.startswith(PUBLISHED + "/"):
        return DECLARED + path[len(PUBLISHED):]
    return None


class NetworkingRoot:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = declared_path(scope["path"])
            if path is not None:
                raw = scope.get("raw_path")
                scope = {**scope, "path": path}
                if isinstance(raw, bytes) and raw.startswith(PUBLISHED.encode()):
                    scope["raw_path"] = DECLARED.encode() + raw[len(PUBLISHED):]
        await self.app(scope, receive, send)
