"""Volume commands: create, delete, and the storage hosts' outcomes.

A create claims the project's volume quota (one volume, its gigabytes) in
the same transaction as the volume, so racing creates never over-commit; the
claim is given back in the transaction that records the volume's deletion.
The volume's id comes from the request id, so a retried create finds the
volume it made and writes nothing. Another project's volume is "not found".
"""

from __future__ import annotations

import uuid

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.messages import Caller
from domain import quota as quota_model
from domain import volume as model
from domain.errors import InvalidInput, NotFound
from domain.messages import VolumeOutcome

NAMESPACE = uuid.UUID("0b8f5e1c-7a2d-4c3e-9f61-5d4e3c2b1a09")
DEFAULT_TYPE = "__DEFAULT__"  # Cinder's name for the default volume type


class CreateVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    size_gb: int
    name: str = ""
    description: str = ""
    volume_type: str | None = None
    availability_zone: str | None = None


class DeleteVolume(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str


class VolumeAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The volume as the write side knows it, and the log position written
    (None: the request was seen before and nothing new was written)."""

    volume: model.Volume
    position: int | None


def volume_id_for(request_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, request_id)


class VolumeCommands:
    def __init__(self, app: NimbusApplication, storage_hosts: list[str],
                 quotas: quota_model.QuotaDefaults) -> None:
        if not storage_hosts:
            raise ValueError("volumes need at least one storage host")
        self.app = app
        self.storage_hosts = storage_hosts
        self.quotas = quotas

    def create(self, cmd: CreateVolume) -> VolumeAccepted:
        volume_id = volume_id_for(cmd.request_id)
        volume_type = cmd.volume_type or DEFAULT_TYPE
        if volume_type != DEFAULT_TYPE:
            raise NotFound(f"Volume type {volume_type} could not be found.")
        zone = cmd.availability_zone or "nova"
        if zone != "nova":
            raise InvalidInput(f"Availability zone '{zone}' is invalid.")

        def attempt() -> VolumeAccepted:
            found = self.app.load(volume_id)
            if found is not None:
                return VolumeAccepted(volume=found.state, position=None)
            at = self.app.clock()
            aggregate = Aggregate(volume_id, model.VolumeEvent.aggregate)
            aggregate.record(model.create(
                request_id=cmd.request_id, project_id=cmd.caller.project_id,
                user_id=cmd.caller.user_id, name=cmd.name, description=cmd.description,
                size_gb=cmd.size_gb, volume_type=volume_type, host=self.storage_hosts[0],
                availability_zone=zone, at=at))
            quota = self._quota(cmd.caller.project_id)
            quota.record(quota_model.claim_volume(
                quota.state, self.quotas, project_id=cmd.caller.project_id,
                volume_id=str(volume_id), gigabytes=cmd.size_gb, at=at))
            position = self.app.commit(aggregate, quota)
            return VolumeAccepted(volume=aggregate.state, position=position)

        return retrying(attempt)

    def delete(self, cmd: DeleteVolume) -> VolumeAccepted:
        volume_id = _parse_id(cmd.volume_id)

        def attempt() -> VolumeAccepted:
            aggregate = self._visible(volume_id, cmd.caller)
            if cmd.request_id in aggregate.requests:
                return VolumeAccepted(volume=aggregate.state, position=None)
            aggregate.record(model.delete(aggregate.state, request_id=cmd.request_id,
                                          at=self.app.clock()))
            return VolumeAccepted(volume=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def record_outcome(self, outcome: VolumeOutcome) -> int | None:
        """A storage host's report as an event; a repeated report writes nothing."""
        volume_id = _parse_id(outcome.volume_id)

        def attempt() -> int | None:
            aggregate = self.app.load(volume_id)
            if aggregate is None or aggregate.kind != model.VolumeEvent.aggregate:
                return None
            event = model.complete(aggregate.state, outcome.request_id, ok=outcome.ok,
                                   reason=outcome.reason, at=outcome.at)
            if event is None:
                return None
            aggregate.record(event)
            changed = [aggregate]
            state: model.Volume = aggregate.state
            if state.status is model.Status.DELETED:
                quota = self._quota(state.project_id)
                released = quota_model.release_volume(quota.state, str(volume_id), outcome.at)
                if released is not None:
                    quota.record(released)
                    changed.append(quota)
            return self.app.commit(*changed)

        return retrying(attempt)

    def volume(self, volume_id: str, caller: Caller) -> model.Volume:
        state: model.Volume = self._visible(_parse_id(volume_id), caller).state
        return state

    def _quota(self, project_id: str) -> Aggregate:
        aggregate_id = quota_model.quota_id(project_id)
        return (self.app.load(aggregate_id)
                or Aggregate(aggregate_id, quota_model.QuotaEvent.aggregate))

    def _visible(self, volume_id: uuid.UUID, caller: Caller) -> Aggregate:
        aggregate = self.app.load(volume_id)
        state = aggregate.state if aggregate else None
        if (aggregate is None or not isinstance(state, model.Volume)
                or state.status is model.Status.DELETED
                or (state.project_id != caller.project_id and not caller.is_admin)):
            raise NotFound(f"Volume {volume_id} could not be found.")
        return aggregate


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"Volume {value} could not be found.") from None
