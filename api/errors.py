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


class NotAcceptable(errors.DomainError):
    """A microversion the API does not implement was asked for."""


TABLE[NotAcceptable] = (406, "notAcceptable")


class RequestTimeout(errors.DomainError):
    """The request's body did not arrive in time (api/body_limits.py)."""


TABLE[RequestTimeout] = (408, "requestTimeout")


class IdentityForbidden(errors.Forbidden):
    """A Keystone policy refusal: 403 in Keystone's body shape."""


def error_response(exc: errors.DomainError) -> JSONResponse:
    status, key = next(
        (v for cls, v in TABLE.items() if isinstance(exc, cls)), (400, "badRequest")
    )
    if status == 401:
        # Keystone's shape; clients only read "message" from any top-level object.
        body = {"error": {"code": 401, "title": "Unauthorized", "message": exc.message}}
        return JSONResponse(body, status_code=401,
                            headers={"WWW-Authenticate": "Keystone uri=\"/identity/v3\""})
    if isinstance(exc, IdentityForbidden):
        return JSONResponse({"error": {"code": 403, "title": "Forbidden", "message": exc.message}},
                            status_code=403)
    return JSONResponse({key: {"code": status, "message": exc.message}}, status_code=status)


# Neutron's error types, for the /network paths: the first row whose class
# matches and whose phrase is in the message names the type; the status is
# the class's (TABLE). A "{Thing} ... could not be found" is "{Thing}NotFound".
NEUTRON_TYPES: list[tuple[type[errors.DomainError], str, str]] = [
    (errors.Conflict, "ports still in use on the network", "NetworkInUse"),
    (errors.Conflict, "have an IP allocation from this subnet", "SubnetInUse"),
    (errors.Conflict, "No more IP addresses available", "IpAddressGenerationFailure"),
    (errors.Conflict, "IP address", "IpAddressInUse"),
    (errors.Conflict, "mac address", "MacAddressInUse"),
    (errors.Conflict, "still has ports", "RouterInUse"),
    (errors.Conflict, "", "Conflict"),
    (errors.InvalidState, "", "Conflict"),
    (errors.InvalidInput, "", "BadRequest"),
    (errors.Forbidden, "", "PolicyNotAuthorized"),
    (errors.TooLarge, "", "OverQuota"),
]
_NEUTRON_THINGS = ("Network", "Subnet", "Port", "Router", "Extension")


def neutron_type(exc: errors.DomainError) -> str:
    if isinstance(exc, errors.NotFound):
        thing = exc.message.split(" ", 1)[0]
        return f"{thing}NotFound" if thing in _NEUTRON_THINGS else "NotFound"
    return next((name for cls, phrase, name in NEUTRON_TYPES
                 if isinstance(exc, cls) and phrase in exc.message), "BadRequest")


def neutron_error_response(exc: errors.DomainError) -> JSONResponse:
    """A refusal in Neutron's shape: ``{"NeutronError": {"type", "message", "detail"}}``."""
    status, _ = next(
        (v for cls, v in TABLE.items() if isinstance(exc, cls)), (400, "badRequest")
    )
    if status == 401:
        return error_response(exc)
    body = {"NeutronError": {"type": neutron_type(exc), "message": exc.message, "detail": ""}}
    return JSONResponse(body, status_code=status)
