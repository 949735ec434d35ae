"""Compute API microversions: parse what the client asks for, echo what was used.

A client names a version with ``OpenStack-API-Version: compute X.Y`` (or the
legacy ``X-OpenStack-Nova-API-Version: X.Y``; the first wins when both are
sent), or ``latest`` for MAX; none means 2.1. A version outside [MIN, MAX]
is refused with 406 and a malformed one with 400, in Nova's words, before
any route runs (``Microversions``, the middleware of every ``/compute/v2.1``
path); every answer of such a path names the version it was served at.

MAX is the highest version whose every change to the resources nimbus
serves is honoured; docs/compatibility.md lists what each step changes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Version = tuple[int, int]

MIN: Version = (2, 1)
MAX: Version = (2, 30)

PREFIX = "/compute/v2.1"  # the microversioned paths; the /compute root document is not
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")
_STATE_KEY = "compute_microversion"


class BadVersion(Exception):
    """A version header nimbus cannot serve: ``status`` 400 or 406."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def body(self) -> dict[str, Any]:
        key = "notAcceptable" if self.status == 406 else "badRequest"
        return {key: {"code": self.status, "message": self.message}}


def text(v: Version) -> str:
    return f"{v[0]}.{v[1]}"


def _asked(headers: Any) -> str | None:
    """The raw version the headers ask for, if any (the compute entry of
    ``OpenStack-API-Version``, else the legacy header)."""
    for entry in (headers.get("openstack-api-version") or "").split(","):
        service, _, value = entry.strip().partition(" ")
        if service.lower() == "compute":
            return value.strip()
    legacy = headers.get("x-openstack-nova-api-version")
    return None if legacy is None else legacy.strip()


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
    if found is not None:
        return found  # type: ignore[no-any-return]
    try:
        return parse(request.headers)
    except BadVersion:
        return MIN  # only reached outside the middleware, which has refused it already


def at_least(request: Request, minor: int) -> bool:
    """Whether the request is served at 2.``minor`` or later."""
    return requested(request) >= (2, minor)


def headers(version: Version) -> dict[str, str]:
    return {
        "OpenStack-API-Version": f"compute {text(version)}",
        "X-OpenStack-Nova-API-Version": text(version),
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }


def answer(body: Any, request: Request, status: int = 200) -> Response:
    """A compute query's JSON answer, naming the microversion it was served at."""
    return JSONResponse(body, status_code=status, headers=headers(requested(request)))


class Microversions:
    """Parses the version of every ``/compute/v2.1`` request (refusing a bad
    one before any route runs) and names it on every answer, errors included."""

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
                                    (b"content-length", str(len(body)).encode())]})
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
