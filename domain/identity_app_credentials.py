"""Identity: application credentials (Keystone's
``/users/{u}/application_credentials`` and the ``application_credential``
login method).

An application credential lets whoever holds its secret log in as its user,
scoped to one project, with (at most) the roles it names. It is an aggregate
whose id derives from its user and its name (names are unique per user);
its secret is stored only as a salted hash, as a password is.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound, Unauthorized
from domain.identity import IdentityEvent, aggregate_id, password_matches


class AppCredentialEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "application_credential"


class ApplicationCredentialCreated(AppCredentialEvent, frozen=True, kw_only=True):
    user_id: str
    project_id: str
    name: str
    description: str | None = None
    secret_hash: str  # salted scrypt, never the secret
    roles: list[str]  # a default role's name or a custom role's id
    expires_at: str | None = None  # as the creator wrote it (ISO 8601)
    unrestricted: bool = False


class ApplicationCredentialDeleted(AppCredentialEvent, frozen=True, kw_only=True):
    pass


AnyAppCredentialEvent = ApplicationCredentialCreated | ApplicationCredentialDeleted


class AppCredential(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    project_id: str
    name: str
    description: str | None
    secret_hash: str
    roles: tuple[str, ...]
    expires_at: str | None = None
    unrestricted: bool = False
    deleted: bool = False


def app_credential_id(user_id: str, name: str) -> uuid.UUID:
    return aggregate_id("application-credential", f"{user_id}/{name}")


def evolve(state: AppCredential | None, event: Event, aggregate: str) -> AppCredential:
    if not isinstance(event, AnyAppCredentialEvent):
        raise UnknownEvent(event, "application_credential")
    match event:
        case ApplicationCredentialCreated():
            return AppCredential(
                id=uuid.UUID(aggregate).hex, user_id=event.user_id,
                project_id=event.project_id, name=event.name, description=event.description,
                secret_hash=event.secret_hash, roles=tuple(event.roles),
                expires_at=event.expires_at, unrestricted=event.unrestricted)
        case ApplicationCredentialDeleted():
            assert state is not None
            return msgspec.structs.replace(state, deleted=True)
        case _:
            unknown_event(event, "application_credential")


def expiry(expires_at: str | None) -> datetime | None:
    """When a credential written to expire at ``expires_at`` does (UTC when no zone)."""
    if expires_at is None:
        return None
    try:
        when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"Invalid input for field 'expires_at': {expires_at!r} is not an "
                           "ISO 8601 time.") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def create(existing: AppCredential | None, *, request_id: str, user_id: str, project_id: str,
           name: str, description: str | None, secret_hash: str, roles: list[str],
           held: list[str], expires_at: str | None, unrestricted: bool,
           at: datetime) -> ApplicationCredentialCreated:
    """A new credential with ``roles`` (each held in effect by the user on the
    project: ``held``), not yet expired."""
    if existing is not None and not existing.deleted:
        raise InvalidState(f"Conflict occurred attempting to store application_credential - "
                           f"Duplicate entry found with name {name}.")
    missing = [r for r in roles if r not in held]
    if missing or not roles:
        raise _not_held(missing)
    when = expiry(expires_at)
    if when is not None and when <= at:
        raise InvalidInput("Invalid input for field 'expires_at': the time has passed.")
    return ApplicationCredentialCreated(
        request_id=request_id, user_id=user_id, project_id=project_id, name=name,
        description=description, secret_hash=secret_hash, roles=roles,
        expires_at=expires_at, unrestricted=unrestricted, at=at)


def _not_held(missing: list[str]) -> InvalidInput:
    return InvalidInput("Invalid input for field 'roles': the user does not hold "
                        f"{', '.join(missing) or 'any role'} on the project.")


def live(state: AppCredential | None, ref: str) -> AppCredential:
    if state is None or state.deleted:
        raise NotFound(f"Could not find Application Credential: {ref}.")
    return state


def delete(state: AppCredential | None, ref: str, *, request_id: str,
           at: datetime) -> ApplicationCredentialDeleted:
    live(state, ref)
    return ApplicationCredentialDeleted(request_id=request_id, at=at)


def authenticated(state: AppCredential | None, secret: str, now: datetime) -> AppCredential:
    """The credential this secret opens, unexpired; Unauthorized otherwise."""
    if state is None or state.deleted or not password_matches(state.secret_hash, secret):
        raise Unauthorized("The request you have made requires authentication.")
    when = expiry(state.expires_at)
    if when is not None and when <= now:
        raise Unauthorized(f"Application credential {state.id} has expired.")
    return state
