"""Volumes: the seed's nova-volume as an aggregate with Cinder's statuses.

A volume lives on one storage host. Each operation is requested by an event
addressed to the host that must act (the relay puts ``host`` in the subject)
and ends with that host's outcome: create and delete on the storage host;
attach first exports the volume on the storage host, then adds the disk to
the guest on the server's compute host; detach runs the other way. One
attachment at a time; a volume with snapshots, or attached, is not deleted.
Messages follow Cinder's wording.
"""

from __future__ import annotations

import enum
import typing
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event
from domain.errors import InvalidInput


class Status(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    ATTACHING = "attaching"
    IN_USE = "in-use"
    DETACHING = "detaching"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"


class VolumeEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "volume"
    request_id: str


class VolumeCreateRequested(VolumeEvent, frozen=True, kw_only=True):
    host: str  # the storage host that makes it
    project_id: str
    user_id: str
    name: str
    description: str
    size_gb: int
    volume_type: str
    availability_zone: str = "nova"
    snapshot_id: str | None = None  # made from this snapshot's bytes


class VolumeDeleteRequested(VolumeEvent, frozen=True, kw_only=True):
    host: str  # the storage host: it zeroes the bytes, then removes them


class VolumeSucceeded(VolumeEvent, frozen=True, kw_only=True):
    """The host did what the pending request asked."""


class VolumeFailed(VolumeEvent, frozen=True, kw_only=True):
    """The host refused the pending request."""

    reason: str


AnyVolumeEvent = VolumeCreateRequested | VolumeDeleteRequested | VolumeSucceeded | VolumeFailed

EVENT_TYPES: dict[str, type[VolumeEvent]] = {
    cls.__name__: cls for cls in typing.get_args(AnyVolumeEvent)
}


class Volume(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    user_id: str
    name: str
    description: str
    size_gb: int
    volume_type: str
    availability_zone: str
    host: str
    status: Status
    snapshot_id: str | None
    created_at: datetime
    updated_at: datetime
    pending: str | None = None  # the request id a host still has to answer
    pending_kind: str | None = None  # its event's class name
    fault: str | None = None


# What a host's success or refusal makes of each pending operation.
_ON_SUCCESS = {"VolumeCreateRequested": Status.AVAILABLE,
               "VolumeDeleteRequested": Status.DELETED}
_ON_FAILURE = {"VolumeCreateRequested": Status.ERROR,
               "VolumeDeleteRequested": Status.ERROR_DELETING}


def evolve(state: Volume | None, event: VolumeEvent, volume_id: str) -> Volume:
    if isinstance(event, VolumeCreateRequested):
        return Volume(
            id=volume_id, project_id=event.project_id, user_id=event.user_id,
            name=event.name, description=event.description, size_gb=event.size_gb,
            volume_type=event.volume_type, availability_zone=event.availability_zone,
            host=event.host, status=Status.CREATING, snapshot_id=event.snapshot_id,
            created_at=event.at, updated_at=event.at, pending=event.request_id,
            pending_kind=type(event).__name__,
        )
    assert state is not None, "a volume's first event creates it"
    if isinstance(event, VolumeDeleteRequested):
        return msgspec.structs.replace(state, status=Status.DELETING, updated_at=event.at,
                                       pending=event.request_id,
                                       pending_kind=type(event).__name__)
    kind = state.pending_kind or ""
    if isinstance(event, VolumeSucceeded):
        return msgspec.structs.replace(state, status=_ON_SUCCESS[kind], updated_at=event.at,
                                       pending=None, pending_kind=None, fault=None)
    if isinstance(event, VolumeFailed):
        return msgspec.structs.replace(state, status=_ON_FAILURE[kind], updated_at=event.at,
                                       pending=None, pending_kind=None, fault=event.reason)
    raise TypeError(f"not a volume event: {type(event).__name__}")


def create(
    *, request_id: str, project_id: str, user_id: str, name: str, description: str,
    size_gb: int, volume_type: str, host: str, at: datetime,
    availability_zone: str = "nova", snapshot_id: str | None = None,
) -> VolumeCreateRequested:
    """A new volume; ``size_gb`` a positive whole number of GB (Cinder's 400)."""
    if size_gb <= 0:
        raise InvalidInput(f"Invalid input received: Volume size '{size_gb}' must be an "
                           "integer and greater than 0.")
    return VolumeCreateRequested(
        request_id=request_id, at=at, host=host, project_id=project_id, user_id=user_id,
        name=name, description=description, size_gb=size_gb, volume_type=volume_type,
        availability_zone=availability_zone, snapshot_id=snapshot_id)


DELETABLE = frozenset({Status.AVAILABLE, Status.ERROR, Status.ERROR_DELETING})


def delete(state: Volume, *, request_id: str, at: datetime) -> VolumeDeleteRequested:
    """Cinder deletes an available volume, or one that failed; never while
    attached or busy (400 with its wording)."""
    if state.status not in DELETABLE:
        raise InvalidInput(
            f"Invalid volume: Volume status must be available or error or error_restoring "
            f"or error_extending or error_managing and must not be migrating, attached, "
            f"belong to a group, have snapshots, awaiting a transfer, or be disassociated "
            f"from snapshots after volume transfer. (current status: {state.status})")
    return VolumeDeleteRequested(request_id=request_id, at=at, host=state.host)


def complete(state: Volume, request_id: str, *, ok: bool, reason: str,
             at: datetime) -> VolumeEvent | None:
    """The event that ends the pending operation; None for a report of one that
    is not pending (a redelivered message changes nothing)."""
    if state.pending != request_id:
        return None
    if ok:
        return VolumeSucceeded(request_id=request_id, at=at)
    return VolumeFailed(request_id=request_id, at=at, reason=reason or "failed on the host")
