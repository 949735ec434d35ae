"""What every stored event has in common, whichever aggregate it belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Generic, Never, NoReturn, TypeVar

import msgspec


class Event(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """An immutable fact. ``aggregate`` names the kind of thing it happened to;
    the relay puts it in the NATS subject (``<prefix>.events.<aggregate>...``)."""

    aggregate: ClassVar[str] = ""
    # whether the request it carries (its ``request_id``) is done with it, so
    # that the same request again is a retry to answer as before; False for a
    # step the answer comes after, or a failure the request may be tried after
    answers: ClassVar[bool] = True
    at: datetime


E = TypeVar("E", bound=Event, covariant=True)


class Pending(msgspec.Struct, Generic[E], frozen=True, eq=False):
    """An operation a host still has to answer: the request's id, and the
    step it answers (the class of the event that asked the host); ``at``,
    when the host was asked (None where it is not known: a view's row), from
    which its deadline runs (``domain.deadlines``).

    Two are equal when they are the same operation: the same request and
    step, whenever it was asked."""

    request_id: str
    step: type[E]
    at: datetime | None = None

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Pending) and self.request_id == other.request_id
                and self.step is other.step)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.request_id, self.step))


class UnknownEvent(TypeError):
    """What every fold (and every worker's dispatch) raises for an event that
    is not one of its union: the one behaviour for an unknown event. A write
    meeting it fails; the projector records the view stuck at that event."""

    def __init__(self, event: object, kind: str) -> None:
        super().__init__(f"{type(event).__name__} is not an event a {kind} handles")


def unknown_event(event: Never, kind: str) -> NoReturn:
    """A ``match`` over an event union ends with ``case _: unknown_event(...)``:
    typed ``Never`` as ``typing.assert_never`` is, so once the match has a
    case for every event of its union mypy proves nothing reaches here (a
    case missing is a type error); at run time it raises ``UnknownEvent``."""
    raise UnknownEvent(event, kind)
