"""Neutron's error bodies for every /network route, in one place.

Neutron answers ``{"NeutronError": {"type", "message", "detail"}}``, where
``type`` names the exception (``FloatingIPNotFound``, ``OverQuota``,
``PolicyNotAuthorized``, ...); the openstack clients show ``message``. The
status of a domain error is the one every service uses (api/errors.py); the
app hands errors under /network here (api/app.py).
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from api.errors import status_and_key
from domain import errors
from domain.quota import NetworkOverQuota

PREFIX = "/network/"

# A not-found message's subject -> Neutron's exception (longest subject first).
_NOT_FOUND = (("Floating IP", "FloatingIPNotFound"),
              ("Security group rule", "SecurityGroupRuleNotFound"),
              ("Security group", "SecurityGroupNotFound"), ("Network", "NetworkNotFound"),
              ("Subnet", "SubnetNotFound"), ("Port", "PortNotFound"),
              ("Router", "RouterNotFound"), ("Extension", "ExtensionNotFound"))
# A conflict's phrase -> Neutron's exception (the first that the message holds).
_CONFLICTS = (("ports still in use on the network", "NetworkInUse"),
              ("have an IP allocation from this subnet", "SubnetInUse"),
              ("No more IP addresses available", "IpAddressGenerationFailure"),
              ("The IP address", "IpAddressInUse"), ("The mac address", "MacAddressInUse"),
              ("still has ports", "RouterInUse"))
_BY_STATUS = {400: "BadRequest", 401: "Unauthorized", 403: "PolicyNotAuthorized",
              404: "NotFound", 405: "HTTPMethodNotAllowed", 408: "RequestTimeout",
              409: "Conflict", 413: "OverLimit", 503: "ServiceUnavailable"}


def neutron_body(status: int, message: str, kind: str | None = None) -> JSONResponse:
    return JSONResponse({"NeutronError": {"type": kind or _BY_STATUS.get(status, "HTTPError"),
                                          "message": message, "detail": ""}},
                        status_code=status)


def _kind(exc: errors.DomainError, status: int) -> str | None:
    if isinstance(exc, NetworkOverQuota):
        return "OverQuota"
    if status == 404:
        return next((kind for subject, kind in _NOT_FOUND
                     if exc.message.startswith(subject)), None)
    if status == 409:
        found = next((kind for phrase, kind in _CONFLICTS if phrase in exc.message), None)
        if found is not None:
            return found
    if status == 409 and " in use" in exc.message:
        return "SecurityGroupInUse" if exc.message.startswith("Security Group") else "InUse"
    return None


def neutron_error(exc: errors.DomainError) -> JSONResponse:
    status, _ = status_and_key(exc)
    return neutron_body(status, exc.message, _kind(exc, status))
