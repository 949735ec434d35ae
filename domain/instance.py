"""The instance state machine, as pure functions over frozen events.

``request`` decides whether a host operation may start and returns the event
that records it; ``complete`` turns a host's report into the event that ends
it; ``evolve`` folds one event into the state. The meanings of vm_state,
task_state and power_state are Nova's, and so are the refusals' words.
Changes that need no host (lock, rename, metadata, tags) are decided in
``domain.instance_changes``; what a boot may ask for in ``domain.instance_boot``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from domain import events as ev
from domain import migration_events as mev
from domain.base import Pending, UnknownEvent, unknown_event
from domain.catalog import Flavor, Image
from domain.errors import InvalidState


class VmState:
    BUILDING: Final = "building"
    ACTIVE: Final = "active"
    PAUSED: Final = "paused"
    SUSPENDED: Final = "suspended"
    STOPPED: Final = "stopped"
    ERROR: Final = "error"
    DELETED: Final = "deleted"
    RESIZED: Final = "resized"  # moved or resized, awaiting confirm or revert


class TaskState:
    SPAWNING: Final = "spawning"
    REBOOTING: Final = "rebooting"
    REBOOTING_HARD: Final = "rebooting_hard"
    PAUSING: Final = "pausing"
    UNPAUSING: Final = "unpausing"
    SUSPENDING: Final = "suspending"
    RESUMING: Final = "resuming"
    POWERING_OFF: Final = "powering-off"
    POWERING_ON: Final = "powering-on"
    DELETING: Final = "deleting"
    # createImage (domain/server_image.py): the host copies the disk, the copy
    # waits to be stored, the image takes it
    IMAGE_SNAPSHOT: Final = "image_snapshot"
    IMAGE_PENDING_UPLOAD: Final = "image_pending_upload"
    IMAGE_UPLOADING: Final = "image_uploading"
    RESIZE_PREP: Final = "resize_prep"
    RESIZE_MIGRATING: Final = "resize_migrating"
    RESIZE_MIGRATED: Final = "resize_migrated"
    RESIZE_FINISH: Final = "resize_finish"
    RESIZE_REVERTING: Final = "resize_reverting"
    RESIZE_CONFIRMING: Final = "resize_confirming"
    MIGRATING: Final = "migrating"  # a live migration
    REBUILDING: Final = "rebuilding"


ALL_TASKS: Final = frozenset({
    TaskState.SPAWNING, TaskState.REBOOTING, TaskState.REBOOTING_HARD, TaskState.PAUSING,
    TaskState.UNPAUSING, TaskState.SUSPENDING, TaskState.RESUMING, TaskState.POWERING_OFF,
    TaskState.POWERING_ON, TaskState.DELETING, TaskState.IMAGE_SNAPSHOT,
    TaskState.IMAGE_PENDING_UPLOAD, TaskState.IMAGE_UPLOADING, TaskState.REBUILDING,
})


class PowerState:
    """Nova's numeric power states."""

    NOSTATE: Final = 0
    RUNNING: Final = 1
    PAUSED: Final = 3
    SHUTDOWN: Final = 4
    SUSPENDED: Final = 7


class Operation(msgspec.Struct, frozen=True):
    """One verb a host carries out: the event that asks for it, the one that
    reports it done and the one that reports it failed; what it needs to
    start, and where it leaves the instance."""

    requested: type[ev.InstanceRequested]
    outcome: type[ev.InstanceOutcome]
    action: str  # the instance-action name Nova shows (create, pause, ...)
    task_state: str
    allowed_from: frozenset[str]
    done_vm_state: str
    done_power_state: int
    failed_vm_state: str | None  # None: the vm_state is kept on failure
    interrupts: frozenset[str] = frozenset()  # task states it may start during
    failure: type[ev.InstanceOperationFailed | mev.InstanceStepFailed] = \
        ev.InstanceOperationFailed
    keeps_state: bool = False  # done, the vm_state and power_state are what they were


_ANY_LIVE = frozenset({VmState.BUILDING, VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED,
                       VmState.STOPPED, VmState.ERROR})
_ON = VmState.ACTIVE, PowerState.RUNNING

