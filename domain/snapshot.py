"""Volume snapshots: point-in-time copies kept on the volume's storage host.

A snapshot is its own aggregate with Cinder's statuses (creating, available,
deleting, error, error_deleting). Taking one also records it on its volume
(``VolumeSnapshotAdded``), in the same transaction, so the volume refuses to
be deleted while it has snapshots; deleting the snapshot's bytes removes it
from the volume again. New volumes can be made from an available snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, Pending, UnknownEvent, unknown_event
from domain.copies import DELETABLE, Status, deleting, ended
from domain.errors import InvalidInput, InvalidState
from domain.volume import Status as VolumeStatus
from domain.volume import Volume, metadata_after


class SnapshotEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "snapshot"
    request_id: str


class SnapshotCreateRequested(SnapshotEvent, frozen=True, kw_only=True):
    host: str  # the volume's storage host, which keeps the copy
    volume_id: str
    project_id: str
    user_id: str
    name: str
    description: str
    size_gb: int
    metadata: dict[str, str] = {}  # the user's key-value pairs


class SnapshotMetadataSet(SnapshotEvent, frozen=True, kw_only=True):
    """The snapshot's metadata, all of it, after a change; no host is involved."""

    metadata: dict[str, str]


class SnapshotStatusReset(SnapshotEvent, frozen=True, kw_only=True):
    """An admin set the status (Cinder's os-reset_status); a step a host was
    asked to take is no longer waited for (its answer is ignored)."""

    status: str


class SnapshotProgressReported(SnapshotEvent, frozen=True, kw_only=True):
    """Whoever copies the bytes told how far it got (Cinder's
    os-update_snapshot_status, as Nova reports an assisted snapshot)."""

    status: str
    progress: str | None = None


class SnapshotDeleteRequested(SnapshotEvent, frozen=True, kw_only=True):
    host: str


class SnapshotSucceeded(SnapshotEvent, frozen=True, kw_only=True):
    pass


class SnapshotFailed(SnapshotEvent, frozen=True, kw_only=True):
    reason: str


AnySnapshotEvent = (SnapshotCreateRequested | SnapshotDeleteRequested | SnapshotSucceeded
                    | SnapshotFailed | SnapshotMetadataSet | SnapshotStatusReset
                    | SnapshotProgressReported)
StorageStep = SnapshotCreateRequested | SnapshotDeleteRequested  # what its storage host does


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
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
    pending: Pending[SnapshotEvent] | None = None
    fault: str | None = None
    metadata: dict[str, str] = {}
    progress: str | None = None  # as last reported; None: from the status


def evolve(state: Snapshot | None, event: SnapshotEvent, snapshot_id: str) -> Snapshot:
    if not isinstance(event, AnySnapshotEvent):
        raise UnknownEvent(event, "snapshot")
    if isinstance(event, SnapshotCreateRequested):
        return Snapshot(
            id=snapshot_id, volume_id=event.volume_id, project_id=event.project_id,
            user_id=event.user_id, name=event.name, description=event.description,
            size_gb=event.size_gb, host=event.host, status=Status.CREATING,
            created_at=event.at, updated_at=event.at,
            pending=Pending(event.request_id, type(event), event.at),
            metadata=dict(event.metadata))
    assert state is not None, "a snapshot's first event creates it"
    match event:
        case SnapshotStatusReset():
            return msgspec.structs.replace(state, status=Status(event.status), pending=None,
                                           progress=None, updated_at=event.at)
        case SnapshotProgressReported():
            return msgspec.structs.replace(state, status=Status(event.status),
                                           progress=event.progress, updated_at=event.at)
        case SnapshotMetadataSet():
            return msgspec.structs.replace(state, metadata=dict(event.metadata),
                                           updated_at=event.at)
        case SnapshotDeleteRequested():
            return deleting(state, request_id=event.request_id, step=type(event), at=event.at)
        case SnapshotSucceeded():
            return ended(state, create=SnapshotCreateRequested, ok=True, at=event.at)
        case SnapshotFailed():
            return ended(state, create=SnapshotCreateRequested, ok=False, at=event.at,
                         fault=event.reason)
        case _:
            unknown_event(event, "snapshot")


