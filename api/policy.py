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