# Every verb, one row each, by the event that asks for it.
OPERATIONS: dict[type[ev.InstanceRequested], Operation] = {op.requested: op for op in (
    Operation(ev.InstanceCreateRequested, ev.InstanceSpawned,
              "create", TaskState.SPAWNING, frozenset(), *_ON, VmState.ERROR),
    Operation(ev.InstancePauseRequested, ev.InstancePaused,
              "pause", TaskState.PAUSING, frozenset({VmState.ACTIVE}), VmState.PAUSED,
              PowerState.PAUSED, None),
    Operation(ev.InstanceUnpauseRequested, ev.InstanceUnpaused,
              "unpause", TaskState.UNPAUSING, frozenset({VmState.PAUSED}), *_ON, None),
    Operation(ev.InstanceSuspendRequested, ev.InstanceSuspended,
              "suspend", TaskState.SUSPENDING, frozenset({VmState.ACTIVE}), VmState.SUSPENDED,
              PowerState.SUSPENDED, None),
    Operation(ev.InstanceResumeRequested, ev.InstanceResumed,
              "resume", TaskState.RESUMING, frozenset({VmState.SUSPENDED}), *_ON, None),
    Operation(ev.InstanceStopRequested, ev.InstanceStopped,
              "stop", TaskState.POWERING_OFF, frozenset({VmState.ACTIVE, VmState.ERROR}),
              VmState.STOPPED, PowerState.SHUTDOWN, None),
    Operation(ev.InstanceStartRequested, ev.InstanceStarted,
              "start", TaskState.POWERING_ON, frozenset({VmState.STOPPED}), *_ON, None),
    Operation(ev.InstanceRebootRequested, ev.InstanceRebooted,
              "reboot", TaskState.REBOOTING, frozenset({VmState.ACTIVE}), *_ON, VmState.ERROR),
    # (a resized one: its resize is confirmed on the way, domain/migration.py)
    Operation(ev.InstanceDeleteRequested, ev.InstanceDeleted,
              "delete", TaskState.DELETING, _ANY_LIVE | {VmState.RESIZED}, VmState.DELETED,
              PowerState.NOSTATE,
              VmState.ERROR, interrupts=ALL_TASKS - {TaskState.DELETING}),
    # (a stopped one stays stopped, as in Nova: ``_ended``)
    Operation(ev.InstanceRebuildRequested, ev.InstanceRebuilt,
              "rebuild", TaskState.REBUILDING,
              frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.ERROR}), *_ON, VmState.ERROR),
    Operation(ev.InstanceSnapshotRequested, ev.InstanceSnapshotted,
              "createImage", TaskState.IMAGE_SNAPSHOT,
              frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED}),
              *_ON, None, keeps_state=True),
)}

# The steps of a move (domain/migration.py folds and decides them; a delete
# cannot interrupt them: the guest may be on either host until they end).
_MOVABLE = frozenset({VmState.ACTIVE, VmState.STOPPED})
_RESIZED = frozenset({VmState.RESIZED})
OPERATIONS.update({op.requested: op for op in (
    Operation(mev.InstanceResizeRequested, mev.InstanceResizeMigrated, "resize",
              TaskState.RESIZE_PREP, _MOVABLE, *_ON, None, failure=mev.InstanceMigrationFailed),
    Operation(mev.InstanceResizeFinishRequested, mev.InstanceResizeFinished, "resize",
              TaskState.RESIZE_FINISH, _MOVABLE, VmState.RESIZED, PowerState.RUNNING, None,
              failure=mev.InstanceMigrationFailed),
    Operation(mev.InstanceResizeConfirmRequested, mev.InstanceResizeConfirmed, "confirmResize",
              TaskState.RESIZE_CONFIRMING, _RESIZED, *_ON, None,
              failure=mev.InstanceResizeStepRefused),
    Operation(mev.InstanceResizeRevertRequested, mev.InstanceResizeDestinationCleaned,
              "revertResize", TaskState.RESIZE_REVERTING, _RESIZED, *_ON, None,
              failure=mev.InstanceResizeStepRefused),
    Operation(mev.InstanceResizeRevertFinishRequested, mev.InstanceResizeReverted,
              "revertResize", TaskState.RESIZE_REVERTING, _RESIZED, *_ON, None,
              failure=mev.InstanceMigrationFailed),
    Operation(mev.InstanceResizeRollbackRequested, mev.InstanceResizeDestinationCleaned,
              "resize", TaskState.RESIZE_FINISH, _MOVABLE, *_ON, None,
              failure=mev.InstanceMigrationFailed),
    *(Operation(requested, outcome, "live-migration", TaskState.MIGRATING,
                frozenset({VmState.ACTIVE}), *_ON, None, failure=mev.InstanceMigrationFailed)
      for requested, outcome in (
          (mev.InstanceLiveMigrateRequested, mev.InstanceLiveMigrationPrepared),
          (mev.InstanceLiveMigrationRunRequested, mev.InstanceLiveMigrationCopied),
          (mev.InstanceLiveMigrationFinishRequested, mev.InstanceLiveMigrationResumed),
          (mev.InstanceLiveMigrationCleanupRequested, mev.InstanceLiveMigrated),
          (mev.InstanceLiveMigrationRollbackRequested, mev.InstanceLiveMigrationRolledBack),
          (mev.InstanceLiveMigrationRecoverRequested, mev.InstanceLiveMigrationRolledBack))),
)})

