"""Identity: groups of users, and the roles granted to a group.

A group is an aggregate whose id derives from its name in its domain (its
name may change later; the id does not). What a group holds is recorded on
the group (its grants, per scope as a user's are); who is in it is recorded
on each user (``domain.identity.UserAddedToGroup``), so a login reads the
user, then the groups the user is in. A user in a group holds, on each
scope, the group's roles there too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidState, NotFound
from domain.identity import DEFAULT_DOMAIN_ID, IdentityEvent


class GroupEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "group"


class GroupCreated(GroupEvent, frozen=True, kw_only=True):
    name: str
    domain_id: str = DEFAULT_DOMAIN_ID
    description: str = ""


class GroupUpdated(GroupEvent, frozen=True, kw_only=True):
    """A new name and/or description (None: unchanged)."""

    name: str | None = None
    description: str | None = None


class GroupDeleted(GroupEvent, frozen=True, kw_only=True):
    """The group, its grants and its memberships are gone."""


class GroupRoleGranted(GroupEvent, frozen=True, kw_only=True):
    scope: str  # a project id, ``domain:<id>`` or ``system`` (as a user's grants)
    role: str


class GroupRoleRevoked(GroupEvent, frozen=True, kw_only=True):
    scope: str
    role: str


AnyGroupEvent = GroupCreated | GroupUpdated | GroupDeleted | GroupRoleGranted | GroupRoleRevoked


class Group(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    domain_id: str = DEFAULT_DOMAIN_ID
    description: str = ""
    roles: dict[str, list[str]] = msgspec.field(default_factory=dict)  # scope -> roles
    deleted: bool = False

    def roles_on(self, scope: str) -> list[str]:
        return [] if self.deleted else list(self.roles.get(scope, []))


def evolve_group(state: Group | None, event: Event, aggregate: str) -> Group:
    if not isinstance(event, AnyGroupEvent):
        raise UnknownEvent(event, "group")
    if isinstance(event, GroupCreated):
        return Group(id=uuid.UUID(aggregate).hex, name=event.name, domain_id=event.domain_id,
                     description=event.description)
    assert state is not None
    match event:
        case GroupUpdated():
            return msgspec.structs.replace(
                state, name=state.name if event.name is None else event.name,
                description=state.description if event.description is None
                else event.description)
        case GroupDeleted():
            return msgspec.structs.replace(state, deleted=True, roles={})
        case GroupRoleGranted() | GroupRoleRevoked():
            current = state.roles.get(event.scope, [])
            if isinstance(event, GroupRoleGranted):
                held = current if event.role in current else [*current, event.role]
            else:
                held = [r for r in current if r != event.role]
            roles = {s: r for s, r in state.roles.items() if s != event.scope}
            if held:
                roles[event.scope] = held
            return msgspec.structs.replace(state, roles=roles)
        case _:
            unknown_event(event, "group")


def create_group(existing: Group | None, *, request_id: str, name: str, domain_id: str,
                 description: str, at: datetime) -> GroupCreated:
    if existing is not None and not existing.deleted:
        raise InvalidState(f"Conflict occurred attempting to store group - Duplicate entry "
                           f"found with name {name} at domain ID {domain_id}.")
    return GroupCreated(request_id=request_id, name=name, domain_id=domain_id,
                        description=description, at=at)


def live_group(state: Group | None, ref: str) -> Group:
    if state is None or state.deleted:
        raise NotFound(f"Could not find group: {ref}.")
    return state


def update_group(state: Group | None, ref: str, *, request_id: str, at: datetime,
                 name: str | None, description: str | None) -> GroupUpdated:
    live_group(state, ref)
    return GroupUpdated(request_id=request_id, at=at, name=name, description=description)


def delete_group(state: Group | None, ref: str, *, request_id: str,
                 at: datetime) -> GroupDeleted:
    live_group(state, ref)
    return GroupDeleted(request_id=request_id, at=at)


def grant(group: Group, scope: str, role: str, *, request_id: str,
          at: datetime) -> GroupRoleGranted | None:
    """The grant to record, or None when the group holds the role there already."""
    if role in group.roles_on(scope):
        return None
    return GroupRoleGranted(request_id=request_id, scope=scope, role=role, at=at)


def revoke(group: Group, scope: str, role: str, role_id: str, *, request_id: str,
           at: datetime) -> GroupRoleRevoked:
    if role not in group.roles_on(scope):
        raise NotFound(f"Could not find role assignment with role: {role_id}, user or "
                       f"group: {group.id}, project, domain, or system: {scope}.")
    return GroupRoleRevoked(request_id=request_id, scope=scope, role=role, at=at)
