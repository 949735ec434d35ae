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

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.backups import BackupCommands
from commands.lookups import parse_id, visible
from commands.messages import Caller
from commands.quotas import quota_of
from commands.snapshots import SnapshotCommands
from domain import quota as quota_model
from domain import server_disks as disks_model
from domain import volume as model
from domain.errors import InvalidInput, InvalidState, NotFound
from domain.instance import Instance, VmState
from domain.volume_types import VolumeType, find
from messaging.wire import StepOutcome

NAMESPACE = uuid.UUID("0b8f5e1c-7a2d-4c3e-9f61-5d4e3c2b1a09")
# vm_states in which a server takes or gives up a volume (Nova's, less shelving)
ATTACHABLE = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED, VmState.SUSPENDED})


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


class VolumeAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The volume as the write side knows it, and the log position written
    (None: the request was seen before and nothing new was written)."""

    volume: model.Volume
    position: int | None


def volume_id_for(request_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, request_id)


class VolumeCommands:
    def __init__(self, app: NimbusApplication, types: list[VolumeType],
                 quotas: quota_model.QuotaDefaults) -> None:
        self.app = app
        self.types = types
        self.quotas = quotas

    def create(self, cmd: CreateVolume) -> VolumeAccepted:
        volume_id = volume_id_for(cmd.request_id)
        volume_type = find(self.types, cmd.volume_type)
        zone = cmd.availability_zone or "nova"
        if zone != "nova":
            raise InvalidInput(f"Availability zone '{zone}' is invalid.")
        host, size_gb = volume_type.backends[0], cmd.size_gb
        if cmd.snapshot_id is not None:
            snapshots = SnapshotCommands(self.app, self.quotas)
            found = snapshots.usable(cmd.snapshot_id, cmd.caller, size_gb)
            host, size_gb = found.host, found.size_gb if size_gb is None else size_gb
        elif cmd.backup_id is not None:
            backup = BackupCommands(self.app).restorable(cmd.backup_id, cmd.caller, size_gb)
            host, size_gb = backup.host, backup.size_gb if size_gb is None else size_gb
        if size_gb is None:
            raise InvalidInput("Invalid input for field/attribute size: a size in GB, or a "
                               "snapshot_id to take it from, is required.")

        def attempt() -> VolumeAccepted:
            found = self.app.load(volume_id)
            if found is not None:
                return VolumeAccepted(volume=found.state, position=None)
            at = self.app.clock()
            aggregate = Aggregate(volume_id, model.VolumeEvent.aggregate)
            aggregate.record(model.create(
                request_id=cmd.request_id, project_id=cmd.caller.project_id,
                user_id=cmd.caller.user_id, name=cmd.name, description=cmd.description,
                size_gb=size_gb, volume_type=volume_type.name, host=host,
                availability_zone=zone, snapshot_id=cmd.snapshot_id, backup_id=cmd.backup_id,
                at=at))
            quota = quota_of(self.app, cmd.caller.project_id)
            quota.record(quota_model.claim_volume(
                quota.state, self.quotas, project_id=cmd.caller.project_id,
                volume_id=str(volume_id), gigabytes=size_gb, at=at))
            position = self.app.commit(aggregate, quota)
            return VolumeAccepted(volume=aggregate.state, position=position)

        return retrying(attempt)

    def delete(self, cmd: DeleteVolume) -> VolumeAccepted:
        volume_id = parse_id(cmd.volume_id, "Volume")

        def attempt() -> VolumeAccepted:
            aggregate = self._visible(volume_id, cmd.caller)
            if cmd.request_id in aggregate.requests:
                return VolumeAccepted(volume=aggregate.state, position=None)
            aggregate.record(model.delete(aggregate.state, request_id=cmd.request_id,
                                          at=self.app.clock()))
            return VolumeAccepted(volume=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def update(self, cmd: UpdateVolume) -> VolumeAccepted:
        """A new name or description, decided and done at once."""
        volume_id = parse_id(cmd.volume_id, "Volume")

        def attempt() -> VolumeAccepted:
            aggregate = self._visible(volume_id, cmd.caller)
            if cmd.request_id in aggregate.requests:
                return VolumeAccepted(volume=aggregate.state, position=None)
            aggregate.record(model.VolumeUpdated(request_id=cmd.request_id, at=self.app.clock(),
                                                 name=cmd.name, description=cmd.description))
            return VolumeAccepted(volume=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def attach(self, cmd: AttachVolume) -> VolumeAccepted:
        """Reserve the guest device and ask the storage host to export, in one commit."""
        volume_id = parse_id(cmd.volume_id, "Volume")
        server_id = parse_id(cmd.server_id, "Instance")

        def attempt() -> VolumeAccepted:
            instance = self._server(server_id, cmd.caller, "attach_volume")
            aggregate = self._visible(volume_id, cmd.caller)
            if cmd.request_id in aggregate.requests:
                return VolumeAccepted(volume=aggregate.state, position=None)
            model.attachable(aggregate.state)  # before the device: a 409 is the answer
            at = self.app.clock()
            disks = self._disks(str(server_id))
            reserved = disks_model.reserve(disks.state, server_id=str(server_id),
                                           volume_id=str(volume_id), wanted=cmd.device, at=at)
            aggregate.record(model.attach(aggregate.state, request_id=cmd.request_id,
                                          server_id=str(server_id), compute_host=instance.host,
                                          device=reserved.device, at=at))
            disks.record(reserved)
            return VolumeAccepted(volume=aggregate.state,
                                  position=self.app.commit(aggregate, disks))

        return retrying(attempt)

    def detach(self, cmd: DetachVolume) -> VolumeAccepted:
        """Ask the server's host to remove the disk; the export ends after it."""
        volume_id = parse_id(cmd.volume_id, "Volume")
        server_id = parse_id(cmd.server_id, "Instance")

        def attempt() -> VolumeAccepted:
            self._server(server_id, cmd.caller, "detach_volume")
            aggregate = self._visible(volume_id, cmd.caller)
            if cmd.request_id in aggregate.requests:
                return VolumeAccepted(volume=aggregate.state, position=None)
            aggregate.record(model.detach(aggregate.state, request_id=cmd.request_id,
                                          server_id=str(server_id), at=self.app.clock()))
            return VolumeAccepted(volume=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def record_outcome(self, outcome: StepOutcome) -> int | None:
        """A host's report on a step (storage or compute host) as the event it
        leads to; a repeated report writes nothing."""
        volume_id = parse_id(outcome.aggregate_id, "Volume")

        def attempt() -> int | None:
            aggregate = self.app.load(volume_id)
            if aggregate is None or aggregate.kind != model.VolumeEvent.aggregate:
                return None
            event = model.complete(aggregate.state, outcome.request_id, step=outcome.step,
                                   ok=outcome.ok, reason=outcome.reason, at=outcome.at,
                                   target=outcome.target)
            if event is None:
                return None
            attached_to: str | None = aggregate.state.server_id
            aggregate.record(event)
            changed = [aggregate]
            state: model.Volume = aggregate.state
            if attached_to is not None and state.server_id is None:  # detached, or never was
                disks = self._disks(attached_to)
                released_disk = disks_model.release(disks.state, volume_id=str(volume_id),
                                                    at=outcome.at)
                if released_disk is not None:
                    disks.record(released_disk)
                    changed.append(disks)
            if state.status is model.Status.DELETED:
                quota = quota_of(self.app, state.project_id)
                released = quota_model.release_volume(quota.state, str(volume_id), outcome.at)
                if released is not None:
                    quota.record(released)
                    changed.append(quota)
            return self.app.commit(*changed)

        return retrying(attempt)

    def volume(self, volume_id: str, caller: Caller) -> model.Volume:
        state: model.Volume = self._visible(parse_id(volume_id, "Volume"), caller).state
        return state

    def _server(self, server_id: uuid.UUID, caller: Caller, action: str) -> Instance:
        """The caller's server, able to take a volume now (Nova's 404 and 409)."""
        aggregate = self.app.load(server_id)
        state = aggregate.state if aggregate else None
        if (not isinstance(state, Instance) or state.vm_state == VmState.DELETED
                or (state.project_id != caller.project_id and not caller.is_admin)):
            raise NotFound(f"Instance {server_id} could not be found.")
        if state.vm_state not in ATTACHABLE or state.task_state is not None:
            raise InvalidState(f"Cannot '{action}' instance {server_id} while it is in "
                               f"vm_state {state.vm_state}")
        return state

    def _disks(self, server_id: str) -> Aggregate:
        return _disks_of(self.app, server_id)

    def _visible(self, volume_id: uuid.UUID, caller: Caller) -> Aggregate:
        return visible(self.app, volume_id, caller, model.Volume, "Volume")


def _disks_of(app: NimbusApplication, server_id: str) -> Aggregate:
    return app.load_or_new(disks_model.server_disks_id(server_id),
                           disks_model.DiskEvent.aggregate)


def detach_for_server_delete(app: NimbusApplication, server_id: str, request_id: str,
                             at: datetime) -> list[Aggregate]:
    """The server's disks and volumes with the events its delete records on
    them, for the caller to commit with the instance's delete: each volume
    the server holds is asked to detach (``domain.volume``)."""
    disks = _disks_of(app, server_id)
    detach = disks_model.detach_all(disks.state, server_id=server_id, at=at)
    disks.record(detach)
    changed = [disks]
    for volume_id in detach.volume_ids:
        aggregate = app.load(uuid.UUID(volume_id))
        if aggregate is None or aggregate.kind != model.VolumeEvent.aggregate:
            continue
        for event in model.detach_for_server_delete(aggregate.state, server_id=server_id,
                                                    request_id=request_id, at=at):
            aggregate.record(event)
        changed.append(aggregate)
    return changed
