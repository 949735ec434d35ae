"""API microversions: parse what the client asks for, echo what was used.

A client names a version with ``OpenStack-API-Version: <service> X.Y`` (for
compute also the legacy ``X-OpenStack-Nova-API-Version: X.Y``; the first wins
when both are sent), or ``latest`` for the maximum; none means the minimum.
A version outside [minimum, maximum] is refused with 406 and a malformed one
with 400, in Nova's and Cinder's words, before any route runs (``Versioned``,
the middleware of every path under a service's prefix); every answer of such
a path names the version it was served at.

Each service's maximum is the highest version whose every change to the
resources nimbus serves is honoured; docs/compatibility.md lists what each
compute step changes. This module's functions are compute's; the volume
API's are ``api.volume.microversion``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Version = tuple[int, int]

_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


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


class Service:
    """One API's microversions: its name in the header, its range, the paths
    they apply to, and how its answers name the version."""

    def __init__(self, name: str, minimum: Version, maximum: Version, prefix: str, *,
                 legacy_header: str | None = None, name_refusals: bool = False) -> None:
        self.name, self.minimum, self.maximum, self.prefix = name, minimum, maximum, prefix
        self.legacy_header = legacy_header
        self.name_refusals = name_refusals  # a refused version's answer names the minimum
        self.state_key = f"{name}_microversion"

    def asked(self, headers: Any) -> str | None:
        """The raw version the headers ask for, if any."""
        for entry in (headers.get("openstack-api-version") or "").split(","):
            service, _, value = entry.strip().partition(" ")
            if service.lower() == self.name:
                return value.strip()
        legacy = headers.get(self.legacy_header) if self.legacy_header else None
        return None if legacy is None else legacy.strip()

    def parse(self, headers: Any) -> Version:
        """The version ``headers`` ask for, or ``BadVersion``."""
        raw = self.asked(headers)
        if raw is None:
            return self.minimum
        if raw.lower() == "latest":
            return self.maximum
        match = _FORMAT.match(raw)
        if match is None:
            raise BadVersion(400, f"API Version String {raw} is of invalid format. "
                                  "Must be of format MajorNum.MinorNum.")
        version = (int(match[1]), int(match[2]))
        if not self.minimum <= version <= self.maximum:
            raise BadVersion(406, f"Version {raw} is not supported by the API. Minimum is "
                                  f"{text(self.minimum)} and maximum is {text(self.maximum)}.")
        return version

    def requested(self, request: Request) -> Version:
        """The version this request is served at (parsed once by the middleware)."""
        found = request.scope.get("state", {}).get(self.state_key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        try:
            return self.parse(request.headers)
        except BadVersion:
            return self.minimum  # only reached outside the middleware, which refused it

    def at_least(self, request: Request, minor: int) -> bool:
        """Whether the request is served at <major>.``minor`` or later."""
        return self.requested(request) >= (self.minimum[0], minor)

    def headers(self, version: Version) -> dict[str, str]:
        named = {"OpenStack-API-Version": f"{self.name} {text(version)}"}
        if self.legacy_header:
            named[self.legacy_header] = text(version)
        named["Vary"] = ", ".join(["OpenStack-API-Version",
                                   *([self.legacy_header] if self.legacy_header else [])])
        return named

    def serves(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


class Versioned:
    """Parses the version of every request under ``service``'s prefix
    (refusing a bad one before any route runs) and names it on every answer,
    errors included."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.service
        if scope["type"] != "http" or not service.serves(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        try:
            version = service.parse(Request(scope).headers)
        except BadVersion as bad:
            body = json.dumps(bad.body()).encode()
            named = service.headers(service.minimum) if service.name_refusals else {}
            await send({"type": "http.response.start", "status": bad.status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    *((k.lower().encode(), v.encode())
                                      for k, v in named.items())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[service.state_key] = version
        extra = [(k.lower().encode(), v.encode()) for k, v in service.headers(version).items()]

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_named)


# the compute API's (the /compute root document is not microversioned)
COMPUTE = Service("compute", (2, 1), (2, 30), "/compute/v2.1",
                  legacy_header="X-OpenStack-Nova-API-Version")
MIN, MAX, PREFIX = COMPUTE.minimum, COMPUTE.maximum, COMPUTE.prefix
parse, requested, at_least, headers = (COMPUTE.parse, COMPUTE.requested, COMPUTE.at_least,
                                       COMPUTE.headers)


def answer(body: Any, request: Request, status: int = 200) -> Response:
    """A compute query's JSON answer, naming the microversion it was served at."""
    return JSONResponse(body, status_code=status, headers=headers(requested(request)))
