"""Finding what a command names: an id from a URL, and a state the caller
may see (another project's, or a deleted one, is "not found", as Nova and
Cinder answer)."""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from commands.application import Aggregate
from commands.messages import Caller
from domain.errors import NotFound


class Owned(Protocol):
    """A volume, snapshot or backup: a project's, with a status."""

    @property
    def project_id(self) -> str: ...
    @property
    def status(self) -> str: ...


V = TypeVar("V", bound=Owned)


def parse_id(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{name} {value} could not be found.") from None


def visible(aggregate: Aggregate[V], caller: Caller, name: str) -> V:
    """The aggregate's state, if the caller may see it."""
    state = aggregate.current
    if (state is None or state.status == "deleted"
            or (state.project_id != caller.project_id and not caller.is_admin)):
        raise NotFound(f"{name} {aggregate.id} could not be found.")
    return state
