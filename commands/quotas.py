"""Quota commands: an admin sets or resets a project's limits.

Usage is not set here: placement claims it with each boot and gives it back
with each deletion (commands/placement.py). A limit below what the project
already uses is refused (unless forced), as Nova refuses it.
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


class ResetQuotaLimits(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    project_id: str
    resources: tuple[str, ...] = ()  # none: every resource


def quota_of(app: NimbusApplication, project_id: str) -> Aggregate[model.Quota]:
    """The project's quota aggregate (new and empty if never used)."""
    return app.load_or_new(model.quota_id(project_id), QUOTA)


class QuotaCommands:
    def __init__(self, app: NimbusApplication, defaults: model.QuotaDefaults) -> None:
        self.app = app
        self.defaults = defaults

    def set_limits(self, cmd: SetQuotaLimits) -> Written[dict[str, int]]:
        """The project's limits after the change (new ones and the defaults)."""
        return self.app.execute(
            cmd.request_id, lambda: quota_of(self.app, cmd.project_id),
            lambda quota, at: [(quota, model.set_limits(
                quota.current, self.defaults, project_id=cmd.project_id,
                request_id=cmd.request_id, limits=cmd.limits, force=cmd.force, at=at))],
            answer=self._limits)

    def reset(self, cmd: ResetQuotaLimits) -> Written[dict[str, int]]:
        """Back to the defaults; a quota never set or used writes nothing."""
        return self.app.execute(
            cmd.request_id, lambda: quota_of(self.app, cmd.project_id),
            lambda quota, at: [] if quota.current is None else [
                (quota, model.reset(cmd.project_id, cmd.request_id, at, cmd.resources))],
            answer=self._limits)

    def quota(self, project_id: str) -> model.Quota:
        """The project's quota as the write side knows it (limits and claims)."""
        return quota_of(self.app, project_id).current or model.Quota(project_id=project_id)

    def _limits(self, quota: Aggregate[model.Quota]) -> dict[str, int]:
        return (quota.current or model.Quota(project_id="")).limits(self.defaults)
