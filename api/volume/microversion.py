"""Block-storage API microversions: what a ``/volume/v3`` request asks for,
and the version every answer names.

A client names a version with ``OpenStack-API-Version: volume 3.Y`` (or
``latest`` for MAX); none means 3.0, as in Cinder. A version outside
[MIN, MAX] is refused with 406 and a malformed one with 400, in Cinder's
words, before any route runs; every answer of a ``/volume/v3`` path, errors
included, carries ``OpenStack-API-Version: volume 3.Y`` (tempest checks it).

MAX is the highest version whose every change to the resources nimbus serves
is honoured: 3.0 until a later step's changes are served.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.microversion import BadVersion, Version, text

MIN: Version = (3, 0)
MAX: Version = (3, 0)

PREFIX = "/volume/v3"
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")
_STATE_KEY = "volume_microversion"


def _asked(headers: Any) -> str | None:
    for entry in (headers.get("openstack-api-version") or "").split(","):
        service, _, value = entry.strip().partition(" ")
        if service.lower() == "volume":
            return value.strip()
    return None


def parse(headers: Any) -> Version:
    """The version ``headers`` ask for, or ``BadVersion``."""
    raw = _asked(headers)
    if raw is None:
        return MIN
    if raw.lower() == "latest":
        return MAX
    match = _FORMAT.match(raw)
    if match is None:
        raise BadVersion(400, f"API Version String {raw} is of invalid format. "
                              "Must be of format MajorNum.MinorNum.")
    version = (int(match[1]), int(match[2]))
    if not MIN <= version <= MAX:
        raise BadVersion(406, f"Version {raw} is not supported by the API. "
                              f"Minimum is {text(MIN)} and maximum is {text(MAX)}.")
    return version


def requested(request: Request) -> Version:
    """The version this request is served at (parsed once by the middleware)."""
    found = request.scope.get("state", {}).get(_STATE_KEY)
    return found if found is not None else MIN


def at_least(request: Request, minor: int) -> bool:
    """Whether the request is served at 3.``minor`` or later."""
    return requested(request) >= (3, minor)


def headers(version: Version) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {text(version)}",
            "Vary": "OpenStack-API-Version"}


class VolumeMicroversions:
    """Parses the version of every ``/volume/v3`` request (refusing a bad one
    before any route runs) and names it on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        try:
            version = parse(Request(scope).headers)
        except BadVersion as bad:
            body = json.dumps(bad.body()).encode()
            await send({"type": "http.response.start", "status": bad.status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    *((k.lower().encode(), v.encode())
                                      for k, v in headers(MIN).items())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[_STATE_KEY] = version
        extra = [(k.lower().encode(), v.encode()) for k, v in headers(version).items()]

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_named)
