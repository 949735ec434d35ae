"""Snapshot commands: take, delete, and the storage hosts' outcomes.

Taking a snapshot claims the project's snapshot quota and records the
snapshot on its volume, in one transaction with the snapshot itself; its
deletion's outcome gives both back. The snapshot's id comes from the request
id, so a retried request finds what it made and writes nothing.
"""

from __future__ import annotations

import uuid

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.lookups import parse_id, visible
from commands.messages import Caller
from commands.quotas import quota_of
from domain import quota as quota_model
from domain import snapshot as model
from domain import volume as volume_model
from domain.copies import Status
from messaging.wire import StepOutcome

NAMESPACE = uuid.UUID("7c2e9a41-3b5d-4e6f-8a19-2d4c6b8e0f13")


class TakeSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str
    name: str = ""
    description: str = ""
    force: bool = False


class DeleteSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    snapshot_id: str


class SnapshotAccepted(msgspec.Struct, frozen=True, kw_only=True):
    snapshot: model.Snapshot
    position: int | None


class SnapshotCommands:
    def __init__(self, app: NimbusApplication, quotas: quota_model.QuotaDefaults) -> None:
        self.app = app
        self.quotas = quotas

    def take(self, cmd: TakeSnapshot) -> SnapshotAccepted:
        snapshot_id = uuid.uuid5(NAMESPACE, cmd.request_id)
        volume_id = parse_id(cmd.volume_id, "Volume")

        def attempt() -> SnapshotAccepted:
            found = self.app.load(snapshot_id)
            if found is not None:
                return SnapshotAccepted(snapshot=found.state, position=None)
            volume = visible(self.app, volume_id, cmd.caller, volume_model.Volume, "Volume")
            at = self.app.clock()
            aggregate = Aggregate(snapshot_id, model.SnapshotEvent.aggregate)
            aggregate.record(model.take(volume.state, request_id=cmd.request_id,
                                        user_id=cmd.caller.user_id, name=cmd.name,
                                        description=cmd.description, force=cmd.force, at=at))
            volume.record(volume_model.VolumeSnapshotAdded(
                request_id=cmd.request_id, at=at, snapshot_id=str(snapshot_id)))
            quota = quota_of(self.app, volume.state.project_id)
            quota.record(quota_model.claim_snapshot(
                quota.state, self.quotas, project_id=volume.state.project_id,
                snapshot_id=str(snapshot_id), gigabytes=volume.state.size_gb, at=at))
            position = self.app.commit(aggregate, volume, quota)
            return SnapshotAccepted(snapshot=aggregate.state, position=position)

        return retrying(attempt)

    def delete(self, cmd: DeleteSnapshot) -> SnapshotAccepted:
        snapshot_id = parse_id(cmd.snapshot_id, "Snapshot")

        def attempt() -> SnapshotAccepted:
            aggregate = visible(self.app, snapshot_id, cmd.caller, model.Snapshot, "Snapshot")
            if cmd.request_id in aggregate.requests:
                return SnapshotAccepted(snapshot=aggregate.state, position=None)
            aggregate.record(model.delete(aggregate.state, request_id=cmd.request_id,
                                          at=self.app.clock()))
            return SnapshotAccepted(snapshot=aggregate.state,
                                    position=self.app.commit(aggregate))

        return retrying(attempt)

    def usable(self, snapshot_id: str, caller: Caller, size_gb: int | None) -> model.Snapshot:
        """A snapshot the caller may make a volume of ``size_gb`` (None: the
        snapshot's size) from; a 4xx if not."""
        aggregate = visible(self.app, parse_id(snapshot_id, "Snapshot"), caller, model.Snapshot,
                             "Snapshot")
        model.source_for(aggregate.state,
                         aggregate.state.size_gb if size_gb is None else size_gb)
        state: model.Snapshot = aggregate.state
        return state

    def record_outcome(self, outcome: StepOutcome) -> int | None:
        """A storage host's report on a step of a snapshot."""
        snapshot_id = parse_id(outcome.aggregate_id, "Snapshot")

        def attempt() -> int | None:
            aggregate = self.app.load(snapshot_id)
            if aggregate is None or aggregate.kind != model.SnapshotEvent.aggregate:
                return None
            event = model.complete(aggregate.state, outcome.request_id, ok=outcome.ok,
                                   reason=outcome.reason, at=outcome.at)
            if event is None:
                return None
            aggregate.record(event)
            changed = [aggregate]
            state: model.Snapshot = aggregate.state
            if state.status is Status.DELETED:
                changed += self._given_back(state, outcome)
            return self.app.commit(*changed)

        return retrying(attempt)

    def _given_back(self, state: model.Snapshot, outcome: StepOutcome) -> list[Aggregate]:
        """The volume forgets the deleted snapshot; the quota gets its claim back."""
        out = []
        volume = self.app.load(uuid.UUID(state.volume_id))
        if volume is not None:
            volume.record(volume_model.VolumeSnapshotRemoved(
                request_id=outcome.request_id, at=outcome.at, snapshot_id=state.id))
            out.append(volume)
        quota = quota_of(self.app, state.project_id)
        released = quota_model.release_snapshot(quota.state, state.id, outcome.at)
        if released is not None:
            quota.record(released)
            out.append(quota)
        return out
