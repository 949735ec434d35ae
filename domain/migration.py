"""A server's move to another host, decided and folded: cold migration and resize.

The path (Nova's, as nimbus records it):

1. ``InstanceResizeRequested`` to the source host, committed with the
   destination host's claim: task ``resize_prep``, migration ``pre-migrating``.
   The source shuts the guest off (keeping its definition).
2. ``InstanceResizeMigrated`` (``resize_migrated``, ``post-migrating``) and in
   the same commit ``InstanceResizeFinishRequested`` to the destination
   (``resize_finish``): it defines the guest with the new flavor and starts it.
3. ``InstanceResizeFinished``, the switchover: the instance's host and flavor
   change, here and only here; vm_state ``resized`` (VERIFY_RESIZE),
   migration ``finished``. Both hosts still hold their claims.
4. Confirm: the source removes the old guest, then ``InstanceResizeConfirmed``
   gives back the source's claim. Revert: the destination removes the new
   guest, the source starts the old one, then ``InstanceResizeReverted`` puts
   the instance back on its source with its old flavor and gives back the
   destination's claim.

A failed step (the host refused, or never answered before the deadline)
rolls back what it leaves: before the switchover the instance stays on its
source and the destination's claim goes (after the destination removed
whatever it made, when the finish failed); a failed confirm or revert leaves
it in VERIFY_RESIZE, to be asked again. At no point do two running guests
exist: the destination starts only after the source's is shut off, and the
source restarts only after the destination's is gone.

``consequence`` says, for an event just decided, which request follows it
and which host's claim is given back in the same commit (commands/migrations.py).
Pure: states and fields in, events out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from domain import events as ev
from domain import migration_events as mev
from domain.base import Pending, unknown_event
from domain.errors import InvalidInput, InvalidState
from domain.instance import (
    OPERATIONS,
    Instance,
    PowerState,
    TaskState,
    VmState,
    refuse_if_locked,
)

S = mev.MigrationStatus

SAME_FLAVOR: Final = "When resizing, instances must change flavor!"
DISK_DOWN: Final = "Unable to resize disk down."


def size_of(state: Instance) -> mev.Size:
    return mev.Size(flavor_id=state.flavor_id, vcpus=state.vcpus, memory_mb=state.memory_mb,
                    disk_gb=state.disk_gb)


def check(state: Instance, kind: type[ev.InstanceRequested], *, is_admin: bool) -> None:
    """Refuse, in Nova's words, a step the instance's state does not allow."""
    op = OPERATIONS[kind]
    if state.vm_state == VmState.DELETED:
        raise InvalidState(f"Instance {state.id} could not be found.")
    refuse_if_locked(state, is_admin)
    if state.task_state is not None or state.pending is not None:
        raise InvalidState(f"Cannot '{op.action}' instance {state.id} while it is in "
                           f"task_state {state.task_state}")
    if state.vm_state not in op.allowed_from:
        raise InvalidState(f"Cannot '{op.action}' instance {state.id} while it is in "
                           f"vm_state {state.vm_state}")


def check_flavor(state: Instance, new: mev.Size, migration_type: str) -> None:
    """A resize must change the flavor, and cannot shrink the disk."""
    if migration_type != mev.MigrationType.RESIZE:
        return
    if new.flavor_id == state.flavor_id:
        raise InvalidInput(SAME_FLAVOR)
    if new.disk_gb < state.disk_gb:
        raise InvalidInput(DISK_DOWN)


def start(state: Instance, *, migration_id: str, migration_type: str, dest_host: str,
          new: mev.Size, request_id: str, user_id: str, at: datetime,
          is_admin: bool) -> mev.InstanceResizeRequested:
    """Resize (or cold migrate: ``new`` is the flavor it has) to ``dest_host``."""
    check(state, mev.InstanceResizeRequested, is_admin=is_admin)
    check_flavor(state, new, migration_type)
    if dest_host == state.host:
        raise InvalidInput(f"Unable to migrate instance ({state.id}) to current host "
                           f"({state.host}).")
    return mev.InstanceResizeRequested(
        request_id=request_id, at=at, host=state.host, user_id=user_id,
        migration_id=migration_id, migration_type=migration_type, dest_host=dest_host,
        old=size_of(state), new=new)


def _resized(state: Instance, action: str) -> mev.Migration:
    migration = state.migration
    if (state.vm_state != VmState.RESIZED or migration is None
            or migration.status != S.FINISHED):
        raise InvalidState(f"Cannot '{action}' instance {state.id} while it is in "
                           f"vm_state {state.vm_state}")
    return migration


def confirm(state: Instance, *, request_id: str, user_id: str, at: datetime,
            is_admin: bool) -> mev.InstanceResizeConfirmRequested:
    """Confirm a resize: the source host removes the old guest."""
    refuse_if_locked(state, is_admin)
    migration = _resized(state, "confirmResize")
    return mev.InstanceResizeConfirmRequested(
        request_id=request_id, at=at, host=migration.source_host, user_id=user_id,
        migration_id=migration.id)


def revert(state: Instance, *, request_id: str, user_id: str, at: datetime,
           is_admin: bool) -> mev.InstanceResizeRevertRequested:
    """Revert a resize: the destination host removes the new guest first."""
    refuse_if_locked(state, is_admin)
    migration = _resized(state, "revertResize")
    return mev.InstanceResizeRevertRequested(
        request_id=request_id, at=at, host=migration.dest_host, user_id=user_id,
        migration_id=migration.id)


def confirm_on_delete(state: Instance, *, request_id: str, user_id: str,
                      at: datetime) -> mev.InstanceResizeConfirmRequested | None:
    """Deleting a server in VERIFY_RESIZE confirms its resize first, as Nova
    does: the source host removes the old guest, asked in the delete's commit
    (the delete that follows is what the instance then awaits, so the
    source's report changes nothing; the deletion gives back both hosts'
    claims). None when there is no resize to confirm."""
    migration = state.migration
    if (state.vm_state != VmState.RESIZED or migration is None
            or migration.status != S.FINISHED or migration.source_host == state.host):
        return None
    return mev.InstanceResizeConfirmRequested(
        request_id=mev.step_id(request_id, mev.StepKind.CONFIRM), at=at, host=migration.source_host,
        user_id=user_id, migration_id=migration.id)


class Consequence(msgspec.Struct, frozen=True, kw_only=True):
    """What follows an event of a move in the same commit: the next step's
    request (None: none) and the host whose claim is given back ("": none)."""

    then: ev.InstanceRequested | None = None
    release: str = ""


def consequence(before: Instance, event: ev.InstanceEvent) -> Consequence:
    """What follows ``event``, decided on the state ``before`` it."""
    migration, pending = before.migration, before.pending
    if migration is None or pending is None or not isinstance(event, mev.AnyMigrationOutcome):
        return Consequence()
    if mev.is_live(migration, event):
        from domain import live_migration  # (it decides on this module's checks)

        then, release = live_migration.consequence(before, event)
        return Consequence(then=then, release=release)
    if not isinstance(event, mev.AnyResizeOutcome):
        return Consequence()
    step, at, request_id = pending.step, event.at, migration.request_id
    match event:
        case mev.InstanceResizeMigrated():
            return Consequence(then=mev.InstanceResizeFinishRequested(
                request_id=mev.step_id(request_id, mev.StepKind.FINISH), at=at,
                host=migration.dest_host, user_id=before.user_id, migration_id=migration.id,
                name=before.name, vcpus=migration.new.vcpus, memory_mb=migration.new.memory_mb,
                nics=list(before.nics), start=migration.was_vm_state == VmState.ACTIVE))
        case mev.InstanceResizeConfirmed():
            return Consequence(release=migration.source_host)
        case mev.InstanceResizeDestinationCleaned() if step is mev.InstanceResizeRevertRequested:
            return Consequence(then=mev.InstanceResizeRevertFinishRequested(
                request_id=mev.step_id(pending.request_id, mev.StepKind.REVERT_FINISH), at=at,
                host=migration.source_host, user_id=before.user_id, migration_id=migration.id,
                start=migration.was_vm_state == VmState.ACTIVE))
        case mev.InstanceResizeDestinationCleaned() | mev.InstanceResizeReverted():
            return Consequence(release=migration.dest_host)
        case mev.InstanceMigrationFailed() if step is mev.InstanceResizeFinishRequested:
            return Consequence(then=mev.InstanceResizeRollbackRequested(
                request_id=mev.step_id(request_id, mev.StepKind.ROLLBACK), at=at,
                host=migration.dest_host, user_id=before.user_id, migration_id=migration.id))
        case mev.InstanceMigrationFailed():
            return Consequence(release=migration.dest_host)
        case mev.InstanceResizeFinished() | mev.InstanceResizeStepRefused():
            return Consequence()
        case _:
            unknown_event(event, "migration")


def _power(vm_state: str) -> int:
    return PowerState.RUNNING if vm_state == VmState.ACTIVE else PowerState.SHUTDOWN


def _with(migration: mev.Migration | None, status: str) -> mev.Migration | None:
    return None if migration is None else msgspec.structs.replace(migration, status=status)


def _flavored(state: Instance, size: mev.Size) -> Instance:
    return msgspec.structs.replace(state, flavor_id=size.flavor_id, vcpus=size.vcpus,
                                   memory_mb=size.memory_mb, disk_gb=size.disk_gb)


def evolve(state: Instance, event: mev.AnyResizeEvent) -> Instance:
    """Fold one event of a resize or cold migration into the instance."""
    at, migration = event.at, state.migration
    if isinstance(event, mev.AnyResizeRequest):
        asked = msgspec.structs.replace(
            state, pending=Pending(event.request_id, type(event), at), updated_at=at,
            task_state=OPERATIONS[type(event)].task_state, restore=None)
        match event:
            case mev.InstanceResizeRequested():
                moving = mev.Migration(
                    id=event.migration_id, migration_type=event.migration_type,
                    source_host=state.host, dest_host=event.dest_host, old=event.old,
                    new=event.new, status=S.PRE_MIGRATING, request_id=event.request_id,
                    was_vm_state=state.vm_state)
                return msgspec.structs.replace(asked, migration=moving, fault=None,
                                               fault_at=None)
            case mev.InstanceResizeConfirmRequested():
                return msgspec.structs.replace(asked, migration=_with(migration, S.CONFIRMING))
            case mev.InstanceResizeRevertRequested():
                return msgspec.structs.replace(asked, migration=_with(migration, S.REVERTING))
            case (mev.InstanceResizeFinishRequested() | mev.InstanceResizeRevertFinishRequested()
                  | mev.InstanceResizeRollbackRequested()):
                return asked
            case _:
                unknown_event(event, "migration request")
    if state.pending is None:
        return state  # a report for nothing pending (the domain never decides one)
    step = state.pending.step
    ended = msgspec.structs.replace(state, pending=None, task_state=None, updated_at=at)
    was = migration.was_vm_state if migration is not None else VmState.ACTIVE
    match event:
        case mev.InstanceResizeMigrated():
            return msgspec.structs.replace(ended, task_state=TaskState.RESIZE_MIGRATED,
                                           migration=_with(migration, S.POST_MIGRATING))
        case mev.InstanceResizeFinished():
            moved = ended if migration is None else _flavored(
                msgspec.structs.replace(ended, host=migration.dest_host), migration.new)
            return msgspec.structs.replace(
                moved, vm_state=VmState.RESIZED, power_state=_power(was),
                migration=_with(migration, S.FINISHED), fault=None, fault_at=None)
        case mev.InstanceResizeConfirmed():
            return msgspec.structs.replace(ended, vm_state=was, power_state=_power(was),
                                           migration=_with(migration, S.CONFIRMED))
        case mev.InstanceResizeDestinationCleaned() if step is mev.InstanceResizeRevertRequested:
            return msgspec.structs.replace(ended, task_state=TaskState.RESIZE_REVERTING)
        case mev.InstanceResizeDestinationCleaned():  # a failed finish, rolled back
            return msgspec.structs.replace(ended, vm_state=VmState.ERROR,
                                           power_state=PowerState.SHUTDOWN,
                                           migration=_with(migration, S.ERROR))
        case mev.InstanceResizeReverted():
            back = ended if migration is None else _flavored(
                msgspec.structs.replace(ended, host=migration.source_host), migration.old)
            return msgspec.structs.replace(back, vm_state=was, power_state=_power(was),
                                           migration=_with(migration, S.REVERTED))
        case mev.InstanceResizeStepRefused():
            return msgspec.structs.replace(ended, fault=event.reason, fault_at=at,
                                           migration=_with(migration, S.FINISHED))
        case mev.InstanceMigrationFailed():
            return _failed(state, ended, event, step)
        case _:
            unknown_event(event, "migration")


def _failed(state: Instance, ended: Instance, event: mev.InstanceMigrationFailed,
            step: type[object]) -> Instance:
    """Where a failed step leaves the instance (the consequence rolls the rest back)."""
    migration = _with(state.migration, S.ERROR)
    failed = msgspec.structs.replace(ended, fault=event.reason, fault_at=event.at,
                                     migration=migration)
    if step is mev.InstanceResizeRequested:  # nothing moved: as it was, on its source
        return failed
    if step is mev.InstanceResizeFinishRequested:  # the rollback follows
        return msgspec.structs.replace(failed, task_state=TaskState.RESIZE_FINISH)
    if step is mev.InstanceResizeRevertFinishRequested and state.migration is not None:
        # the new guest is gone: the instance is on its source, the old guest not started
        back = _flavored(msgspec.structs.replace(failed, host=state.migration.source_host),
                         state.migration.old)
        return msgspec.structs.replace(back, vm_state=VmState.ERROR,
                                       power_state=PowerState.SHUTDOWN)
    return msgspec.structs.replace(failed, vm_state=VmState.ERROR,
                                   power_state=PowerState.SHUTDOWN)
