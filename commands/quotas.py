"""Quota commands: an admin sets or resets a project's limits.

Usage is not set here: placement claims it with each boot and gives it back
with each deletion (commands/placement.py). A limit below what the project
already uses is refused (unless forced), as Nova refuses it.
"""

from __future__ import annotations

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from domain import quota as model


class SetQuotaLimits(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    project_id: str
    limits: dict[str, int]
    force: bool = False


class ResetQuotaLimits(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    project_id: str


class QuotaChanged(msgspec.Struct, frozen=True, kw_only=True):
    """The project's limits now, and the log position written (None: nothing new)."""

    limits: dict[str, int]
    position: int | None


def quota_of(app: NimbusApplication, project_id: str) -> Aggregate:
    """The project's quota aggregate (new and empty if never used)."""
    return app.load_or_new(model.quota_id(project_id), model.QuotaEvent.aggregate)


class QuotaCommands:
    def __init__(self, app: NimbusApplication, defaults: model.QuotaDefaults) -> None:
        self.app = app
        self.defaults = defaults

    def set_limits(self, cmd: SetQuotaLimits) -> QuotaChanged:
        def attempt() -> QuotaChanged:
            aggregate = self._load(cmd.project_id)
            if cmd.request_id not in aggregate.requests:
                aggregate.record(model.set_limits(
                    aggregate.state, self.defaults, project_id=cmd.project_id,
                    request_id=cmd.request_id, limits=cmd.limits, force=cmd.force,
                    at=self.app.clock(),
                ))
                return self._changed(aggregate, self.app.commit(aggregate))
            return self._changed(aggregate, None)

        return retrying(attempt)

    def reset(self, cmd: ResetQuotaLimits) -> QuotaChanged:
        def attempt() -> QuotaChanged:
            aggregate = self._load(cmd.project_id)
            if cmd.request_id in aggregate.requests or aggregate.state is None:
                return self._changed(aggregate, None)
            aggregate.record(model.reset(cmd.project_id, cmd.request_id, self.app.clock()))
            return self._changed(aggregate, self.app.commit(aggregate))

        return retrying(attempt)

    def quota(self, project_id: str) -> model.Quota:
        """The project's quota as the write side knows it (limits and claims)."""
        state: model.Quota | None = self._load(project_id).state
        return state or model.Quota(project_id=project_id)

    def _load(self, project_id: str) -> Aggregate:
        return quota_of(self.app, project_id)

    def _changed(self, aggregate: Aggregate, position: int | None) -> QuotaChanged:
        state = aggregate.state or model.Quota(project_id="")
        return QuotaChanged(limits=state.limits(self.defaults), position=position)
