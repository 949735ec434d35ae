"""Idempotency keys: which request a client's ``Idempotency-Key`` stands for.

A key belongs to the user who sends it. Its first use records the request
it was used for (the route, a digest of the body, and the request id derived
from both), in the same transaction as that request's own events; a later
use for the same request is a retry (the command finds its request id in the
aggregate's history and answers as the first time did), and a use for
anything else is refused, naming the key. One aggregate per (user, key), so
two racing first uses of one key conflict at version 1 and one of them
decides again, seeing the other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidState

NAMESPACE = uuid.UUID("5e0c9b7a-3f21-4d8e-a6b4-9c1d2e3f4a5b")


def key_id(user_id: str, key: str) -> uuid.UUID:
    """The aggregate of ``key`` as ``user_id`` uses it."""
    return uuid.uuid5(NAMESPACE, msgspec.json.encode([user_id, key]).decode())


def request_id(user_id: str, key: str, route: str, body_digest: str) -> str:
    """The request id a key stands for on this route with this body."""
    name = msgspec.json.encode([user_id, key, route, body_digest]).decode()
    return f"req-{uuid.uuid5(NAMESPACE, name)}"


class IdempotencyEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "idempotency_key"
    user_id: str


class IdempotencyKeyUsed(IdempotencyEvent, frozen=True, kw_only=True):
    """The key's first use: the request it stands for from now on."""

    route: str  # method and path, e.g. "POST /compute/v2.1/servers"
    body_digest: str  # sha256 hex of the raw body ("" for a streamed upload)
    request_id: str


AnyIdempotencyEvent = IdempotencyKeyUsed


class IdempotencyKey(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    route: str
    body_digest: str
    request_id: str
    first_used_at: datetime


def evolve(state: IdempotencyKey | None, event: Event, _aggregate_id: str) -> IdempotencyKey:
    if not isinstance(event, AnyIdempotencyEvent):
        raise UnknownEvent(event, "idempotency_key")
    match event:
        case IdempotencyKeyUsed():
            return state or IdempotencyKey(user_id=event.user_id, route=event.route,
                                           body_digest=event.body_digest,
                                           request_id=event.request_id, first_used_at=event.at)
        case _:
            unknown_event(event, "idempotency_key")


class Use(msgspec.Struct, frozen=True, kw_only=True):
    """One request's use of a key."""

    key: str
    user_id: str
    route: str
    body_digest: str

    @property
    def request_id(self) -> str:
        return request_id(self.user_id, self.key, self.route, self.body_digest)


def check(state: IdempotencyKey | None, use: Use) -> None:
    """Refuse (409) a key already used for a different request."""
    if state is not None and state.request_id != use.request_id:
        raise InvalidState(f"Idempotency-Key '{use.key}' was already used for a "
                           "different request")


def record(state: IdempotencyKey | None, use: Use, at: datetime) -> IdempotencyKeyUsed | None:
    """The event of the key's first use; None for a retry; 409 for another request."""
    check(state, use)
    if state is not None:
        return None
    return IdempotencyKeyUsed(at=at, user_id=use.user_id, route=use.route,
                              body_digest=use.body_digest, request_id=use.request_id)
