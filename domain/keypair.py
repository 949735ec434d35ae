"""Keypairs (Nova os-keypairs): per-user, named, holding a public key only.

The aggregate id is derived from the owner and the name, so a user can never
hold two keypairs of one name, even when two creates race. The private key of
a generated pair is returned once by the command and never stored. Parsing a
key is the write side's job (it needs a crypto library); the name rules and
Nova's fingerprint (MD5 of the key blob, colon-separated hex) live here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import string
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound

NAMESPACE = uuid.UUID("c7e1b0a4-3d2f-4e8a-9b6c-5d4e3f2a1b09")
SAFE_CHARS = frozenset("_- " + string.digits + string.ascii_letters)
KEY_TYPES = frozenset({"ssh", "x509"})


def aggregate_id(user_id: str, name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{user_id}:{name}")


class KeypairEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "keypair"
    request_id: str
    user_id: str
    name: str


class KeypairCreated(KeypairEvent, frozen=True, kw_only=True):
    public_key: str
    fingerprint: str
    key_type: str = "ssh"
    generated: bool = False  # the server generated it (and returned the private key once)


class KeypairDeleted(KeypairEvent, frozen=True, kw_only=True):
    pass


AnyKeypairEvent = KeypairCreated | KeypairDeleted


class KeypairState(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    name: str
    public_key: str
    fingerprint: str
    type: str
    created_at: datetime
    deleted: bool = False


def evolve(state: KeypairState | None, event: Event, _id: str) -> KeypairState:
    if not isinstance(event, AnyKeypairEvent):
        raise UnknownEvent(event, "keypair")
    if isinstance(event, KeypairCreated):
        return KeypairState(user_id=event.user_id, name=event.name, public_key=event.public_key,
                            fingerprint=event.fingerprint, type=event.key_type,
                            created_at=event.at)
    assert state is not None, f"{type(event).__name__} before KeypairCreated"
    match event:
        case KeypairDeleted():
            return msgspec.structs.replace(state, deleted=True)
        case _:
            unknown_event(event, "keypair")


def invalid(reason: str) -> InvalidInput:
    return InvalidInput(f"Keypair data is invalid: {reason}")


def validate_name(name: str) -> None:
    """Nova's rules: 1-255 characters of letters, digits, '_', '-' and space."""
    if not 1 <= len(name) <= 255:
        raise invalid("Keypair name must be string and between 1 and 255 characters long")
    if any(c not in SAFE_CHARS for c in name):
        raise invalid("Keypair name contains unsafe characters")


def fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key line: MD5 of the decoded blob."""
    parts = public_key.split()
    if len(parts) < 2:
        raise invalid("failed to generate fingerprint")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise invalid("failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def create(state: KeypairState | None, *, request_id: str, user_id: str, name: str,
           public_key: str, key_type: str = "ssh", generated: bool = False,
           at: datetime) -> KeypairCreated:
    """A new keypair of ``user_id`` with Nova's fingerprint of ``public_key``
    (parsed by the write side); refused when the name is taken."""
    validate_name(name)
    if key_type not in KEY_TYPES:
        raise InvalidInput(f"Invalid input for field/attribute type: {key_type!r}")
    if state is not None and not state.deleted:
        raise InvalidState(f"Key pair '{name}' already exists.")
    return KeypairCreated(at=at, request_id=request_id, user_id=user_id, name=name,
                          public_key=public_key, fingerprint=fingerprint(public_key),
                          key_type=key_type, generated=generated)


def existing(state: KeypairState | None, name: str, user_id: str) -> KeypairState:
    if state is None or state.deleted:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return state


def delete(state: KeypairState | None, name: str, user_id: str, *, request_id: str,
           at: datetime) -> KeypairDeleted:
    existing(state, name, user_id)
    return KeypairDeleted(at=at, request_id=request_id, user_id=user_id, name=name)
