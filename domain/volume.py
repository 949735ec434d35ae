"""Volumes: the seed's nova-volume as an aggregate with Cinder's statuses.

A volume lives on one storage host. Each operation is requested by an event
addressed to the host that must act (the relay puts ``host`` in the subject)
and ends with that host's outcome: create and delete on the storage host;
attach first exports the volume on the storage host, then adds the disk to
the guest on the server's compute host; detach runs the other way. One
attachment at a time; a volume with snapshots, or attached, is not deleted.
Messages follow Cinder's wording.

A server's delete detaches its volumes in the same transaction
(``detach_for_server_delete``): an idle volume starts its detach at once,
a busy one as soon as the step in flight ends. Once its server is going,
a volume never stays attached: a compute host's refusal does not stop the
export from ending, and a refused unexport leaves it ``available`` with the
fault (the export may remain; the volume's delete ends it first).
That is where Nova and Cinder end: Nova's delete logs a volume's detach
failure and goes on, and Cinder's attachment delete marks the volume
detached even when removing the export failed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar, NamedTuple

import msgspec

from domain.base import Event, Pending, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound
from domain.instance import Instance, VmState
from domain.instance_boot import AVAILABILITY_ZONES

# vm_states in which a server takes or gives up a volume (Nova's, less shelving)
ATTACHABLE = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED, VmState.SUSPENDED})


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
    backup_id: str | None = None  # restored from this backup's archive
    metadata: dict[str, str] = {}  # the user's key-value pairs (Cinder's volume metadata)


class VolumeDeleteRequested(VolumeEvent, frozen=True, kw_only=True):
    host: str  # the storage host: it zeroes the bytes, then removes them


class VolumeAttachRequested(VolumeEvent, frozen=True, kw_only=True):
    """Status ``attaching``: the storage host is to export the volume first."""

    host: str  # the storage host
    server_id: str
    compute_host: str
    device: str  # /dev/vdX in the guest


class VolumeExported(VolumeEvent, frozen=True, kw_only=True):
    """The storage host exported it; the compute host is to add the disk."""

    host: str  # the server's compute host
    server_id: str
    device: str
    portal: str
    iqn: str
    lun: int


class VolumeDetachRequested(VolumeEvent, frozen=True, kw_only=True):
    """Status ``detaching``: the compute host is to remove the disk first."""

    host: str  # the server's compute host
    server_id: str
    device: str


class VolumeUnexportRequested(VolumeEvent, frozen=True, kw_only=True):
    """The disk is gone from the guest; the storage host is to end the export."""

    host: str  # the storage host


class VolumeDetachOnDeleteRequested(VolumeEvent, frozen=True, kw_only=True):
    """The volume's server is being deleted: the volume detaches now (a
    ``VolumeDetachRequested`` follows in the same transaction) or, when a
    step is in flight, as soon as that step ends; it never stays attached."""

    server_id: str


class VolumeMetadataSet(VolumeEvent, frozen=True, kw_only=True):
    """The volume's metadata, all of it, after a change (set, merged or a key
    removed); no host is involved."""

    metadata: dict[str, str]


class VolumeRetyped(VolumeEvent, frozen=True, kw_only=True):
    """Of another volume type, on the storage host it is on (no migration);
    no host is involved."""

    volume_type: str


class VolumeUpdated(VolumeEvent, frozen=True, kw_only=True):
    """A new name or description (None: unchanged); no host is involved."""

    name: str | None = None
    description: str | None = None


class VolumeSnapshotAdded(VolumeEvent, frozen=True, kw_only=True):
    """A snapshot of this volume was taken (the volume is not deleted while it has one)."""

    snapshot_id: str


class VolumeSnapshotRemoved(VolumeEvent, frozen=True, kw_only=True):
    snapshot_id: str


class VolumeSucceeded(VolumeEvent, frozen=True, kw_only=True):
    """The host did what the pending request asked."""


class VolumeFailed(VolumeEvent, frozen=True, kw_only=True):
    """The host refused the pending request."""

    reason: str


AnyVolumeEvent = (VolumeCreateRequested | VolumeDeleteRequested | VolumeAttachRequested
                  | VolumeExported | VolumeDetachRequested | VolumeUnexportRequested
                  | VolumeSnapshotAdded | VolumeSnapshotRemoved | VolumeUpdated | VolumeSucceeded
                  | VolumeFailed | VolumeDetachOnDeleteRequested | VolumeMetadataSet
                  | VolumeRetyped)
# the steps the volume's storage host takes, and those the server's compute host takes
StorageStep = (VolumeCreateRequested | VolumeDeleteRequested | VolumeAttachRequested
               | VolumeUnexportRequested)
ComputeStep = VolumeExported | VolumeDetachRequested


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
    pending: Pending[VolumeEvent] | None = None  # the step a host still has to answer
    fault: str | None = None
    # the attachment (one at a time): the server, its host, the guest's device
    server_id: str | None = None
    compute_host: str | None = None
    device: str | None = None
    # the iSCSI export while attached
    portal: str | None = None
    iqn: str | None = None
    lun: int | None = None
    snapshots: list[str] = []  # ids of its snapshots that are not deleted
    server_deleting: bool = False  # its server is being deleted: it detaches, whatever fails
    metadata: dict[str, str] = {}


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Where a storage host exported a volume (what the compute host connects to)."""

    portal: str
    iqn: str
    lun: int


