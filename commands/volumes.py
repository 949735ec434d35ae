"""Volume commands: create, delete, attach, detach, and the hosts' outcomes.

A create claims the project's volume quota (one volume, its gigabytes) in
the same transaction as the volume, so racing creates never over-commit; the
claim is given back in the transaction that records the volume's deletion.
The volume's id comes from the request id, so a retried create finds the
volume it made and writes nothing. Another project's volume is "not found".
A server's delete detaches the server's volumes in its own transaction
(``detach_for_server_delete``, called by the instance commands).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from commands.application import (
    Aggregate,
    Change,
    NimbusApplication,
    Written,
    nothing,
    recorded,
)
from commands.backups import BackupCommands
from commands.lookups import parse_id, visible
from commands.messages import Caller
from commands.quotas import defaults_of, quota_of
from commands.snapshots import SnapshotCommands
from commands.volume_types import VolumeTypeCommands
from domain import quota as quota_model
from domain import server_disks as disks_model
from domain import volume as model
from domain.instance import Instance
from domain.registry import DISKS, EVENT_TYPES, INSTANCE, VOLUME
from messaging.wire import StepOutcome

NAMESPACE = uuid.UUID("0b8f5e1c-7a2d-4c3e-9f61-5d4e3c2b1a09")


class CreateVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    size_gb: int | None  # None: the snapshot's size
    snapshot_id: str | None = None  # made from this snapshot's bytes
    backup_id: str | None = None  # restored from this backup
    name: str = ""
    description: str = ""
    volume_type: str | None = None
    availability_zone: str | None = None
    metadata: dict[str, str] = {}


class DeleteVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str


class UpdateVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str
    name: str | None = None
    description: str | None = None


class ChangeVolumeMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """Merge ``given`` into the volume's metadata (``replace``: make it all of
    it), or remove the key ``remove``."""

    request_id: str
    caller: Caller
    volume_id: str
    given: dict[str, str] = {}
    replace: bool = False
    remove: str | None = None


class RetypeVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str
    new_type: str  # a type's id or name
    migration_policy: str = "never"


class AttachVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    server_id: str
    volume_id: str
    device: str | None = None  # the next free one when None


class DetachVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    server_id: str
    volume_id: str


def volume_id_for(request_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, request_id)


class VolumeCommands:
    def __init__(self, app: NimbusApplication, types: VolumeTypeCommands,
                 quotas: quota_model.QuotaDefaults) -> None:
        self.app = app
        self.types = types
        self.quotas = quotas

    def create(self, cmd: CreateVolume) -> Written[model.Volume]:
        """A new volume (from a snapshot's or a backup's bytes, if named) with
        its quota claim; its id comes from the request id."""
        volume_type = self.types.usable(cmd.volume_type, cmd.caller)
        zone = model.availability_zone(cmd.availability_zone)
        host, size_gb = volume_type.backends[0], cmd.size_gb
        if cmd.snapshot_id is not None:
            snapshots = SnapshotCommands(self.app, self.quotas)
            found = snapshots.usable(cmd.snapshot_id, cmd.caller, size_gb)
            host, size_gb = found.host, found.size_gb if size_gb is None else size_gb
        elif cmd.backup_id is not None:
            backup = BackupCommands(self.app).restorable(cmd.backup_id, cmd.caller, size_gb)
            host, size_gb = backup.host, backup.size_gb if size_gb is None else size_gb
        volume_id = volume_id_for(cmd.request_id)

        def decide(volume: Aggregate[model.Volume], at: datetime) -> list[Change]:
            made = model.create(
                request_id=cmd.request_id, project_id=cmd.caller.project_id,
                user_id=cmd.caller.user_id, name=cmd.name, description=cmd.description,
                size_gb=size_gb, volume_type=volume_type.name, host=host,
                availability_zone=zone, snapshot_id=cmd.snapshot_id,
                backup_id=cmd.backup_id, metadata=cmd.metadata, at=at)
            quota = quota_of(self.app, cmd.caller.project_id)
            return [(volume, made), (quota, quota_model.claim_volume(
                quota.current, defaults_of(self.app, self.quotas),
                project_id=cmd.caller.project_id,
                volume_id=str(volume_id), gigabytes=made.size_gb, at=at))]

        return self.app.execute(cmd.request_id, lambda: self._load(volume_id), decide)

    def delete(self, cmd: DeleteVolume) -> Written[model.Volume]:
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.volume_id, "Volume")),
            lambda volume, at: [(volume, model.delete(
                visible(volume, cmd.caller, "Volume"), request_id=cmd.request_id, at=at))])

    def update(self, cmd: UpdateVolume) -> Written[model.Volume]:
        """A new name or description, decided and done at once."""
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.volume_id, "Volume")),
            lambda volume, at: [(volume, model.update(
                visible(volume, cmd.caller, "Volume"), request_id=cmd.request_id,
                name=cmd.name, description=cmd.description, at=at))])

    def retype(self, cmd: RetypeVolume) -> Written[model.Volume]:
        """Cinder's os-retype, in place on the volume's storage host."""
        new_type = self.types.usable(cmd.new_type, cmd.caller)
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.volume_id, "Volume")),
            lambda volume, at: [(volume, model.retype(
                visible(volume, cmd.caller, "Volume"), new_type.name, new_type.backends,
                migration_policy=cmd.migration_policy, request_id=cmd.request_id, at=at))])

    def change_metadata(self, cmd: ChangeVolumeMetadata) -> Written[model.Volume]:
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.volume_id, "Volume")),
            lambda volume, at: [(volume, model.change_metadata(
                visible(volume, cmd.caller, "Volume"), request_id=cmd.request_id, at=at,
                given=cmd.given, replace=cmd.replace, remove=cmd.remove))])

    def attach(self, cmd: AttachVolume) -> Written[model.Volume]:
        """Reserve the guest device and ask the storage host to export, in one commit."""
        volume_id = parse_id(cmd.volume_id, "Volume")
        server_id = parse_id(cmd.server_id, "Instance")

        def decide(volume: Aggregate[model.Volume], at: datetime) -> list[Change]:
            server = self._server(server_id, cmd.caller, "attach_volume")
            state = visible(volume, cmd.caller, "Volume")
            model.attachable(state)  # before the device: a 409 is the answer
            disks = _disks_of(self.app, str(server_id))
            reserved = disks_model.reserve(disks.current, server_id=str(server_id),
                                           volume_id=str(volume_id), wanted=cmd.device, at=at)
            return [(volume, model.attach(state, request_id=cmd.request_id,
                                          server_id=str(server_id), compute_host=server.host,
                                          device=reserved.device, at=at)),
                    (disks, reserved)]

        return self.app.execute(cmd.request_id, lambda: self._load(volume_id), decide)

    def detach(self, cmd: DetachVolume) -> Written[model.Volume]:
        """Ask the server's host to remove the disk; the export ends after it."""
        server_id = parse_id(cmd.server_id, "Instance")

        def decide(volume: Aggregate[model.Volume], at: datetime) -> list[Change]:
            self._server(server_id, cmd.caller, "detach_volume")
            return [(volume, model.detach(visible(volume, cmd.caller, "Volume"),
                                          request_id=cmd.request_id, server_id=str(server_id),
                                          at=at))]

        return self.app.execute(cmd.request_id,
                                lambda: self._load(parse_id(cmd.volume_id, "Volume")), decide)

    def record_outcome(self, outcome: StepOutcome) -> int | None:
        """A host's report on a step (storage or compute host) as the event it
        leads to; a repeated report writes nothing. A detach's end gives the
        server's device back, a deletion's end the quota."""
        volume_id = parse_id(outcome.aggregate_id, "Volume")

        def decide(volume: Aggregate[model.Volume], at: datetime) -> list[Change]:
            state = volume.current
            step = EVENT_TYPES.get(outcome.step)  # the class the wire names
            if state is None or step is None:
                return []
            event = model.complete(state, outcome.request_id, step=step, ok=outcome.ok,
                                   reason=outcome.reason, at=outcome.at, target=outcome.target)
            return step_changes(self.app, volume, event, outcome.at)

        return self.app.execute(None, lambda: self._load(volume_id), decide,
                                answer=nothing).position

    def volume(self, volume_id: str, caller: Caller) -> model.Volume:
        return visible(self._load(parse_id(volume_id, "Volume")), caller, "Volume")

    def _server(self, server_id: uuid.UUID, caller: Caller, action: str) -> Instance:
        found = self.app.find(INSTANCE, server_id)
        return model.server_for(found.state if found else None, str(server_id),
                                project_id=caller.project_id, is_admin=caller.is_admin,
                                action=action)

    def _load(self, volume_id: uuid.UUID) -> Aggregate[model.Volume]:
        return self.app.load_or_new(volume_id, VOLUME)


