"""Volume backups: the seed's procedure, as an aggregate with Cinder's statuses.

The volume's storage host archives only the used data of the volume into the
backup directory, with a checksum beside it, and reports the sha256 of the
volume's bytes; a restore makes a new volume from the archive (refused if
the archive's checksum does not match) whose bytes must hash the same. A
backup outlives its volume, as in Cinder.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, Pending, UnknownEvent, unknown_event
from domain.copies import DELETABLE, Status, deleting, ended
from domain.errors import InvalidInput
from domain.volume import Status as VolumeStatus
from domain.volume import Volume


class BackupEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "backup"
    request_id: str


class BackupCreateRequested(BackupEvent, frozen=True, kw_only=True):
    host: str  # the volume's storage host, which reads the bytes
    volume_id: str
    project_id: str
    user_id: str
    name: str
    description: str
    size_gb: int


class BackupDeleteRequested(BackupEvent, frozen=True, kw_only=True):
    host: str


class BackupSucceeded(BackupEvent, frozen=True, kw_only=True):
    checksum: str = ""  # after a create: sha256 of the volume's bytes
    stored_bytes: int = 0  # after a create: the archive's size


class BackupFailed(BackupEvent, frozen=True, kw_only=True):
    reason: str


class BackupStatusReset(BackupEvent, frozen=True, kw_only=True):
    """An admin set the status (Cinder's os-reset_status); a step the host was
    asked to take is no longer waited for (its answer is ignored)."""

    status: str


AnyBackupEvent = (BackupCreateRequested | BackupDeleteRequested | BackupSucceeded | BackupFailed
                  | BackupStatusReset)
StorageStep = BackupCreateRequested | BackupDeleteRequested  # what its storage host does


class Backup(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    volume_id: str
    project_id: str
    user_id: str
    name: str
    description: str
    size_gb: int
    host: str
    status: Status
    created_at: datetime
    updated_at: datetime
    checksum: str = ""
    stored_bytes: int = 0
    pending: Pending[BackupEvent] | None = None
    fault: str | None = None


def evolve(state: Backup | None, event: BackupEvent, backup_id: str) -> Backup:
    if not isinstance(event, AnyBackupEvent):
        raise UnknownEvent(event, "backup")
    if isinstance(event, BackupCreateRequested):
        return Backup(
            id=backup_id, volume_id=event.volume_id, project_id=event.project_id,
            user_id=event.user_id, name=event.name, description=event.description,
            size_gb=event.size_gb, host=event.host, status=Status.CREATING,
            created_at=event.at, updated_at=event.at,
            pending=Pending(event.request_id, type(event), event.at))
    assert state is not None, "a backup's first event creates it"
    match event:
        case BackupStatusReset():
            return msgspec.structs.replace(state, status=Status(event.status), pending=None,
                                           updated_at=event.at)
        case BackupDeleteRequested():
            return deleting(state, request_id=event.request_id, step=type(event), at=event.at)
        case BackupSucceeded():
            if state.pending is not None and state.pending.step is BackupCreateRequested:
                return ended(state, create=BackupCreateRequested, ok=True, at=event.at,
                             checksum=event.checksum, stored_bytes=event.stored_bytes)
            return ended(state, create=BackupCreateRequested, ok=True, at=event.at)
        case BackupFailed():
            return ended(state, create=BackupCreateRequested, ok=False, at=event.at,
                         fault=event.reason)
        case _:
            unknown_event(event, "backup")


def take(volume: Volume, *, request_id: str, user_id: str, name: str, description: str,
         force: bool, at: datetime) -> BackupCreateRequested:
    """Cinder backs up an available volume, or an in-use one when forced."""
    allowed = {VolumeStatus.AVAILABLE} | ({VolumeStatus.IN_USE} if force else set())
    if volume.status not in allowed:
        raise InvalidInput(f"Invalid volume: Volume to be backed up must be available or "
                           f"in-use, but the current status is \"{volume.status}\".")
    return BackupCreateRequested(
        request_id=request_id, at=at, host=volume.host, volume_id=volume.id,
        project_id=volume.project_id, user_id=user_id, name=name, description=description,
        size_gb=volume.size_gb)


def delete(state: Backup, *, request_id: str, at: datetime) -> BackupDeleteRequested:
    if state.status not in DELETABLE:
        raise InvalidInput(f"Invalid backup: Backup status must be available or error "
                           f"(current status: {state.status})")
    return BackupDeleteRequested(request_id=request_id, at=at, host=state.host)


def reset_status(state: Backup, status: str, *, request_id: str,
                 at: datetime) -> BackupStatusReset:
    """An admin's word on the status: Cinder lets it be ``available`` or ``error``."""
    if status not in (Status.AVAILABLE, Status.ERROR):
        raise InvalidInput(f"Invalid input received: backup status {status!r} must be "
                           "available or error.")
    return BackupStatusReset(request_id=request_id, at=at, status=status)


def restorable(state: Backup, size_gb: int) -> None:
    if state.status is not Status.AVAILABLE:
        raise InvalidInput(f"Invalid backup: Backup status must be available "
                           f"(current status: {state.status})")
    if size_gb < state.size_gb:
        raise InvalidInput(f"Invalid volume: volume size {size_gb} GB is too small to "
                           f"restore backup of size {state.size_gb} GB.")


def complete(state: Backup, request_id: str, *, ok: bool, reason: str, at: datetime,
             checksum: str = "", stored_bytes: int = 0) -> BackupEvent | None:
    if state.pending is None or state.pending.request_id != request_id:
        return None
    if ok:
        return BackupSucceeded(request_id=request_id, at=at, checksum=checksum,
                               stored_bytes=stored_bytes)
    return BackupFailed(request_id=request_id, at=at, reason=reason or "failed on the host")