class Step(NamedTuple):
    """One step of a volume operation, as a host's report on it moves it on.

    On success, the operation goes on with step ``then`` or ends ``done``;
    on failure it ends ``failed``. While the volume's server is being
    deleted the saga turns towards detached: a success goes on with
    ``server_going_then`` and a failure with ``server_going_failed`` where
    they are given (else as above), and no failure leaves it attached.
    """

    then: type[VolumeEvent] | None
    done: Status | None
    failed: Status
    server_going_then: type[VolumeEvent] | None = None
    server_going_failed: type[VolumeEvent] | None = None


# Every step a host takes, by the event that asks for it. Create and delete
# are one step each on the storage host; attach is export (storage), then
# add the disk (compute); detach is remove the disk (compute), then unexport.
STEPS: dict[type[VolumeEvent], Step] = {
    VolumeCreateRequested: Step(None, Status.AVAILABLE, Status.ERROR),
    VolumeDeleteRequested: Step(None, Status.DELETED, Status.ERROR_DELETING),
    # an export just made while the server goes is ended again
    VolumeAttachRequested: Step(VolumeExported, None, Status.AVAILABLE,
                                server_going_then=VolumeUnexportRequested),
    # a disk just added while the server goes is taken away again; a compute
    # host's refusal (its guest is going anyway) does not keep the export
    VolumeExported: Step(None, Status.IN_USE, Status.AVAILABLE,
                         server_going_then=VolumeDetachRequested,
                         server_going_failed=VolumeUnexportRequested),
    VolumeDetachRequested: Step(VolumeUnexportRequested, None, Status.IN_USE,
                                server_going_failed=VolumeUnexportRequested),
    VolumeUnexportRequested: Step(None, Status.AVAILABLE, Status.IN_USE),
}
_DETACHED = {"server_id": None, "compute_host": None, "device": None, "portal": None,
             "iqn": None, "lun": None, "server_deleting": False}