# Nova lets a hard reboot start from more states, and interrupt these tasks.
HARD_REBOOT = msgspec.structs.replace(
    OPERATIONS[ev.InstanceRebootRequested], task_state=TaskState.REBOOTING_HARD,
    allowed_from=frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED,
                            VmState.SUSPENDED, VmState.ERROR}),
    interrupts=frozenset({TaskState.REBOOTING, TaskState.REBOOTING_HARD, TaskState.PAUSING,
                          TaskState.UNPAUSING, TaskState.SUSPENDING, TaskState.RESUMING}),
)
# forceDelete: whatever is going on, even a delete that is stuck.
FORCE_DELETE = msgspec.structs.replace(
    OPERATIONS[ev.InstanceDeleteRequested], interrupts=ALL_TASKS)


RECONCILER_USER: Final = "nimbus-reconciler"  # who the reconciler's requests are from


class Restore(msgspec.Struct, frozen=True, kw_only=True):
    """What an instance is to be brought back to after its host reported the
    guest shut off (domain/instance_observations.py): the recorded vm_state
    before, and the observation's request id (the reconciler's requests'
    ids are derived from it)."""

    to: str
    observation: str
    resume: bool = True  # False: the policy was off; ``nimbus recover`` may take it over


class Instance(msgspec.Struct, frozen=True, kw_only=True):
    """An instance as the write side knows it: enough to decide."""

    id: str
    project_id: str
    user_id: str
    name: str
    host: str
    flavor_id: str
    image_ref: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    vm_state: str
    task_state: str | None
    power_state: int
    pending: Pending[ev.InstanceRequested] | None = None  # the operation in flight
    fault: str | None = None
    fault_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None = None
    deleted_at: datetime | None = None
    key_name: str | None = None
    public_key: str | None = None
    metadata: dict[str, str] = {}
    tags: tuple[str, ...] = ()
    user_data: str | None = None
    availability_zone: str = "nova"
    reservation_id: str = ""
    launch_index: int = 0
    description: str | None = None
    access_ip_v4: str = ""
    access_ip_v6: str = ""
    locked: bool = False
    locked_by_admin: bool = False
    locked_reason: str | None = None
    nics: tuple[ev.Nic, ...] = ()
    plugged: frozenset[str] = frozenset()  # its ports a network host serves
    guest_started: bool = False  # booting: the host started it, its ports are awaited
    restore: Restore | None = None  # being brought back after its host lost it
    # createImage in flight (domain/server_image.py): its image, and the host's copy
    snapshot_image: str | None = None
    snapshot_file: str | None = None
    migration: mev.Migration | None = None  # its latest move (domain/migration.py)

    def unplugged(self) -> list[str]:
        return [n.port_id for n in self.nics if n.port_id not in self.plugged]


def create(
    instance_id: str, *, request_id: str, at: datetime, project_id: str,
    user_id: str, name: str, flavor: Flavor, image: Image, host: str,
    key_name: str | None = None, public_key: str | None = None,
    metadata: dict[str, str] | None = None, user_data: str | None = None,
    availability_zone: str = "nova", reservation_id: str = "", launch_index: int = 0,
    description: str | None = None, nics: list[ev.Nic] | None = None,
    access_ip_v4: str = "", access_ip_v6: str = "",
) -> ev.InstanceCreateRequested:
    """Boot: the first event of every instance."""
    return ev.InstanceCreateRequested(
        request_id=request_id, at=at, host=host, user_id=user_id,
        project_id=project_id, name=name, flavor_id=flavor.id, image_ref=image.id,
        vcpus=flavor.vcpus, memory_mb=flavor.ram, disk_gb=flavor.disk,
        key_name=key_name, public_key=public_key, metadata=dict(metadata or {}),
        user_data=user_data, availability_zone=availability_zone,
        reservation_id=reservation_id, launch_index=launch_index, description=description,
        nics=list(nics or ()), access_ip_v4=access_ip_v4, access_ip_v6=access_ip_v6,
    )


