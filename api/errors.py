"""The one table from domain errors to HTTP status and Nova-style bodies."""

from __future__ import annotations

from starlette.responses import JSONResponse

from commands.event_store import StoreUnavailable
from domain import errors

# error class -> (status, body key) as Nova words it
TABLE: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.InvalidInput: (400, "badRequest"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.Forbidden: (403, "forbidden"),
    errors.NotFound: (404, "itemNotFound"),
    errors.InvalidState: (409, "conflictingRequest"),
    errors.Conflict: (409, "conflictingRequest"),
    errors.TooLarge: (413, "overLimit"),
    StoreUnavailable: (503, "serviceUnavailable"),
}


class RequestTimeout(errors.DomainError):
    """The request's body did not arrive in time (api/body_limits.py)."""


TABLE[RequestTimeout] = (408, "requestTimeout")


class NotImplementedByHost(errors.DomainError):
    """What Nova's libvirt driver does not do either (host power, maintenance)."""


TABLE[NotImplementedByHost] = (501, "notImplemented")


class IdentityForbidden(errors.Forbidden):
    """A Keystone policy refusal: 403 in Keystone's body shape."""


def status_and_key(exc: errors.DomainError) -> tuple[int, str]:
    """The HTTP status of a domain error and Nova's body key for it."""
    return next((v for cls, v in TABLE.items() if isinstance(exc, cls)), (400, "badRequest"))


def error_response(exc: errors.DomainError) -> JSONResponse:
    status, key = status_and_key(exc)
    if status == 401:
        # Keystone's shape; clients only read "message" from any top-level object.
        body = {"error": {"code": 401, "title": "Unauthorized", "message": exc.message}}
        return JSONResponse(body, status_code=401,
                            headers={"WWW-Authenticate": "Keystone uri=\"/identity/v3\""})
    if isinstance(exc, IdentityForbidden):
        return JSONResponse({"error": {"code": 403, "title": "Forbidden", "message": exc.message}},
                            status_code=403)
    return JSONResponse({key: {"code": status, "message": exc.message}}, status_code=status)