def evolve(state: Volume | None, event: VolumeEvent, volume_id: str) -> Volume:
    if not isinstance(event, AnyVolumeEvent):
        raise UnknownEvent(event, "volume")
    if isinstance(event, VolumeCreateRequested):
        return Volume(
            id=volume_id, project_id=event.project_id, user_id=event.user_id,
            name=event.name, description=event.description, size_gb=event.size_gb,
            volume_type=event.volume_type, availability_zone=event.availability_zone,
            host=event.host, status=Status.CREATING, snapshot_id=event.snapshot_id,
            created_at=event.at, updated_at=event.at,
            pending=Pending(event.request_id, type(event), event.at),
            metadata=dict(event.metadata),
        )
    assert state is not None, "a volume's first event creates it"
    replace = msgspec.structs.replace
    # a step a host is asked to take; the host's answer ends the step
    step = {"updated_at": event.at, "pending": Pending(event.request_id, type(event),
                                                         event.at)}
    ended = {"updated_at": event.at, "pending": None}
    match event:
        case VolumeUpdated():
            return replace(
                state, updated_at=event.at,
                name=state.name if event.name is None else event.name,
                description=state.description if event.description is None
                else event.description)
        case VolumeRetyped():
            return replace(state, volume_type=event.volume_type, updated_at=event.at)
        case VolumeMetadataSet():
            return replace(state, metadata=dict(event.metadata), updated_at=event.at)
        case VolumeSnapshotAdded():
            return replace(state, snapshots=[*state.snapshots, event.snapshot_id])
        case VolumeSnapshotRemoved():
            return replace(state, snapshots=[s for s in state.snapshots if s != event.snapshot_id])
        case VolumeDetachOnDeleteRequested():
            return replace(state, status=Status.DETACHING, server_deleting=True,
                           updated_at=event.at)
        case VolumeDeleteRequested():
            return replace(state, status=Status.DELETING, **step)
        case VolumeAttachRequested():
            return replace(state, status=Status.ATTACHING, server_id=event.server_id,
                           compute_host=event.compute_host, device=event.device, fault=None,
                           **step)
        case VolumeExported():
            return replace(state, portal=event.portal, iqn=event.iqn, lun=event.lun, **step)
        case VolumeDetachRequested():
            return replace(state, status=Status.DETACHING, fault=None, **step)
        case VolumeUnexportRequested():
            return replace(state, **step)
        case VolumeSucceeded():
            status = _step(state).done
            if status is None:
                raise TypeError(f"a success does not end volume {state.id}'s {state.pending}")
            detached = _DETACHED if status is Status.AVAILABLE else {}
            return replace(state, status=status, fault=None, **ended, **detached)
        case VolumeFailed():
            status = Status.AVAILABLE if state.server_deleting else _step(state).failed
            detached = _DETACHED if status is Status.AVAILABLE else {}
            return replace(state, status=status, fault=event.reason, **ended, **detached)
        case _:
            unknown_event(event, "volume")


def create(
    *, request_id: str, project_id: str, user_id: str, name: str, description: str,
    size_gb: int | None, volume_type: str, host: str, at: datetime,
    availability_zone: str = "nova", snapshot_id: str | None = None,
    backup_id: str | None = None, metadata: dict[str, str] | None = None,
) -> VolumeCreateRequested:
    """A new volume; ``size_gb`` a positive whole number of GB, required
    unless the volume is made from a snapshot or a backup (the caller then
    passes theirs). Cinder's 400s."""
    if size_gb is None:
        raise InvalidInput("Invalid input for field/attribute size: a size in GB, or a "
                           "snapshot_id to take it from, is required.")
    if size_gb <= 0:
        raise InvalidInput(f"Invalid input received: Volume size '{size_gb}' must be an "
                           "integer and greater than 0.")
    return VolumeCreateRequested(
        request_id=request_id, at=at, host=host, project_id=project_id, user_id=user_id,
        name=name, description=description, size_gb=size_gb, volume_type=volume_type,
        availability_zone=availability_zone, snapshot_id=snapshot_id, backup_id=backup_id,
        metadata=dict(metadata or {}))


def availability_zone(asked: str | None) -> str:
    """The zone a volume is made in: only Nova's default one exists
    (``domain.instance_boot``); Cinder's 400 for another."""
    zone = asked or "nova"
    if zone not in AVAILABILITY_ZONES:
        raise InvalidInput(f"Availability zone '{zone}' is invalid.")
    return zone


def retype(state: Volume, new_type: str, backends: list[str], *, migration_policy: str,
           request_id: str, at: datetime) -> VolumeRetyped:
    """Another type for an available or attached volume, when one of the new
    type's storage hosts (``backends``) is the volume's own: nimbus does not
    migrate volumes between hosts (Cinder's 400s otherwise)."""
    if migration_policy not in ("never", "on-demand"):
        raise InvalidInput(f"Invalid input for field/attribute migration_policy. Value: "
                           f"{migration_policy}. It must be 'never' or 'on-demand'.")
    if state.status not in (Status.AVAILABLE, Status.IN_USE) or state.pending is not None:
        raise InvalidState(f"Invalid volume: Volume {state.id} status must be available or "
                           f"in-use, but current status is: {state.status}")
    if new_type == state.volume_type:
        raise InvalidInput("Invalid input received: New volume type must be different "
                           "from the original.")
    if state.host not in backends:
        raise InvalidInput(f"Invalid input received: volume type {new_type} is not served "
                           f"by the volume's storage host {state.host}, and moving a volume "
                           "to another host (a migration) is not supported.")
    return VolumeRetyped(request_id=request_id, at=at, volume_type=new_type)


