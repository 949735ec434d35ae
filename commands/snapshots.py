"""Snapshot commands: take, delete, and the storage hosts' outcomes.

Taking a snapshot claims the project's snapshot quota and records the
snapshot on its volume, in one transaction with the snapshot itself; its
deletion's outcome gives both back. The snapshot's id comes from the request
id, so a retried request finds what it made and writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written, nothing
from commands.lookups import parse_id, visible
from commands.messages import Caller
from commands.quotas import defaults_of, quota_of
from domain import quota as quota_model
from domain import snapshot as model
from domain import volume as volume_model
from domain.copies import Status
from domain.errors import Forbidden
from domain.registry import SNAPSHOT, VOLUME
from messaging.wire import StepOutcome

NAMESPACE = uuid.UUID("7c2e9a41-3b5d-4e6f-8a19-2d4c6b8e0f13")


class TakeSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str
    name: str = ""
    description: str = ""
    force: bool = False
    metadata: dict[str, str] = {}


class ChangeSnapshotMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """As ChangeVolumeMetadata, for a snapshot."""

    request_id: str
    caller: Caller
    snapshot_id: str
    given: dict[str, str] = {}
    replace: bool = False
    remove: str | None = None


class DeleteSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    snapshot_id: str


def _admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Policy doesn't allow volume_extension:{action} to be performed.")


class SnapshotCommands:
    def __init__(self, app: NimbusApplication, quotas: quota_model.QuotaDefaults) -> None:
        self.app = app
        self.quotas = quotas

    def take(self, cmd: TakeSnapshot) -> Written[model.Snapshot]:
        snapshot_id = uuid.uuid5(NAMESPACE, cmd.request_id)
        volume_id = parse_id(cmd.volume_id, "Volume")

        def decide(snapshot: Aggregate[model.Snapshot], at: datetime) -> list[Change]:
            volume = self.app.load_or_new(volume_id, VOLUME)
            state = visible(volume, cmd.caller, "Volume")
            quota = quota_of(self.app, state.project_id)
            return [
                (snapshot, model.take(state, request_id=cmd.request_id,
                                      user_id=cmd.caller.user_id, name=cmd.name,
                                      description=cmd.description, force=cmd.force, at=at,
                                      metadata=cmd.metadata)),
                (volume, volume_model.snapshot_added(state, snapshot_id=str(snapshot_id),
                                                     request_id=cmd.request_id, at=at)),
                (quota, quota_model.claim_snapshot(
                    quota.current, defaults_of(self.app, self.quotas),
                    project_id=state.project_id,
                    snapshot_id=str(snapshot_id), gigabytes=state.size_gb, at=at))]

        return self.app.execute(cmd.request_id, lambda: self._load(snapshot_id), decide)

    def delete(self, cmd: DeleteSnapshot) -> Written[model.Snapshot]:
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.snapshot_id, "Snapshot")),
            lambda snapshot, at: [(snapshot, model.delete(
                visible(snapshot, cmd.caller, "Snapshot"), request_id=cmd.request_id, at=at))])

    def change_metadata(self, cmd: ChangeSnapshotMetadata) -> Written[model.Snapshot]:
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.snapshot_id, "Snapshot")),
            lambda snapshot, at: [(snapshot, model.change_metadata(
                visible(snapshot, cmd.caller, "Snapshot"), request_id=cmd.request_id, at=at,
                given=cmd.given, replace=cmd.replace, remove=cmd.remove))])

    def reset_status(self, snapshot_id: str, status: str, caller: Caller,
                     request_id: str) -> Written[model.Snapshot]:
        """An admin sets the status (Cinder's os-reset_status)."""
        _admin(caller, "snapshot_admin_actions:reset_status")
        return self.app.execute(
            request_id, lambda: self._load(parse_id(snapshot_id, "Snapshot")),
            lambda snapshot, at: [(snapshot, model.reset_status(
                visible(snapshot, caller, "Snapshot"), status, request_id=request_id,
                at=at))])

    def report_progress(self, snapshot_id: str, status: str, progress: str | None,
                        caller: Caller, request_id: str) -> Written[model.Snapshot]:
        """Cinder's os-update_snapshot_status, by the snapshot's owner or an admin."""
        return self.app.execute(
            request_id, lambda: self._load(parse_id(snapshot_id, "Snapshot")),
            lambda snapshot, at: [(snapshot, model.report_progress(
                visible(snapshot, caller, "Snapshot"), status, progress,
                request_id=request_id, at=at))])

    def force_delete(self, snapshot_id: str, caller: Caller,
                     request_id: str) -> Written[model.Snapshot]:
        """An admin deletes the snapshot whatever its status (os-force_delete)."""
        _admin(caller, "snapshot_admin_actions:force_delete")
        return self.app.execute(
            request_id, lambda: self._load(parse_id(snapshot_id, "Snapshot")),
            lambda snapshot, at: [(snapshot, model.force_delete(
                visible(snapshot, caller, "Snapshot"), request_id=request_id, at=at))])

    def usable(self, snapshot_id: str, caller: Caller, size_gb: int | None) -> model.Snapshot:
        """A snapshot the caller may make a volume of ``size_gb`` (None: the
        snapshot's size) from; a 4xx if not."""
        state = visible(self._load(parse_id(snapshot_id, "Snapshot")), caller, "Snapshot")
        model.source_for(state, state.size_gb if size_gb is None else size_gb)
        return state

    def record_outcome(self, outcome: StepOutcome) -> int | None:
        """A storage host's report on a snapshot (one of its steps); a
        deletion's end takes it off its volume and gives the quota back."""
        snapshot_id = parse_id(outcome.aggregate_id, "Snapshot")

        def decide(snapshot: Aggregate[model.Snapshot], at: datetime) -> list[Change]:
            state = snapshot.current
            if state is None:
                return []
            event = model.complete(state, outcome.request_id, ok=outcome.ok,
                                   reason=outcome.reason, at=outcome.at)
            if event is None or snapshot.after(event).status is not Status.DELETED:
                return [(snapshot, event)]
            volume = self.app.load_or_new(uuid.UUID(state.volume_id), VOLUME)
            quota = quota_of(self.app, state.project_id)
            return [(snapshot, event),
                    (volume, volume_model.snapshot_removed(
                        volume.current, snapshot_id=state.id, request_id=outcome.request_id,
                        at=outcome.at)),
                    (quota, quota_model.release_snapshot(quota.current, state.id, outcome.at))]

        return self.app.execute(None, lambda: self._load(snapshot_id), decide,
                                answer=nothing).position

    def _load(self, snapshot_id: uuid.UUID) -> Aggregate[model.Snapshot]:
        return self.app.load_or_new(snapshot_id, SNAPSHOT)
