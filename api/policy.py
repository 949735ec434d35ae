"""Who may do what: the checks the API makes before a command or query."""

from __future__ import annotations

from api.errors import IdentityForbidden
from api.tokens import Claims
from domain.errors import Forbidden


def require_admin(who: Claims, action: str) -> None:
    """Admin-only APIs answer 403 to everyone else, in Nova's words."""
    if not who.caller.is_admin:
        raise Forbidden(f"Policy doesn't allow {action} to be performed.")


def require_identity_admin(who: Claims, action: str) -> None:
    """Keystone's admin-only APIs: 403 in Keystone's words and body shape."""
    if not who.caller.is_admin:
        raise IdentityForbidden(
            f"You are not authorized to perform the requested action: identity:{action}.")


NETWORK_ADMIN_ROLES = ("admin", "netadmin")


def require_netadmin(who: Claims, action: str) -> None:
    """Allocating, associating and releasing floating IPs and making or removing
    security groups and their rules is the seed's ``netadmin`` role's (or an
    admin's) within the token's project; anyone else is refused with a 403 in
    Neutron's words (the /network routes word every error as Neutron does)."""
    if not any(role in who.roles for role in NETWORK_ADMIN_ROLES):
        raise Forbidden(f"(rule:{action}) is disallowed by policy")
