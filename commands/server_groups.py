"""Server group commands: create and delete a group, and the two things a
boot into a group needs (commands/instances.py): where its next member may
run, and the member event committed with the boot. A member's host is read
from its instance aggregate, so a deleted member no longer counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from commands.application import Aggregate, NimbusApplication, Written
from commands.messages import Caller
from domain import server_group as model
from domain.errors import InvalidInput, NotFound
from domain.registry import INSTANCE, SERVER_GROUP


def _scope(caller: Caller) -> str | None:
    return None if caller.is_admin else caller.project_id


class ServerGroupCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def create(self, name: str, policy: str, caller: Caller, request_id: str, *,
               soft_allowed: bool) -> Written[model.ServerGroup]:
        return self.app.execute(
            request_id, lambda: self.load(model.group_uuid(request_id)),
            lambda group, at: [(group, model.create(
                group.current, request_id=request_id, name=name, policy=policy,
                soft_allowed=soft_allowed, project_id=caller.project_id,
                user_id=caller.user_id, at=at))])

    def delete(self, group_id: str, caller: Caller,
               request_id: str) -> Written[model.ServerGroup]:
        return self.app.execute(
            request_id, lambda: self.load(group_id),
            lambda group, at: [(group, model.delete(group.current, group_id, _scope(caller),
                                                    request_id=request_id, at=at))])

    def load(self, group_id: str) -> Aggregate[model.ServerGroup]:
        try:
            key = uuid.UUID(group_id)
        except ValueError:
            raise NotFound(f"Instance group {group_id} could not be found.") from None
        return self.app.load_or_new(key, SERVER_GROUP)

    def for_boot(self, group_id: str, caller: Caller,
                 hosts: Collection[str]) -> tuple[Aggregate[model.ServerGroup], frozenset[str]]:
        """The group a boot names and the hosts its next member may run on
        (400 when the caller has no such group, as Nova's boot answers)."""
        try:
            group = self.load(group_id)
            state = model.existing(group.current, group_id, _scope(caller))
        except NotFound as missing:
            raise InvalidInput(missing.message) from None
        members: dict[str, str] = {}
        for member in state.members:
            instance = self.app.find(INSTANCE, uuid.UUID(member))
            if instance is not None and instance.state.deleted_at is None:
                members[member] = instance.state.host
        return group, model.allowed_hosts(state, members, hosts)

    @staticmethod
    def joined(group: Aggregate[model.ServerGroup], instance_id: str, request_id: str,
               at: datetime) -> model.ServerGroupMemberAdded:
        return model.add_member(group.state, instance_id, request_id=request_id, at=at)
