"""Backup commands: take, delete, restore, and the storage hosts' outcomes.

A backup's id comes from the request id, so a retried request finds what it
made. A restore is a volume create that names the backup: the storage host
makes the volume from the archive (commands/volumes.py).
"""

from __future__ import annotations

import uuid

import msgspec

from commands.application import Aggregate, NimbusApplication, Written, nothing
from commands.lookups import parse_id, visible
from commands.messages import Caller
from domain import backup as model
from domain.errors import Forbidden
from domain.registry import BACKUP, VOLUME
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


class BackupCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def take(self, cmd: TakeBackup) -> Written[model.Backup]:
        volume_id = parse_id(cmd.volume_id, "Volume")
        return self.app.execute(
            cmd.request_id, lambda: self._load(uuid.uuid5(NAMESPACE, cmd.request_id)),
            lambda backup, at: [(backup, model.take(
                visible(self.app.load_or_new(volume_id, VOLUME), cmd.caller, "Volume"),
                request_id=cmd.request_id, user_id=cmd.caller.user_id, name=cmd.name,
                description=cmd.description, force=cmd.force, at=at))])

    def delete(self, cmd: DeleteBackup) -> Written[model.Backup]:
        return self.app.execute(
            cmd.request_id, lambda: self._load(parse_id(cmd.backup_id, "Backup")),
            lambda backup, at: [(backup, model.delete(
                visible(backup, cmd.caller, "Backup"), request_id=cmd.request_id, at=at))])

    def reset_status(self, backup_id: str, status: str, caller: Caller,
                     request_id: str) -> Written[model.Backup]:
        """An admin sets the status (Cinder's os-reset_status)."""
        if not caller.is_admin:
            raise Forbidden("Policy doesn't allow volume_extension:backup_admin_actions:"
                            "reset_status to be performed.")
        return self.app.execute(
            request_id, lambda: self._load(parse_id(backup_id, "Backup")),
            lambda backup, at: [(backup, model.reset_status(
                visible(backup, caller, "Backup"), status, request_id=request_id, at=at))])

    def restorable(self, backup_id: str, caller: Caller, size_gb: int | None) -> model.Backup:
        """A backup the caller may restore into ``size_gb`` (None: its size); 4xx if not."""
        state = visible(self._load(parse_id(backup_id, "Backup")), caller, "Backup")
        model.restorable(state, state.size_gb if size_gb is None else size_gb)
        return state

    def record_outcome(self, outcome: StepOutcome) -> int | None:
        """A storage host's report on a backup (one of its steps)."""
        return self.app.execute(
            None, lambda: self._load(parse_id(outcome.aggregate_id, "Backup")),
            lambda backup, at: [] if backup.current is None else [(backup, model.complete(
                backup.current, outcome.request_id, ok=outcome.ok, reason=outcome.reason,
                at=outcome.at, checksum=outcome.checksum, stored_bytes=outcome.stored_bytes))],
            answer=nothing).position

    def _load(self, backup_id: uuid.UUID) -> Aggregate[model.Backup]:
        return self.app.load_or_new(backup_id, BACKUP)