NO_VALID_HOST: Final = "No valid host was found. There are not enough hosts available."


def unplaced(created: ev.InstanceCreateRequested) -> ev.InstanceOperationFailed:
    """A boot that no host has room for: accepted, and ended at once in
    ERROR with the scheduler's fault, as Nova's boot ends. ``created`` is
    addressed to no host (``host=""``): the instance holds no host's
    capacity, only its quota until it is deleted (``local_delete``)."""
    assert not created.host, "an instance placed on a host is not unplaced"
    return ev.InstanceOperationFailed(request_id=created.request_id, at=created.at,
                                      reason=NO_VALID_HOST)


def local_delete(state: Instance, asked: ev.InstanceRequested) -> ev.InstanceDeleted | None:
    """Nova's local delete: an instance no host holds (its boot found none) is
    deleted as soon as asked, since no host would answer; None otherwise."""
    if isinstance(asked, ev.InstanceDeleteRequested) and not state.host:
        return ev.InstanceDeleted(request_id=asked.request_id, at=asked.at)
    return None


def operation(kind: type[ev.InstanceRequested], *, hard: bool = False,
              force: bool = False) -> Operation:
    if kind is ev.InstanceRebootRequested and hard:
        return HARD_REBOOT
    if kind is ev.InstanceDeleteRequested and force:
        return FORCE_DELETE
    return OPERATIONS[kind]


def operation_of(event: ev.InstanceRequested) -> Operation:
    return operation(type(event), hard=getattr(event, "hard", False),
                     force=getattr(event, "force", False))


def refuse_if_locked(state: Instance, is_admin: bool) -> None:
    """A locked instance refuses changes from everyone but admins (Nova's 409)."""
    if state.locked and not is_admin:
        raise InvalidState(f"Instance {state.id} is locked")


def request(
    state: Instance, kind: type[ev.InstanceRequested], *, request_id: str,
    at: datetime, user_id: str, is_admin: bool = False, hard: bool = False,
    force: bool = False,
) -> ev.InstanceRequested:
    """Start a host operation on an instance, or refuse with Nova's wording."""
    op = operation(kind, hard=hard, force=force)
    refuse(state, op, is_admin)
    event = kind(request_id=request_id, at=at, host=state.host, user_id=user_id)
    if isinstance(event, ev.InstanceRebootRequested):
        return msgspec.structs.replace(event, hard=hard)
    if isinstance(event, ev.InstanceDeleteRequested):
        return msgspec.structs.replace(event, force=force)
    return event


def rebuild(state: Instance, image: Image, *, request_id: str, at: datetime, user_id: str,
            is_admin: bool = False, name: str | None = None,
            metadata: dict[str, str] | None = None) -> ev.InstanceRebuildRequested:
    """Rebuild the instance from ``image`` on its host (Nova's rebuild: the
    image is the instance's from the request on; a name or metadata given
    replace its own)."""
    refuse(state, OPERATIONS[ev.InstanceRebuildRequested], is_admin)
    return ev.InstanceRebuildRequested(
        request_id=request_id, at=at, host=state.host, user_id=user_id, image_ref=image.id,
        name=state.name if name is None else name, vcpus=state.vcpus,
        memory_mb=state.memory_mb, disk_gb=state.disk_gb, nics=list(state.nics),
        metadata=None if metadata is None else dict(metadata),
        start=state.vm_state != VmState.STOPPED)


def refuse(state: Instance, op: Operation, is_admin: bool) -> None:
    """Refuse ``op`` on the instance as it is now, in Nova's words (None: it may start)."""
    if state.vm_state == VmState.DELETED:
        raise InvalidState(f"Instance {state.id} could not be found.")
    refuse_if_locked(state, is_admin)
    if not state.host and op.requested is not ev.InstanceDeleteRequested:
        raise InvalidState(f"Instance {state.id} is not ready")  # no host would act
    if state.task_state is not None and state.task_state not in op.interrupts:
        raise InvalidState(
            f"Cannot '{op.action}' instance {state.id} while it is in "
            f"task_state {state.task_state}"
        )
    if state.vm_state not in op.allowed_from:
        raise InvalidState(
            f"Cannot '{op.action}' instance {state.id} while it is in "
            f"vm_state {state.vm_state}"
        )


