"""Stores domain events with msgspec instead of eventsourcing's transcoder.

eventsourcing expects events that carry ``originator_id`` and
``originator_version``; our domain events are plain frozen Structs, so a
``Recorded`` envelope adds those two, and the ``MsgspecMapper`` writes the
bare event with ``domain.codec`` (a transcoder alone would lose the types).

An event is at most ``MAX_EVENT_BYTES`` when encoded: the relay publishes
each one as a NATS message, and NATS refuses messages over its max_payload
(1 MiB by default), so a larger event, once stored, would stop the relay at
that position for good. It is refused before it is stored (413).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from domain import codec
from domain.base import Event
from domain.errors import TooLarge

MAX_EVENT_BYTES = 512 * 1024  # with room for the relay's envelope under 1 MiB


class Recorded(msgspec.Struct, frozen=True):
    """A domain event at its place in one aggregate's history."""

    originator_id: UUID
    originator_version: int
    event: Event


class _NoTranscoder(Transcoder):
    """The base Mapper wants a transcoder; this one is never called."""

    def encode(self, obj: object) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> object:
        raise NotImplementedError


class MsgspecMapper(Mapper[UUID]):
    def __init__(self) -> None:
        super().__init__(transcoder=_NoTranscoder())

    def to_stored_event(self, domain_event: object) -> StoredEvent:
        assert isinstance(domain_event, Recorded)
        state = codec.encode(domain_event.event)
        if len(state) > MAX_EVENT_BYTES:
            raise TooLarge(f"The request is too large to record: it takes {len(state)} bytes, "
                           f"and at most {MAX_EVENT_BYTES} are allowed.")
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=codec.topic_of(type(domain_event.event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Recorded:
        originator_id = stored_event.originator_id
        return Recorded(
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            stored_event.originator_version,
            codec.decode(stored_event.topic, stored_event.state),
        )
