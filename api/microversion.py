"""Compute API microversions: parse what the client asks for, echo what was used.

nimbus implements the 2.1 base behaviour and advertises exactly that; a
request for a version outside [MIN, MAX] is refused with 406, as Nova does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.errors import NotAcceptable

MIN = (2, 1)
MAX = (2, 1)


def text(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def requested(request: Request) -> tuple[int, int]:
    raw = request.headers.get("x-openstack-nova-api-version")
    header = request.headers.get("openstack-api-version", "")
    if header.lower().startswith("compute "):
        raw = header.split(None, 1)[1]
    if raw is None:
        return MIN
    raw = raw.strip()
    if raw.lower() == "latest":
        return MAX
    try:
        major, minor = (int(p) for p in raw.split("."))
    except ValueError:
        raise NotAcceptable(f"Invalid API version request string {raw}") from None
    if not MIN <= (major, minor) <= MAX:
        raise NotAcceptable(
            f"Version {raw} is not supported by the API. "
            f"Minimum is {text(MIN)} and maximum is {text(MAX)}."
        )
    return major, minor


def headers(version: tuple[int, int]) -> dict[str, str]:
    return {
        "OpenStack-API-Version": f"compute {text(version)}",
        "X-OpenStack-Nova-API-Version": text(version),
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }


def answer(body: Any, request: Request, status: int = 200) -> Response:
    """A compute query's JSON answer, naming the microversion it was served at."""
    return JSONResponse(body, status_code=status, headers=headers(requested(request)))