def complete(
    state: Instance, request_id: str, *, ok: bool, at: datetime, reason: str = ""
) -> ev.InstanceOutcome | ev.InstanceGuestStarted | None:
    """The event that ends the pending operation; None if it is not pending.
    A boot whose ports are not all plugged yet only has its guest started.

    A report for an operation that already ended (a redelivered message), or
    that a later operation interrupted, is not an error: it changes nothing.
    """
    if state.pending is None or state.pending.request_id != request_id:
        return None
    op = OPERATIONS[state.pending.step]
    if not ok:
        return op.failure(request_id=request_id, at=at, reason=reason)
    if op.keeps_state:  # a snapshot ends with its image's activation (domain/server_image.py)
        return None
    if state.pending.step is ev.InstanceCreateRequested and state.unplugged():
        return None if state.guest_started else ev.InstanceGuestStarted(
            request_id=request_id, at=at)
    return op.outcome(request_id=request_id, at=at)


def vif_plugged(state: Instance, port_id: str, *, request_id: str,
                at: datetime) -> list[ev.InstanceVifPlugged | ev.InstanceSpawned]:
    """A port of the instance is served; the boot ends if it was the last one
    awaited by a started guest. Nothing for a port it no longer has."""
    if port_id not in {n.port_id for n in state.nics} or port_id in state.plugged:
        return []
    plugged = ev.InstanceVifPlugged(request_id=request_id, at=at, port_id=port_id)
    pending = state.pending
    if (state.guest_started and pending is not None
            and pending.step is ev.InstanceCreateRequested
            and state.unplugged() == [port_id]):
        return [plugged, ev.InstanceSpawned(request_id=pending.request_id, at=at)]
    return [plugged]


def evolve(state: Instance | None, event: ev.InstanceEvent, instance_id: str) -> Instance:
    """Fold one event into the state."""
    if not isinstance(event, ev.AnyInstanceEvent | mev.AnyMigrationEvent):
        raise UnknownEvent(event, "instance")
    if isinstance(event, ev.InstanceCreateRequested):
        return Instance(
            id=instance_id, project_id=event.project_id, user_id=event.user_id,
            name=event.name, host=event.host, flavor_id=event.flavor_id,
            image_ref=event.image_ref, vcpus=event.vcpus, memory_mb=event.memory_mb,
            disk_gb=event.disk_gb, vm_state=VmState.BUILDING,
            task_state=TaskState.SPAWNING, power_state=PowerState.NOSTATE,
            pending=Pending(event.request_id, type(event), event.at),
            created_at=event.at,
            updated_at=event.at, key_name=event.key_name,
            public_key=event.public_key, metadata=dict(event.metadata),
            user_data=event.user_data, availability_zone=event.availability_zone,
            reservation_id=event.reservation_id, launch_index=event.launch_index,
            description=event.description, nics=tuple(event.nics),
            access_ip_v4=event.access_ip_v4, access_ip_v6=event.access_ip_v6,
        )
    assert state is not None, "an instance starts with InstanceCreateRequested"
    if isinstance(event, mev.AnyMigrationEvent):
        # (they decide on an Instance: imported once both exist)
        from domain import live_migration, migration

        if mev.is_live(state.migration, event):
            assert isinstance(event, mev.AnyLiveEvent)
            return live_migration.evolve(state, event)
        assert isinstance(event, mev.AnyResizeEvent)
        return migration.evolve(state, event)
    match event:
        case (ev.InstanceLocked() | ev.InstanceUnlocked() | ev.InstanceUpdated()
              | ev.InstanceMetadataUpdated() | ev.InstanceMetadataItemDeleted()
              | ev.InstanceTagsSet() | ev.InstanceStateReset()):
            return _changed(state, event)
        case (ev.InstancePauseRequested() | ev.InstanceUnpauseRequested()
              | ev.InstanceDeleteRequested() | ev.InstanceRebootRequested()
              | ev.InstanceSuspendRequested() | ev.InstanceResumeRequested()
              | ev.InstanceStopRequested() | ev.InstanceStartRequested()
              | ev.InstanceSnapshotRequested() | ev.InstanceRebuildRequested()):
            image = event.image_id if isinstance(event, ev.InstanceSnapshotRequested) else None
            if isinstance(event, ev.InstanceRebuildRequested):
                state = msgspec.structs.replace(
                    state, image_ref=event.image_ref, name=event.name,
                    metadata=state.metadata if event.metadata is None else event.metadata)
            return msgspec.structs.replace(
                state, task_state=operation_of(event).task_state,
                pending=Pending(event.request_id, type(event), event.at),
                updated_at=event.at,
                snapshot_image=image, snapshot_file=None,
                # the reconciler's request brings it back; a user's takes over
                restore=msgspec.structs.replace(state.restore, resume=True)
                if state.restore is not None and event.user_id == RECONCILER_USER else None,
            )
        case ev.InstanceSnapshotTaken() | ev.InstanceSnapshotUploading():
            return _snapshot_step(state, event)
        case ev.InstanceGuestStarted():
            return msgspec.structs.replace(state, guest_started=True, updated_at=event.at)
        case ev.InstanceVifPlugged():
            return msgspec.structs.replace(state, plugged=state.plugged | {event.port_id},
                                           updated_at=event.at)
        case (ev.InstanceOperationFailed() | ev.InstanceSpawned() | ev.InstancePaused()
              | ev.InstanceUnpaused() | ev.InstanceDeleted() | ev.InstanceRebooted()
              | ev.InstanceSuspended() | ev.InstanceResumed() | ev.InstanceStopped()
              | ev.InstanceStarted() | ev.InstanceSnapshotted() | ev.InstanceRebuilt()):
            return _ended(state, event)
        case (ev.InstanceObservedStopped() | ev.InstanceObservedMissing()
              | ev.InstanceObservedRunning() | ev.InstanceObservedPaused()):
            return _observed(state, event)
        case _:
            unknown_event(event, "instance")


