"""Backup commands: take, delete, restore, and the storage hosts' outcomes.

A backup's id comes from the request id, so a retried request finds what it
made. A restore is a volume create that names the backup: the storage host
makes the volume from the archive (commands/volumes.py).
"""

from __future__ import annotations

import uuid

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.lookups import parse_id, visible
from commands.messages import Caller
from domain import backup as model
from domain import volume as volume_model
from messaging.wire import StepOutcome

NAMESPACE = uuid.UUID("9e4b1c27-5d3a-4f86-b0c2-8a1e7d6f5c34")


class TakeBackup(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    volume_id: str
    name: str = ""
    description: str = ""
    force: bool = False


class DeleteBackup(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    backup_id: str


class BackupAccepted(msgspec.Struct, frozen=True, kw_only=True):
    backup: model.Backup
    position: int | None


class BackupCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def take(self, cmd: TakeBackup) -> BackupAccepted:
        backup_id = uuid.uuid5(NAMESPACE, cmd.request_id)
        volume_id = parse_id(cmd.volume_id, "Volume")

        def attempt() -> BackupAccepted:
            found = self.app.load(backup_id)
            if found is not None:
                return BackupAccepted(backup=found.state, position=None)
            volume = visible(self.app, volume_id, cmd.caller, volume_model.Volume, "Volume")
            aggregate = Aggregate(backup_id, model.BackupEvent.aggregate)
            aggregate.record(model.take(volume.state, request_id=cmd.request_id,
                                        user_id=cmd.caller.user_id, name=cmd.name,
                                        description=cmd.description, force=cmd.force,
                                        at=self.app.clock()))
            return BackupAccepted(backup=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def delete(self, cmd: DeleteBackup) -> BackupAccepted:
        backup_id = parse_id(cmd.backup_id, "Backup")

        def attempt() -> BackupAccepted:
            aggregate = visible(self.app, backup_id, cmd.caller, model.Backup, "Backup")
            if cmd.request_id in aggregate.requests:
                return BackupAccepted(backup=aggregate.state, position=None)
            aggregate.record(model.delete(aggregate.state, request_id=cmd.request_id,
                                          at=self.app.clock()))
            return BackupAccepted(backup=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def restorable(self, backup_id: str, caller: Caller, size_gb: int | None) -> model.Backup:
        """A backup the caller may restore into ``size_gb`` (None: its size); 4xx if not."""
        aggregate = visible(self.app, parse_id(backup_id, "Backup"), caller, model.Backup,
                             "Backup")
        state: model.Backup = aggregate.state
        model.restorable(state, state.size_gb if size_gb is None else size_gb)
        return state

    def record_outcome(self, outcome: StepOutcome) -> int | None:
        """A storage host's report on a step of a backup."""
        backup_id = parse_id(outcome.aggregate_id, "Backup")

        def attempt() -> int | None:
            aggregate = self.app.load(backup_id)
            if aggregate is None or aggregate.kind != model.BackupEvent.aggregate:
                return None
            event = model.complete(aggregate.state, outcome.request_id, ok=outcome.ok,
                                   reason=outcome.reason, at=outcome.at,
                                   checksum=outcome.checksum,
                                   stored_bytes=outcome.stored_bytes)
            if event is None:
                return None
            aggregate.record(event)
            return self.app.commit(aggregate)

        return retrying(attempt)
