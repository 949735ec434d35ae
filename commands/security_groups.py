"""Security group commands: groups (counted by the project's quota) and their
rules, and a server's groups changed on all its ports at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from commands.application import Aggregate, Change, Written
from commands.messages import Caller
from commands.network_base import NetworkBase, new_id, scope_of
from commands.quotas import defaults_of
from domain import quota as quota_model
from domain import security_group as sg_model
from domain.errors import NotFound


class SecurityGroupCommands(NetworkBase):
    def security_group(self, group_id: str, caller: Caller) -> sg_model.SecurityGroup:
        """The group as the write side knows it now (if the caller may see it)."""
        return sg_model.existing(self._group(group_id).current, group_id, scope_of(caller))

    def create_security_group(self, caller: Caller, request_id: str, *, name: str,
                              description: str = "") -> Written[sg_model.SecurityGroup]:
        group_id = new_id(request_id)

        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            created = sg_model.create(
                request_id=request_id, project_id=caller.project_id, name=name,
                description=description,
                egress_rule_ids=(str(new_id(request_id, "#4")), str(new_id(request_id, "#6"))),
                at=at)
            quota = self._quota(caller.project_id)
            claim = quota_model.claim_network(
                quota.current, defaults_of(self.app, self.quota_defaults),
                project_id=caller.project_id,
                owner_id=str(group_id), resource="security_groups", at=at)
            return [(group, created), (quota, claim)]

        return self.app.execute(request_id, lambda: self._group(group_id), decide,
                                touches=[group_id, quota_model.quota_id(caller.project_id)])

    def update_security_group(self, caller: Caller, request_id: str, group_id: str, *,
                              name: str | None = None,
                              description: str | None = None) -> Written[sg_model.SecurityGroup]:
        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, scope_of(caller))
            return [(group, sg_model.update(state, name=name, description=description,
                                            request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._group(group_id), decide)

    def delete_security_group(self, caller: Caller, request_id: str, group_id: str, *,
                              in_use: bool) -> Written[sg_model.SecurityGroup]:
        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, scope_of(caller))
            quota = self._quota(state.project_id)
            return [(group, sg_model.delete(state, in_use=in_use, request_id=request_id,
                                            at=at)),
                    (quota, quota_model.release_network(quota.current, group_id, at))]

        return self.app.execute(request_id, lambda: self._group(group_id), decide)

    def add_rule(self, caller: Caller, request_id: str, group_id: str,
                 make: Callable[[str], sg_model.Rule]) -> Written[sg_model.Rule]:
        """A rule made by ``make(rule_id)`` (domain's ``rule``), added to the group."""
        rule_id = str(new_id(request_id))

        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, scope_of(caller))
            rule = make(rule_id)
            if rule.remote_group_id is not None:
                sg_model.existing(self._group(rule.remote_group_id).current,
                                  rule.remote_group_id, scope_of(caller))
            return [(group, sg_model.add_rule(state, rule, request_id=request_id, at=at))]

        def answer(group: Aggregate[sg_model.SecurityGroup]) -> sg_model.Rule:
            found = next((r for r in group.state.rules if r.id == rule_id), None)
            if found is None:
                raise NotFound(f"Security group rule {rule_id} does not exist")
            return found

        return self.app.execute(request_id, lambda: self._group(group_id), decide,
                                answer=answer)

    def remove_rule(self, caller: Caller, request_id: str, group_id: str,
                    rule_id: str) -> Written[sg_model.SecurityGroup]:
        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, scope_of(caller))
            return [(group, sg_model.remove_rule(state, rule_id, request_id=request_id,
                                                 at=at))]

        return self.app.execute(request_id, lambda: self._group(group_id), decide)