def change_metadata(state: Volume, *, request_id: str, at: datetime,
                    given: dict[str, str] | None = None, replace: bool = False,
                    remove: str | None = None) -> VolumeMetadataSet:
    """The volume's metadata after ``given`` is merged in (``replace``: it is
    all there is) or the key ``remove`` is removed (404 when there is none),
    whatever the volume is doing."""
    return VolumeMetadataSet(request_id=request_id, at=at, metadata=metadata_after(
        state.metadata, given=given, replace=replace, remove=remove))


def metadata_after(metadata: dict[str, str], *, given: dict[str, str] | None = None,
                   replace: bool = False, remove: str | None = None) -> dict[str, str]:
    """Cinder's metadata change: ``given`` merged in (``replace``: all there
    is), or the key ``remove`` removed (404 when there is none)."""
    if remove is not None:
        if remove not in metadata:
            raise NotFound("Metadata item was not found.")
        return {k: v for k, v in metadata.items() if k != remove}
    return dict(given or {}) if replace else {**metadata, **(given or {})}


def update(state: Volume, *, request_id: str, name: str | None, description: str | None,
           at: datetime) -> VolumeUpdated:
    """A new name or description (None: unchanged), whatever the volume is doing."""
    return VolumeUpdated(request_id=request_id, at=at, name=name, description=description)


def snapshot_added(state: Volume, *, snapshot_id: str, request_id: str,
                   at: datetime) -> VolumeSnapshotAdded:
    """A snapshot of it was taken (``domain.snapshot.take`` decides whether one may be)."""
    return VolumeSnapshotAdded(request_id=request_id, at=at, snapshot_id=snapshot_id)


def snapshot_removed(state: Volume | None, *, snapshot_id: str, request_id: str,
                     at: datetime) -> VolumeSnapshotRemoved | None:
    """Its snapshot's bytes are gone; None when the volume is gone too."""
    if state is None:
        return None
    return VolumeSnapshotRemoved(request_id=request_id, at=at, snapshot_id=snapshot_id)


DELETABLE = frozenset({Status.AVAILABLE, Status.ERROR, Status.ERROR_DELETING})


def delete(state: Volume, *, request_id: str, at: datetime) -> VolumeDeleteRequested:
    """Cinder deletes an available volume, or one that failed; never while
    attached or busy (400 with its wording)."""
    if state.snapshots and state.status in DELETABLE:
        raise InvalidInput("Invalid volume: Volume cannot be deleted while it has snapshots.")
    if state.status not in DELETABLE:
        raise InvalidInput(
            f"Invalid volume: Volume status must be available or error or error_restoring "
            f"or error_extending or error_managing and must not be migrating, attached, "
            f"belong to a group, have snapshots, awaiting a transfer, or be disassociated "
            f"from snapshots after volume transfer. (current status: {state.status})")
    return VolumeDeleteRequested(request_id=request_id, at=at, host=state.host)


def server_for(server: Instance | None, server_id: str, *, project_id: str, is_admin: bool,
               action: str) -> Instance:
    """The caller's server, able to take or give up a volume now (Nova's 404 and 409)."""
    if (server is None or server.vm_state == VmState.DELETED
            or (server.project_id != project_id and not is_admin)):
        raise NotFound(f"Instance {server_id} could not be found.")
    if server.vm_state not in ATTACHABLE or server.task_state is not None:
        raise InvalidState(f"Cannot '{action}' instance {server_id} while it is in "
                           f"vm_state {server.vm_state}")
    return server