def take(volume: Volume, *, request_id: str, user_id: str, name: str, description: str,
         force: bool, at: datetime,
         metadata: dict[str, str] | None = None) -> SnapshotCreateRequested:
    """Cinder snapshots an available volume, or an in-use one when forced."""
    allowed = {VolumeStatus.AVAILABLE} | ({VolumeStatus.IN_USE} if force else set())
    if volume.status not in allowed:
        if volume.status is VolumeStatus.IN_USE:
            raise InvalidInput(f"Invalid volume: Volume {volume.id} status must be available, "
                               "but current status is: in-use. Use force to snapshot an "
                               "attached volume.")
        raise InvalidState(f"Invalid volume: Volume {volume.id} status must be available, "
                           f"but current status is: {volume.status}")
    return SnapshotCreateRequested(
        request_id=request_id, at=at, host=volume.host, volume_id=volume.id,
        project_id=volume.project_id, user_id=user_id, name=name, description=description,
        size_gb=volume.size_gb, metadata=dict(metadata or {}))


def change_metadata(state: Snapshot, *, request_id: str, at: datetime,
                    given: dict[str, str] | None = None, replace: bool = False,
                    remove: str | None = None) -> SnapshotMetadataSet:
    """The snapshot's metadata after a merge, a replacement or a key's removal
    (``metadata_after``, as a volume's)."""
    return SnapshotMetadataSet(request_id=request_id, at=at, metadata=metadata_after(
        state.metadata, given=given, replace=replace, remove=remove))


def delete(state: Snapshot, *, request_id: str, at: datetime) -> SnapshotDeleteRequested:
    if state.status not in DELETABLE:
        raise InvalidInput(f"Invalid snapshot: Snapshot status must be available or error "
                           f"(current status: {state.status})")
    return SnapshotDeleteRequested(request_id=request_id, at=at, host=state.host)


RESETTABLE = frozenset(s for s in Status if s is not Status.DELETED)
# os-update_snapshot_status: the statuses a report may move each one to
REPORTABLE = {Status.CREATING: frozenset({Status.CREATING, Status.AVAILABLE, Status.ERROR}),
              Status.DELETING: frozenset({Status.DELETING, Status.ERROR_DELETING})}


def _status(raw: str, allowed: frozenset[Status]) -> Status:
    if raw not in {str(s) for s in allowed}:
        raise InvalidInput(f"Invalid input received: status {raw!r} must be one of "
                           f"{', '.join(sorted(allowed))}.")
    return Status(raw)


def reset_status(state: Snapshot, status: str, *, request_id: str,
                 at: datetime) -> SnapshotStatusReset:
    """An admin's word on the status, whatever the snapshot is doing."""
    return SnapshotStatusReset(request_id=request_id, at=at,
                               status=str(_status(status, RESETTABLE)))


def report_progress(state: Snapshot, status: str, progress: str | None, *, request_id: str,
                    at: datetime) -> SnapshotProgressReported:
    """A progress report, while the snapshot is being made or deleted (Cinder's rules)."""
    allowed = REPORTABLE.get(state.status)
    if allowed is None or status not in {str(s) for s in allowed}:
        raise InvalidInput(f"Provided snapshot status {status} not allowed for snapshot "
                           f"with status {state.status}.")
    if progress is not None and not (progress.endswith("%") and progress[:-1].isdigit()
                                     and int(progress[:-1]) <= 100):
        raise InvalidInput(f"Invalid input received: progress {progress!r} must be a "
                           "percentage, such as '80%'.")
    return SnapshotProgressReported(request_id=request_id, at=at, status=status,
                                    progress=progress)


def force_delete(state: Snapshot, *, request_id: str, at: datetime) -> SnapshotDeleteRequested:
    """An admin's delete, whatever the status: the host is to remove the copy
    (a step it was taking is no longer waited for)."""
    return SnapshotDeleteRequested(request_id=request_id, at=at, host=state.host)


def source_for(state: Snapshot, size_gb: int) -> None:
    """A new volume may be made from an available snapshot no larger than it."""
    if state.status is not Status.AVAILABLE:
        raise InvalidInput(f"Invalid snapshot: Originating snapshot status must be one of "
                           f"'available' values (current status: {state.status})")
    if size_gb < state.size_gb:
        raise InvalidInput(f"Invalid input received: Volume size '{size_gb}'GB cannot be "
                           f"smaller than the snapshot size {state.size_gb}GB. They must be "
                           ">= original snapshot size.")


def complete(state: Snapshot, request_id: str, *, ok: bool, reason: str,
             at: datetime) -> SnapshotEvent | None:
    if state.pending is None or state.pending.request_id != request_id:
        return None
    if ok:
        return SnapshotSucceeded(request_id=request_id, at=at)
    return SnapshotFailed(request_id=request_id, at=at, reason=reason or "failed on the host")
