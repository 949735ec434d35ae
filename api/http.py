"""The small pieces every resource module shares, each in one place.

The command services a write route calls, the one UUID parser (an id that
is not a UUID names nothing: 404 in the resource's words), and the two
pieces of every Nova body: timestamps and self/bookmark links. The body
decoder is api/bodies.py, the log position header api/consistency.py and
the request id api/idempotency.py; nothing here repeats them.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from starlette.requests import Request

from api.context import context
from commands.services import Commands
from domain.errors import NotFound


def commands(request: Request) -> Commands:
    """The command services (only a command process has them)."""
    found = context(request).commands
    assert found is not None, "command routes need the command services"
    return found


def uuid_or_none(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


def uuid_or_404(raw: str, kind: str) -> UUID:
    """``raw`` as a UUID, or 404 "{kind} {raw} could not be found."."""
    found = uuid_or_none(raw)
    if found is None:
        raise NotFound(f"{kind} {raw} could not be found.")
    return found


def iso(ts: datetime | None) -> str | None:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def links(base: str, kind: str, ident: str) -> list[dict[str, str]]:
    """Nova's self and bookmark links of ``/compute/v2.1/{kind}/{ident}``."""
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/{kind}/{ident}"},
        {"rel": "bookmark", "href": f"{base}/compute/{kind}/{ident}"},
    ]