def _snapshot_step(state: Instance,
                   event: ev.InstanceSnapshotTaken | ev.InstanceSnapshotUploading) -> Instance:
    """A snapshot's next phase; its deadline counts from here (domain/deadlines.py)."""
    pending = state.pending
    if pending is None or pending.request_id != event.request_id:
        return state
    task = (TaskState.IMAGE_PENDING_UPLOAD if isinstance(event, ev.InstanceSnapshotTaken)
            else TaskState.IMAGE_UPLOADING)
    return msgspec.structs.replace(
        state, task_state=task, pending=Pending(pending.request_id, pending.step, event.at),
        snapshot_image=event.image_id, snapshot_file=event.image_file, updated_at=event.at)


def _observed(state: Instance, event: ev.AnyInstanceObserved) -> Instance:
    """Fold what a host reported of a guest that differs from the record."""
    at = event.at
    match event:
        case ev.InstanceObservedStopped():
            lost = event.was_vm_state in (VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED)
            restore = Restore(to=event.was_vm_state, observation=event.request_id,
                              resume=event.resume) if lost else None
            return msgspec.structs.replace(
                state, vm_state=VmState.STOPPED, power_state=PowerState.SHUTDOWN,
                task_state=None, fault=event.reason, fault_at=at, updated_at=at,
                restore=restore)
        case ev.InstanceObservedMissing():
            return msgspec.structs.replace(
                state, vm_state=VmState.ERROR, power_state=PowerState.NOSTATE,
                task_state=None, fault=event.reason, fault_at=at, updated_at=at, restore=None)
        case ev.InstanceObservedRunning():
            return msgspec.structs.replace(
                state, vm_state=VmState.ACTIVE, power_state=PowerState.RUNNING,
                task_state=None, fault=None, fault_at=None, updated_at=at, restore=None)
        case ev.InstanceObservedPaused():
            return msgspec.structs.replace(
                state, vm_state=VmState.PAUSED, power_state=PowerState.PAUSED,
                task_state=None, fault=None, fault_at=None, updated_at=at, restore=None)
        case _:
            unknown_event(event, "observation of an instance")


