"""Stores domain events with msgspec instead of eventsourcing's transcoder.

eventsourcing expects events that carry ``originator_id`` and
``originator_version``; our domain events are plain frozen Structs, so a
``Recorded`` envelope adds those two, and the ``MsgspecMapper`` writes the
bare event with ``domain.codec`` (a transcoder alone would lose the types).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from domain import codec
from domain.base import Event


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
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=codec.topic_of(type(domain_event.event)),
            state=codec.encode(domain_event.event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Recorded:
        originator_id = stored_event.originator_id
        return Recorded(
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            stored_event.originator_version,
            codec.decode(stored_event.topic, stored_event.state),
        )