def attachable(state: Volume) -> None:
    """One attachment at a time: only an available volume attaches (409)."""
    if state.status is not Status.AVAILABLE:
        raise InvalidState(f"Invalid volume: volume {state.id} status must be available, "
                           f"but current status is: {state.status}")


def attach(state: Volume, *, request_id: str, server_id: str, compute_host: str,
           device: str, at: datetime) -> VolumeAttachRequested:
    attachable(state)
    return VolumeAttachRequested(request_id=request_id, at=at, host=state.host,
                                 server_id=server_id, compute_host=compute_host, device=device)


def detach(state: Volume, *, request_id: str, server_id: str,
           at: datetime) -> VolumeDetachRequested:
    """Only a volume attached to ``server_id`` and not busy detaches from it."""
    if state.server_id != server_id or state.compute_host is None or state.device is None:
        raise NotFound(f"volume_id not found: {state.id}")  # Nova's VolumeAttachmentNotFound
    if state.status is not Status.IN_USE:
        raise InvalidState(f"Invalid volume: volume {state.id} status must be in-use, "
                           f"but current status is: {state.status}")
    return VolumeDetachRequested(request_id=request_id, at=at, host=state.compute_host,
                                 server_id=server_id, device=state.device)


def detach_for_server_delete(state: Volume, *, server_id: str, request_id: str,
                             at: datetime) -> list[VolumeEvent]:
    """What a delete of ``server_id`` does to this volume: nothing when it is
    not attached there (or already detaching for that reason); else the
    volume is marked to detach, and an idle one is asked to at once."""
    if state.server_id != server_id or state.server_deleting:
        return []
    events: list[VolumeEvent] = [
        VolumeDetachOnDeleteRequested(request_id=request_id, at=at, server_id=server_id)]
    if state.status is Status.IN_USE and state.pending is None:
        assert state.compute_host is not None and state.device is not None
        events.append(VolumeDetachRequested(request_id=request_id, at=at,
                                            host=state.compute_host, server_id=server_id,
                                            device=state.device))
    return events


def complete(state: Volume, request_id: str, *, step: type[Event], ok: bool, reason: str,
             at: datetime, target: Target | None = None) -> VolumeEvent | None:
    """The event a host's report on ``step`` (the event class it handled)
    leads to: the next step of the pending operation, or its end. None for a
    report of a step that is not pending (a redelivered message changes nothing)."""
    if state.pending != Pending(request_id, step):
        return None
    row = _step(state)
    then = row.then if ok else None
    if state.server_deleting:
        then = (row.server_going_then if ok else row.server_going_failed) or then
    if then is not None:
        return _next_step(state, then, request_id=request_id, at=at, target=target)
    if not ok:
        return VolumeFailed(request_id=request_id, at=at, reason=reason or "failed on the host")
    return VolumeSucceeded(request_id=request_id, at=at)


def _step(state: Volume) -> Step:
    """The row of the step the volume waits on."""
    if state.pending is None:
        raise TypeError(f"volume {state.id} waits on no step")
    return STEPS[state.pending.step]


def _next_step(state: Volume, step: type[VolumeEvent], *, request_id: str, at: datetime,
               target: Target | None) -> VolumeEvent:
    """The event that asks for ``step``, from what the volume holds."""
    if step is VolumeUnexportRequested:
        return VolumeUnexportRequested(request_id=request_id, at=at, host=state.host)
    attached = state.compute_host, state.server_id, state.device
    if step is VolumeExported:
        if target is None or None in attached:
            return VolumeFailed(request_id=request_id, at=at,
                                reason="the storage host reported no export")
        assert state.compute_host is not None and state.server_id is not None
        assert state.device is not None
        return VolumeExported(request_id=request_id, at=at, host=state.compute_host,
                              server_id=state.server_id, device=state.device,
                              portal=target.portal, iqn=target.iqn, lun=target.lun)
    if step is VolumeDetachRequested:
        assert state.compute_host is not None and state.server_id is not None
        assert state.device is not None
        return VolumeDetachRequested(request_id=request_id, at=at, host=state.compute_host,
                                     server_id=state.server_id, device=state.device)
    raise TypeError(f"{step.__name__} does not follow another step")
