"""Finding what a command names: an id from a URL, and an aggregate the
caller may see (another project's, or a deleted one, is "not found", as
Nova and Cinder answer)."""

from __future__ import annotations

import uuid

from commands.application import Aggregate, NimbusApplication
from commands.messages import Caller
from domain.errors import NotFound


def parse_id(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{name} {value} could not be found.") from None


def visible(app: NimbusApplication, ident: uuid.UUID, caller: Caller, kind: type,
            name: str) -> Aggregate:
    """The aggregate of ``kind`` (a state struct with ``status`` and
    ``project_id``) that the caller may see."""
    aggregate = app.load(ident)
    state = aggregate.state if aggregate else None
    if (aggregate is None or not isinstance(state, kind)
            or getattr(state, "status", None) == "deleted"
            or (getattr(state, "project_id", None) != caller.project_id
                and not caller.is_admin)):
        raise NotFound(f"{name} {ident} could not be found.")
    return aggregate
