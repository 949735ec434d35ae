"""Quota commands: an admin sets or resets a project's limits, or a quota
class's (Nova's os-quota-class-sets: the ``default`` class's are the defaults).

Usage is not set here: placement claims it with each boot and gives it back
with each deletion (commands/placement.py). A limit below what the project
already uses is refused (unless forced), as Nova refuses it. Every decision
over a quota reads the defaults through ``defaults_of``, so a change of the
default class applies from the next request on.
"""

from __future__ import annotations

import msgspec

from commands.application import Aggregate, NimbusApplication, Written
from domain import quota as model
from domain.registry import QUOTA


class SetQuotaLimits(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    project_id: str
    limits: dict[str, int]
    force: bool = False


class SetQuotaClassLimits(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    class_name: str
    limits: dict[str, int]


class ResetQuotaLimits(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    project_id: str
    resources: tuple[str, ...] = ()  # none: every resource


def quota_of(app: NimbusApplication, project_id: str) -> Aggregate[model.Quota]:
    """The project's quota aggregate (new and empty if never used)."""
    return app.load_or_new(model.quota_id(project_id), QUOTA)


def defaults_of(app: NimbusApplication, configured: model.QuotaDefaults) -> model.QuotaDefaults:
    """The defaults now: the configured ones as the default quota class
    changed them (its aggregate is one a batch keeps at hand)."""
    return model.with_class(configured, quota_of(
        app, model.class_key(model.DEFAULT_CLASS)).current)


class QuotaCommands:
    def __init__(self, app: NimbusApplication, defaults: model.QuotaDefaults) -> None:
        self.app = app
        self.defaults = defaults

    def set_limits(self, cmd: SetQuotaLimits) -> Written[dict[str, int]]:
        """The project's limits after the change (new ones and the defaults)."""
        return self.app.execute(
            cmd.request_id, lambda: quota_of(self.app, cmd.project_id),
            lambda quota, at: [(quota, model.set_limits(
                quota.current, defaults_of(self.app, self.defaults),
                project_id=cmd.project_id,
                request_id=cmd.request_id, limits=cmd.limits, force=cmd.force, at=at))],
            answer=self._limits)

    def reset(self, cmd: ResetQuotaLimits) -> Written[dict[str, int]]:
        """Back to the defaults; a quota never set or used writes nothing."""
        return self.app.execute(
            cmd.request_id, lambda: quota_of(self.app, cmd.project_id),
            lambda quota, at: [] if quota.current is None else [
                (quota, model.reset(cmd.project_id, cmd.request_id, at, cmd.resources))],
            answer=self._limits)

    def set_class_limits(self, cmd: SetQuotaClassLimits) -> Written[dict[str, int]]:
        """The class's limits after the change (new ones and the configured defaults)."""
        return self.app.execute(
            cmd.request_id, lambda: quota_of(self.app, model.class_key(cmd.class_name)),
            lambda quota, at: [(quota, model.set_class_limits(
                cmd.class_name, request_id=cmd.request_id, limits=cmd.limits, at=at))],
            answer=lambda quota: model.with_class(self.defaults, quota.current).as_dict())

    def quota(self, project_id: str) -> model.Quota:
        """The project's quota as the write side knows it (limits and claims)."""
        return quota_of(self.app, project_id).current or model.Quota(project_id=project_id)

    def _limits(self, quota: Aggregate[model.Quota]) -> dict[str, int]:
        return (quota.current or model.Quota(project_id="")).limits(
            defaults_of(self.app, self.defaults))
