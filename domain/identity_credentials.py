"""Identity: a user's credentials (Keystone's ``/v3/credentials``, and the
EC2 access/secret pairs of ``/users/{u}/credentials/OS-EC2``, which Keystone
keeps as credentials of type ``ec2``).

A credential's blob is a secret: the API seals it before the command sees
it, so events and views hold only ciphertext (``sealed_blob``), never the
secret itself. An EC2 credential's id is the SHA-256 of its access key, as
Keystone makes it; another's derives from the request that made it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidState, NotFound
from domain.identity import IdentityEvent, aggregate_id

EC2 = "ec2"


class CredentialEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "credential"


class CredentialCreated(CredentialEvent, frozen=True, kw_only=True):
    user_id: str
    project_id: str | None = None
    credential_type: str  # Keystone's ``type`` (``ec2``, ``totp``, ...)
    sealed_blob: str  # the blob as the API sealed it (never the secret in clear)
    access: str | None = None  # an EC2 credential's access key


class CredentialUpdated(CredentialEvent, frozen=True, kw_only=True):
    """New values (None: unchanged)."""

    project_id: str | None = None
    credential_type: str | None = None
    sealed_blob: str | None = None


class CredentialDeleted(CredentialEvent, frozen=True, kw_only=True):
    pass


AnyCredentialEvent = CredentialCreated | CredentialUpdated | CredentialDeleted


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    project_id: str | None
    type: str
    sealed_blob: str
    access: str | None = None
    deleted: bool = False


def credential_id(*, access: str | None, request_id: str) -> str:
    """The id clients see: an EC2 credential's from its access key."""
    if access is not None:
        return hashlib.sha256(access.encode()).hexdigest()
    return aggregate_id("credential-request", request_id).hex


def credential_aggregate(cred_id: str) -> uuid.UUID:
    return aggregate_id("credential", cred_id)


def evolve(state: Credential | None, event: Event, aggregate: str) -> Credential:
    if not isinstance(event, AnyCredentialEvent):
        raise UnknownEvent(event, "credential")
    match event:
        case CredentialCreated():
            return Credential(id=credential_id(access=event.access,
                                               request_id=event.request_id),
                              user_id=event.user_id, project_id=event.project_id,
                              type=event.credential_type, sealed_blob=event.sealed_blob,
                              access=event.access)
        case CredentialUpdated():
            assert state is not None
            return msgspec.structs.replace(
                state, project_id=state.project_id if event.project_id is None
                else event.project_id,
                type=state.type if event.credential_type is None else event.credential_type,
                sealed_blob=state.sealed_blob if event.sealed_blob is None
                else event.sealed_blob)
        case CredentialDeleted():
            assert state is not None
            return msgspec.structs.replace(state, deleted=True)
        case _:
            unknown_event(event, "credential")


def create(existing: Credential | None, *, request_id: str, user_id: str,
           project_id: str | None, type: str, sealed_blob: str, access: str | None,
           at: datetime) -> CredentialCreated:
    if existing is not None and not existing.deleted:
        raise InvalidState("Conflict occurred attempting to store credential - Duplicate "
                           "entry.")
    return CredentialCreated(request_id=request_id, user_id=user_id, project_id=project_id,
                             credential_type=type, sealed_blob=sealed_blob, access=access, at=at)


def live(state: Credential | None, ref: str) -> Credential:
    if state is None or state.deleted:
        raise NotFound(f"Could not find credential: {ref}.")
    return state


def update(state: Credential | None, ref: str, *, request_id: str, at: datetime,
           project_id: str | None, type: str | None,
           sealed_blob: str | None) -> CredentialUpdated:
    live(state, ref)
    return CredentialUpdated(request_id=request_id, at=at, project_id=project_id,
                             credential_type=type, sealed_blob=sealed_blob)


def delete(state: Credential | None, ref: str, *, request_id: str,
           at: datetime) -> CredentialDeleted:
    live(state, ref)
    return CredentialDeleted(request_id=request_id, at=at)
