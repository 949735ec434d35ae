"""How an event is named and serialised wherever it is stored or sent.

Every event class of every aggregate is listed in ``AnyEvent``. Its topic
(``module:ClassName``, e.g. ``domain.events:InstancePaused``) is what the
event store records and what a reader resolves back to the class; the bytes
are msgspec JSON. Classes are never renamed or moved, so topics stay valid.
"""

from __future__ import annotations

import typing
from functools import cache

import msgspec

from domain import (
    backup,
    events,
    flavor,
    host,
    idempotency,
    identity,
    image,
    keypair,
    quota,
    server_disks,
    snapshot,
    volume,
)
from domain.base import Event

AnyEvent = (
    events.AnyInstanceEvent | identity.AnyIdentityEvent
    | flavor.AnyFlavorEvent | image.AnyImageEvent | keypair.AnyKeypairEvent
    | quota.AnyQuotaEvent | host.AnyHostEvent | volume.AnyVolumeEvent
    | server_disks.AnyDiskEvent | snapshot.AnySnapshotEvent
    | backup.AnyBackupEvent | idempotency.AnyIdempotencyEvent
)

EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in typing.get_args(AnyEvent)}

_encoder = msgspec.json.Encoder()


def topic_of(event_type: type[Event]) -> str:
    return f"{event_type.__module__}:{event_type.__name__}"


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


@cache
def _decoder(topic: str) -> msgspec.json.Decoder[Event]:
    name = topic.partition(":")[2]
    cls = EVENT_TYPES.get(name)
    if cls is None or topic_of(cls) != topic:
        raise ValueError(f"unknown event topic {topic!r}")
    return msgspec.json.Decoder(cls)


def decode(topic: str, state: bytes) -> Event:
    """The domain event stored under ``topic``."""
    return _decoder(topic).decode(state)
