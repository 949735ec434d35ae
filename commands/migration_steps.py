"""What is committed with each outcome of a step of a server's move.

The ingester (a host's report) and the deadline sweeper (no report in time)
both record a step's outcome through ``follow``: in the same commit as the
outcome, the next step's request and the claim a host gives back
(domain/migration.py ``consequence``), so a crash between two steps leaves
either both written or neither, and a step is never lost between them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from commands.application import Aggregate, Change, NimbusApplication, nothing
from commands.quotas import quota_of
from domain import events as ev
from domain import host as hosts_model
from domain import instance as model
from domain import live_migration as live
from domain import migration as rules
from domain import quota as quota_model
from domain.registry import HOST, INSTANCE
from messaging.wire import HostOutcome


def follow(app: NimbusApplication, instance: Aggregate[model.Instance],
           event: ev.InstanceEvent | None, at: datetime) -> list[Change]:
    """What to commit with ``event`` (decided on ``instance``'s state before
    it): the next step's request and the claim a host gives back."""
    if event is None or instance.current is None:
        return []
    then = rules.consequence(instance.state, event)
    changes: list[Change] = []
    if then.then is not None:
        changes.append((instance, then.then))
    if then.release:
        host = app.load_or_new(hosts_model.host_id(then.release), HOST)
        changes.append((host, hosts_model.release(host.current, instance.state.id, at)))
    return changes + _settled_quota(app, instance.state, event, at)


def _settled_quota(app: NimbusApplication, before: model.Instance, event: ev.InstanceEvent,
                   at: datetime) -> list[Change]:
    """A resize that ends (confirmed, reverted or failed) leaves the project's
    quota holding the flavor the server has now, no longer the larger of both."""
    if before.migration is None or not before.migration.in_progress:
        return []
    after = model.evolve(before, event, before.id)
    if after.migration is not None and after.migration.in_progress:
        return []
    quota = quota_of(app, after.project_id)
    if quota.current is None or after.id not in quota.current.claims:
        return []  # nothing held (given back already)
    settled = quota_model.resize_claim(
        quota.current, quota_model.QuotaDefaults(), project_id=after.project_id,
        instance_id=after.id, cores=after.vcpus, ram=after.memory_mb, at=at, check=False)
    return [(quota, settled)] if settled is not None else []


def progressed(app: NimbusApplication, instance_id: uuid.UUID,
               outcome: HostOutcome) -> int | None:
    """Record a live copy's progress report (a repeated one writes nothing)."""
    progress = outcome.progress
    if progress is None:
        return None

    def decide(instance: Aggregate[model.Instance], _at: datetime) -> list[Change]:
        if instance.current is None:
            return []
        return [(instance, live.progressed(instance.state, outcome.request_id, progress,
                                           outcome.at))]

    return app.execute(None, lambda: app.load_or_new(instance_id, INSTANCE), decide,
                       answer=nothing, touches=[instance_id]).position
