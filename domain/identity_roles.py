"""Identity: the roles an admin makes (Keystone's custom roles).

Keystone's default roles (``domain.identity.ROLES``) always exist and are no
aggregate. A custom role is one, whose id derives from its name in its domain
(a global role: the Default domain's), so two creates of a name meet at
version 1. A grant of a custom role records the role's id, not its name:
the role may be renamed and its grants still name it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Forbidden, InvalidState, NotFound
from domain.identity import ROLE_ALIASES, ROLES, IdentityEvent


class RoleEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "role"


class RoleCreated(RoleEvent, frozen=True, kw_only=True):
    name: str
    domain_id: str | None = None  # None: a global role
    description: str | None = None


class RoleUpdated(RoleEvent, frozen=True, kw_only=True):
    """A new name and/or description (None: unchanged)."""

    name: str | None = None
    description: str | None = None


class RoleDeleted(RoleEvent, frozen=True, kw_only=True):
    """The role and every grant of it are gone."""


class RoleImplied(RoleEvent, frozen=True, kw_only=True):
    """Whoever holds this role holds ``implied`` too (a default role's name or
    a custom role's id): Keystone's implied role rule."""

    implied: str


class RoleImplicationRemoved(RoleEvent, frozen=True, kw_only=True):
    implied: str


AnyRoleEvent = RoleCreated | RoleUpdated | RoleDeleted | RoleImplied | RoleImplicationRemoved


class CustomRole(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    domain_id: str | None = None
    description: str | None = None
    implies: tuple[str, ...] = ()
    deleted: bool = False


def evolve_role(state: CustomRole | None, event: Event, aggregate: str) -> CustomRole:
    if not isinstance(event, AnyRoleEvent):
        raise UnknownEvent(event, "role")
    if isinstance(event, RoleCreated):
        return CustomRole(id=uuid.UUID(aggregate).hex, name=event.name,
                          domain_id=event.domain_id, description=event.description)
    assert state is not None
    match event:
        case RoleUpdated():
            return msgspec.structs.replace(
                state, name=state.name if event.name is None else event.name,
                description=state.description if event.description is None
                else event.description)
        case RoleDeleted():
            return msgspec.structs.replace(state, deleted=True, implies=())
        case RoleImplied():
            return msgspec.structs.replace(
                state, implies=tuple(dict.fromkeys((*state.implies, event.implied))))
        case RoleImplicationRemoved():
            return msgspec.structs.replace(
                state, implies=tuple(r for r in state.implies if r != event.implied))
        case _:
            unknown_event(event, "role")


def _duplicate(name: str) -> InvalidState:
    return InvalidState(f"Conflict occurred attempting to store role - Duplicate entry "
                        f"found with name {name}.")


def is_default_role(name: str) -> bool:
    return name.lower() in ROLES or name in ROLE_ALIASES


def create_role(existing: CustomRole | None, *, request_id: str, name: str,
                domain_id: str | None, description: str | None,
                at: datetime) -> RoleCreated:
    """A new role; a default role's name, or one a live role holds, is taken."""
    if (domain_id is None and is_default_role(name)) or (
            existing is not None and not existing.deleted):
        raise _duplicate(name)
    return RoleCreated(request_id=request_id, name=name, domain_id=domain_id,
                       description=description, at=at)


def live_role(state: CustomRole | None, ref: str) -> CustomRole:
    if state is None or state.deleted:
        raise NotFound(f"Could not find role: {ref}.")
    return state


def update_role(state: CustomRole | None, ref: str, *, request_id: str, at: datetime,
                name: str | None, description: str | None) -> RoleUpdated:
    role = live_role(state, ref)
    if name is not None and name != role.name and role.domain_id is None \
            and is_default_role(name):
        raise _duplicate(name)
    return RoleUpdated(request_id=request_id, at=at, name=name, description=description)


def delete_role(state: CustomRole | None, ref: str, *, request_id: str,
                at: datetime) -> RoleDeleted:
    live_role(state, ref)
    return RoleDeleted(request_id=request_id, at=at)


def imply(prior: CustomRole | None, prior_ref: str, implied: str,
          implied_domain: str | None, *, request_id: str,
          at: datetime) -> RoleImplied | None:
    """A rule that ``prior`` implies ``implied`` (None: it does already). A
    global role may not imply a domain's role, as in Keystone."""
    role = live_role(prior, prior_ref)
    if implied == role.id:
        raise Forbidden(f"{prior_ref} cannot imply itself.")
    if role.domain_id is None and implied_domain is not None:
        raise Forbidden(f"Global role {role.id} cannot imply the domain-specific role "
                        f"{implied}.")
    if implied in role.implies:
        return None
    return RoleImplied(request_id=request_id, implied=implied, at=at)


def drop_implication(prior: CustomRole | None, prior_ref: str, implied: str,
                     implied_id: str, *, request_id: str,
                     at: datetime) -> RoleImplicationRemoved:
    role = live_role(prior, prior_ref)
    if implied not in role.implies:
        raise NotFound(f"{prior_ref} does not imply {implied_id}.")
    return RoleImplicationRemoved(request_id=request_id, implied=implied, at=at)