def step_changes(app: NimbusApplication, volume: Aggregate[model.Volume],
                 event: model.VolumeEvent | None, at: datetime) -> list[Change]:
    """What the end of a volume's step (``event``, None: nothing) records: the
    event, the server's device given back once it is detached, the quota once
    the volume is deleted (a host's report, or a deadline: commands/deadlines.py)."""
    state = volume.current
    if event is None or state is None:
        return []
    after = volume.after(event)
    changes: list[Change] = [(volume, event)]
    if state.server_id is not None and after.server_id is None:  # detached
        disks = _disks_of(app, state.server_id)
        changes.append((disks, disks_model.release(disks.current, volume_id=state.id, at=at)))
    if after.status is model.Status.DELETED:
        quota = quota_of(app, state.project_id)
        changes.append((quota, quota_model.release_volume(quota.current, state.id, at)))
    return changes


def _disks_of(app: NimbusApplication, server_id: str) -> Aggregate[disks_model.ServerDisks]:
    return app.load_or_new(disks_model.server_disks_id(server_id), DISKS)


def detach_for_server_delete(app: NimbusApplication, server_id: str, request_id: str,
                             at: datetime) -> list[Aggregate[Any]]:
    """The server's disks and volumes with the events its delete records on
    them, for the caller to commit with the instance's delete: each volume
    the server holds is asked to detach (``domain.volume``)."""
    disks = _disks_of(app, server_id)
    detach = disks_model.detach_all(disks.current, server_id=server_id, at=at)
    changes: list[Change] = [(disks, detach)]
    for volume_id in detach.volume_ids:
        volume = app.find(VOLUME, uuid.UUID(volume_id))
        if volume is not None:
            changes.append((volume, model.detach_for_server_delete(
                volume.state, server_id=server_id, request_id=request_id, at=at)))
    return recorded(changes)