def _ended(state: Instance, event: ev.InstanceOutcome) -> Instance:
    """Fold a host's report: the pending operation ends, done or failed."""
    if state.pending is None:
        return state
    op = OPERATIONS[state.pending.step]
    if isinstance(event, ev.InstanceOperationFailed):
        return msgspec.structs.replace(
            state, vm_state=op.failed_vm_state or state.vm_state, task_state=None,
            pending=None, fault=event.reason, fault_at=event.at,
            updated_at=event.at, restore=None, snapshot_image=None, snapshot_file=None,
        )
    if op.keeps_state or (isinstance(event, ev.InstanceRebuilt)
                          and state.vm_state == VmState.STOPPED):  # a stopped one stays so
        return msgspec.structs.replace(
            state, task_state=None, pending=None, updated_at=event.at,
            snapshot_image=None, snapshot_file=None)
    restored = state.restore is not None and state.restore.to == op.done_vm_state
    return msgspec.structs.replace(
        state, vm_state=op.done_vm_state, power_state=op.done_power_state,
        task_state=None, pending=None, fault=None, fault_at=None,
        updated_at=event.at, restore=None if restored else state.restore,
        launched_at=event.at if isinstance(event, ev.InstanceSpawned) else state.launched_at,
        deleted_at=event.at if isinstance(event, ev.InstanceDeleted) else state.deleted_at,
    )


def _changed(state: Instance, event: ev.AnyInstanceChange) -> Instance:
    """Fold a change that needed no host."""
    at = event.at
    match event:
        case ev.InstanceLocked():
            return msgspec.structs.replace(state, locked=True, locked_by_admin=event.by_admin,
                                           locked_reason=event.reason, updated_at=at)
        case ev.InstanceUnlocked():
            return msgspec.structs.replace(state, locked=False, locked_by_admin=False,
                                           locked_reason=None, updated_at=at)
        case ev.InstanceUpdated():
            return msgspec.structs.replace(
                state, name=event.name if event.name is not None else state.name,
                description=event.description if event.description_set else state.description,
                updated_at=at)
        case ev.InstanceMetadataUpdated():
            base = {} if event.replace else dict(state.metadata)
            return msgspec.structs.replace(state, metadata={**base, **event.items},
                                           updated_at=at)
        case ev.InstanceMetadataItemDeleted():
            kept = {k: v for k, v in state.metadata.items() if k != event.key}
            return msgspec.structs.replace(state, metadata=kept, updated_at=at)
        case ev.InstanceTagsSet():
            return msgspec.structs.replace(state, tags=tuple(event.tags), updated_at=at)
        case ev.InstanceStateReset():  # what is pending no longer is: its report changes nothing
            return msgspec.structs.replace(state, vm_state=event.vm_state, task_state=None,
                                           pending=None, updated_at=at, restore=None)
        case _:
            unknown_event(event, "change of an instance")


_STATUS: dict[str, dict[str | None, str]] = {
    VmState.BUILDING: {None: "BUILD"},
    VmState.ACTIVE: {None: "ACTIVE", TaskState.REBOOTING: "REBOOT",
                     TaskState.REBUILDING: "REBUILD",
                     TaskState.REBOOTING_HARD: "HARD_REBOOT", TaskState.RESIZE_PREP: "RESIZE",
                     TaskState.RESIZE_MIGRATING: "RESIZE", TaskState.RESIZE_MIGRATED: "RESIZE",
                     TaskState.RESIZE_FINISH: "RESIZE", TaskState.MIGRATING: "MIGRATING"},
    VmState.STOPPED: {None: "SHUTOFF", TaskState.REBUILDING: "REBUILD",
                      TaskState.RESIZE_PREP: "RESIZE",
                      TaskState.RESIZE_MIGRATING: "RESIZE", TaskState.RESIZE_MIGRATED: "RESIZE",
                      TaskState.RESIZE_FINISH: "RESIZE"},
    VmState.RESIZED: {None: "VERIFY_RESIZE", TaskState.RESIZE_REVERTING: "REVERT_RESIZE"},
    VmState.PAUSED: {None: "PAUSED"},
    VmState.SUSPENDED: {None: "SUSPENDED"},
    VmState.ERROR: {None: "ERROR", TaskState.MIGRATING: "MIGRATING",
                    TaskState.REBUILDING: "REBUILD"},
    VmState.DELETED: {None: "DELETED"},
}


def status(vm_state: str, task_state: str | None) -> str:
    """The API status Nova derives from vm_state and task_state."""
    by_task = _STATUS.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state, by_task[None])


def action_of(event: ev.InstanceRequested) -> str:
    """The instance-action name of a request (create, pause, ...)."""
    if isinstance(event, mev.InstanceResizeRequested) \
            and event.migration_type == mev.MigrationType.MIGRATION:
        return "migrate"
    return OPERATIONS[type(event)].action

