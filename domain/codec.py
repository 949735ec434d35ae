"""How an event is named and serialised wherever it is stored or sent.

Every event class of every aggregate kind is in ``AnyEvent``, the union of
the kinds' events that ``domain.registry`` declares. Its topic
(``module:ClassName``, e.g. ``domain.events:InstancePaused``) is what the
event store records and what a reader resolves back to the class; the bytes
are msgspec JSON. Classes are never renamed or moved, so topics stay valid.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import TYPE_CHECKING

import msgspec

from domain.base import Event
from domain.registry import EVENT_TYPES

__all__ = ["EVENT_TYPES", "AnyEvent", "decode", "encode", "event_class", "topic_of"]

if TYPE_CHECKING:
    # the union is built from the registry at run time (msgspec decodes by
    # its tags); to mypy it is any event, which readers narrow by type
    AnyEvent: typing.TypeAlias = Event
else:
    AnyEvent = typing.Union[tuple(EVENT_TYPES.values())]  # noqa: UP007

_encoder = msgspec.json.Encoder()


def topic_of(event_type: type[Event]) -> str:
    return f"{event_type.__module__}:{event_type.__name__}"


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


@cache
def event_class(topic: str) -> type[Event]:
    """The event class stored under ``topic``; ValueError for an unknown one."""
    cls = EVENT_TYPES.get(topic.partition(":")[2])
    if cls is None or topic_of(cls) != topic:
        raise ValueError(f"unknown event topic {topic!r}")
    return cls


@cache
def _decoder(topic: str) -> msgspec.json.Decoder[Event]:
    return msgspec.json.Decoder(event_class(topic))


def decode(topic: str, state: bytes) -> Event:
    """The domain event stored under ``topic``."""
    return _decoder(topic).decode(state)
