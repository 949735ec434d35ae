"""Identity commands for custom roles and groups: create, update, delete,
a group's members and a group's grants.

Like the rest of identity, each decision reads aggregates from the event
store: a role or group by its id (or its name, from which its id derives).
A user joins a group on the user's own aggregate, so a login needs only
the user and then that user's groups.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.application import Aggregate, Change, Written
from domain import identity as model
from domain import identity_groups as groups
from domain import identity_roles as roles
from domain.errors import Forbidden
from domain.registry import GROUP, ROLE, USER

if TYPE_CHECKING:
    from commands.identity import IdentityCommands


class RoleCommands:
    def __init__(self, identity: IdentityCommands) -> None:
        self.identity = identity
        self.app = identity.app

    def _role(self, ref: str) -> Aggregate[roles.CustomRole]:
        return self.identity._aggregate(ROLE, ref)

    def get(self, ref: str) -> roles.CustomRole:
        return roles.live_role(self._role(ref).current, ref)

    def create(self, *, request_id: str, name: str, domain: str | None = None,
               description: str | None = None) -> Written[roles.CustomRole]:
        name = model.valid_name("role", name)
        domain_id = self.identity.domain(domain).id if domain is not None else None
        return self.app.execute(
            request_id, lambda: self.identity._named(ROLE, name, domain_id or
                                                     model.DEFAULT_DOMAIN_ID),
            lambda role, at: [(role, roles.create_role(
                role.current, request_id=request_id, name=name, domain_id=domain_id,
                description=description, at=at))])

    def update(self, *, request_id: str, ref: str, name: str | None = None,
               description: str | None = None) -> Written[roles.CustomRole]:
        if name is not None:
            name = model.valid_name("role", name)
        return self.app.execute(
            request_id, lambda: self._role(ref),
            lambda role, at: [(role, roles.update_role(
                role.current, ref, request_id=request_id, at=at, name=name,
                description=description))])

    def delete(self, *, request_id: str, ref: str) -> Written[roles.CustomRole]:
        return self.app.execute(
            request_id, lambda: self._role(ref),
            lambda role, at: [(role, roles.delete_role(role.current, ref,
                                                       request_id=request_id, at=at))])

    def _prior(self, ref: str) -> Aggregate[roles.CustomRole]:
        """The role a rule is about: a custom one (the default roles imply
        what Keystone's do, and that does not change)."""
        if self.identity.role_key(ref) in model.ROLES:
            raise Forbidden(f"The default role {ref} implies what it does; that cannot "
                            "change.")
        return self._role(ref)

    def imply(self, *, request_id: str, prior: str,
              implied: str) -> Written[roles.CustomRole]:
        key = self.identity.role_key(implied)
        domain_id = None if key in model.ROLES else self.get(key).domain_id
        return self.app.execute(
            request_id, lambda: self._prior(prior),
            lambda role, at: [(role, roles.imply(role.current, prior, key, domain_id,
                                                 request_id=request_id, at=at))])

    def drop_implication(self, *, request_id: str, prior: str,
                         implied: str) -> Written[roles.CustomRole]:
        key = self.identity.role_key(implied)
        return self.app.execute(
            request_id, lambda: self._prior(prior),
            lambda role, at: [(role, roles.drop_implication(
                role.current, prior, key, model.granted_role_id(key), request_id=request_id,
                at=at))])


class GroupCommands:
    def __init__(self, identity: IdentityCommands) -> None:
        self.identity = identity
        self.app = identity.app

    def _group(self, ref: str) -> Aggregate[groups.Group]:
        return self.identity._aggregate(GROUP, ref)

    def get(self, ref: str) -> groups.Group:
        return groups.live_group(self._group(ref).current, ref)

    def create(self, *, request_id: str, name: str, domain: str = model.DEFAULT_DOMAIN_ID,
               description: str = "") -> Written[groups.Group]:
        name = model.valid_name("group", name)
        domain_id = self.identity.domain(domain).id
        return self.app.execute(
            request_id, lambda: self.identity._named(GROUP, name, domain_id),
            lambda group, at: [(group, groups.create_group(
                group.current, request_id=request_id, name=name, domain_id=domain_id,
                description=description, at=at))])

    def update(self, *, request_id: str, ref: str, name: str | None = None,
               description: str | None = None) -> Written[groups.Group]:
        if name is not None:
            name = model.valid_name("group", name)
        return self.app.execute(
            request_id, lambda: self._group(ref),
            lambda group, at: [(group, groups.update_group(
                group.current, ref, request_id=request_id, at=at, name=name,
                description=description))])

    def delete(self, *, request_id: str, ref: str) -> Written[groups.Group]:
        return self.app.execute(
            request_id, lambda: self._group(ref),
            lambda group, at: [(group, groups.delete_group(group.current, ref,
                                                           request_id=request_id, at=at))])

    # ---- members ---------------------------------------------------------

    def add_user(self, *, request_id: str, ref: str, user_ref: str) -> Written[model.User]:
        """Put a user in a group (on the user's aggregate); twice writes nothing."""
        group_id = self.get(ref).id
        return self.app.execute(
            request_id, lambda: self.identity._aggregate(USER, user_ref),
            lambda user, at: [(user, model.join_group(
                model.live_user(user.current, user_ref), group_id, request_id=request_id,
                at=at))])

    def remove_user(self, *, request_id: str, ref: str, user_ref: str) -> Written[model.User]:
        group_id = self.get(ref).id
        return self.app.execute(
            request_id, lambda: self.identity._aggregate(USER, user_ref),
            lambda user, at: [(user, model.leave_group(
                model.live_user(user.current, user_ref), group_id, request_id=request_id,
                at=at))])

    def has_user(self, ref: str, user_ref: str) -> bool:
        group_id = self.get(ref).id
        return group_id in self.identity.user(user_ref).groups

    # ---- grants ----------------------------------------------------------

    def grant(self, *, request_id: str, ref: str, role: str, project_ref: str | None,
              domain_ref: str | None = None, inherited: bool = False) -> Written[groups.Group]:
        """Give the group ``role`` on a project, a domain or (neither) the system."""
        key = self.identity.role_key(role)
        scope = self.identity.grant_scope(project_ref, domain_ref, inherited)
        return self.app.execute(
            request_id, lambda: self._group(ref),
            lambda group, at: [(group, groups.grant(
                groups.live_group(group.current, ref), scope, key, request_id=request_id,
                at=at))])

    def revoke(self, *, request_id: str, ref: str, role: str, project_ref: str | None,
               domain_ref: str | None = None, inherited: bool = False) -> Written[groups.Group]:
        key = self.identity.role_key(role)
        scope = self.identity.grant_scope(project_ref, domain_ref, inherited)

        def decide(group: Aggregate[groups.Group], at: datetime) -> list[Change]:
            return [(group, groups.revoke(groups.live_group(group.current, ref), scope, key,
                                          model.granted_role_id(key), request_id=request_id,
                                          at=at))]
        return self.app.execute(request_id, lambda: self._group(ref), decide)
