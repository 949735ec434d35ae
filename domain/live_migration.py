"""A live migration, decided and folded: the guest keeps running while it moves.

The path (Nova's, as nimbus records it; statuses are Nova's live ones):

1. ``InstanceLiveMigrateRequested`` to the destination, committed with its
   claim: task ``migrating`` (status MIGRATING), migration ``preparing``.
   The destination defines the guest, inactive (pre_live_migration).
2. ``InstanceLiveMigrationPrepared`` (``running``) and in the same commit
   ``InstanceLiveMigrationRunRequested`` to the source: it copies the memory
   while the guest runs, reporting progress, until the copy converges (or is
   forced to: force_complete pauses the guest), then pauses the guest.
3. ``InstanceLiveMigrationCopied``, the switchover: the instance's host is the
   destination, once. From here the source never runs the guest again.
4. ``InstanceLiveMigrationFinishRequested``: the destination runs the guest;
   then ``InstanceLiveMigrationCleanupRequested``: the source removes its
   paused copy; ``InstanceLiveMigrated`` (``completed``) gives back the
   source's claim.

A failure (or an abort, 2.24) before the switchover is rolled back: the
destination removes its definition (its claim is given back), then the
source makes sure its guest runs; the migration ends ``failed`` (or
``cancelled``). After the switchover nothing goes back: a failed finish
leaves the instance in error on the destination, and the source's copy is
removed all the same; a failed cleanup keeps the source's claim (its copy
may still be there). The instance is never recorded on a host that has no
copy of its guest, and two copies never run at once: the destination's runs
only after the source's is paused for good.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from domain import events as ev
from domain import migration as moves
from domain import migration_events as mev
from domain.base import Pending
from domain.errors import InvalidInput, InvalidState, NotFound
from domain.instance import OPERATIONS, Instance, PowerState, TaskState, VmState

S = mev.MigrationStatus
DIRTY_RATE_KEY: Final = "nimbus:sim-dirty-rate-mbps"  # the pre-copy model's input


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    """nova.conf's [libvirt] live_migration_* settings, with Nova's defaults."""

    downtime_ms: int = 500
    downtime_steps: int = 10
    downtime_delay_s: int = 75
    completion_timeout_s: int = 800
    bandwidth_mbps: int = 0


def start(state: Instance, *, migration_id: str, dest_host: str, block_migration: bool,
          request_id: str, user_id: str, at: datetime,
          is_admin: bool) -> mev.InstanceLiveMigrateRequested:
    """Live migrate a running server to ``dest_host`` (checked and claimed by the caller)."""
    moves.check(state, mev.InstanceLiveMigrateRequested, is_admin=is_admin)
    if dest_host == state.host:
        raise InvalidInput(f"Unable to migrate instance ({state.id}) to current host "
                           f"({state.host}).")
    return mev.InstanceLiveMigrateRequested(
        request_id=request_id, at=at, host=dest_host, user_id=user_id,
        migration_id=migration_id, source_host=state.host, block_migration=block_migration,
        name=state.name, vcpus=state.vcpus, memory_mb=state.memory_mb, nics=list(state.nics))


def _running(state: Instance, migration_id: str | None, action: str) -> mev.Migration:
    """The live migration in progress (``migration_id``: that one), or Nova's refusal."""
    migration = state.migration
    if migration is None or migration.migration_type != mev.MigrationType.LIVE:
        raise InvalidState(f"Instance {state.id} is not migrating.")
    if migration_id is not None and migration.id != migration_id:
        raise NotFound(f"Migration {migration_id} not found for instance {state.id}.")
    if migration.status != S.RUNNING or migration.switched or migration.aborting:
        raise InvalidInput(
            f"Migration {migration_id or migration.id} state of instance {state.id} is "
            f"{migration.status}. Cannot {action} live migration that is not running.")
    return migration


def force_complete(state: Instance, *, migration_id: str | None, request_id: str, user_id: str,
                   at: datetime) -> mev.InstanceLiveMigrationForceCompleteRequested:
    migration = _running(state, migration_id, "force")
    return mev.InstanceLiveMigrationForceCompleteRequested(
        request_id=request_id, at=at, user_id=user_id, migration_id=migration.id)


def abort(state: Instance, *, migration_id: str, request_id: str, user_id: str,
          at: datetime) -> mev.InstanceLiveMigrationAbortRequested:
    migration = _running(state, migration_id, "abort")
    return mev.InstanceLiveMigrationAbortRequested(
        request_id=request_id, at=at, user_id=user_id, migration_id=migration.id)


def progressed(state: Instance, request_id: str, progress: mev.Progress,
               at: datetime) -> mev.InstanceLiveMigrationProgressed | None:
    """The source's report on the copy it runs; None unless that copy is pending."""
    pending = state.pending
    if (pending is None or pending.request_id != request_id
            or pending.step is not mev.InstanceLiveMigrationRunRequested
            or (state.migration is not None and state.migration.progress == progress)):
        return None
    return mev.InstanceLiveMigrationProgressed(
        request_id=request_id, at=at, **msgspec.structs.asdict(progress))


def dirty_rate(state: Instance) -> float:
    """The pre-copy model's guest write rate (MB/s), from the server's metadata."""
    try:
        return max(0.0, float(state.metadata.get(DIRTY_RATE_KEY, "0")))
    except ValueError:
        return 0.0


def _step(kind: type[ev.InstanceRequested], state: Instance, migration: mev.Migration,
          suffix: str, host: str, at: datetime) -> ev.InstanceRequested:
    return kind(request_id=mev.step_id(migration.request_id, suffix), at=at, host=host,
                user_id=state.user_id, migration_id=migration.id)  # type: ignore[call-arg]


def consequence(before: Instance, event: ev.InstanceEvent,
                settings: LiveSettings | None = None) -> tuple[ev.InstanceRequested | None, str]:
    """The next step's request and the host whose claim goes ("": none)."""
    K = mev.StepKind
    migration, pending = before.migration, before.pending
    assert migration is not None and pending is not None
    step, at = pending.step, event.at
    source, dest = migration.source_host, migration.dest_host
    match event:
        case mev.InstanceLiveMigrationPrepared():
            live = settings or LiveSettings()
            return mev.InstanceLiveMigrationRunRequested(
                request_id=mev.step_id(migration.request_id, K.RUN), at=at, host=source,
                user_id=before.user_id, migration_id=migration.id, dest_host=dest,
                memory_mb=before.memory_mb, downtime_ms=live.downtime_ms,
                downtime_steps=live.downtime_steps, downtime_delay_s=live.downtime_delay_s,
                completion_timeout_s=live.completion_timeout_s,
                bandwidth_mbps=live.bandwidth_mbps, dirty_rate_mbps=dirty_rate(before),
                forced=migration.forced), ""
        case mev.InstanceLiveMigrationCopied():
            return _step(mev.InstanceLiveMigrationFinishRequested, before, migration, K.FINISH,
                         dest, at), ""
        case mev.InstanceLiveMigrationResumed():
            return _step(mev.InstanceLiveMigrationCleanupRequested, before, migration,
                         K.CLEANUP, source, at), ""
        case mev.InstanceLiveMigrated():
            return None, source
        case mev.InstanceLiveMigrationRolledBack() if \
                step is mev.InstanceLiveMigrationRollbackRequested:
            return _step(mev.InstanceLiveMigrationRecoverRequested, before, migration,
                         K.RECOVER, source, at), dest
        case mev.InstanceMigrationFailed():
            if step in (mev.InstanceLiveMigrateRequested, mev.InstanceLiveMigrationRunRequested):
                return _step(mev.InstanceLiveMigrationRollbackRequested, before, migration,
                             K.ROLLBACK, dest, at), ""
            if step is mev.InstanceLiveMigrationRollbackRequested:
                return _step(mev.InstanceLiveMigrationRecoverRequested, before, migration,
                             K.RECOVER, source, at), dest
            if step is mev.InstanceLiveMigrationFinishRequested:
                return _step(mev.InstanceLiveMigrationCleanupRequested, before, migration,
                             K.CLEANUP, source, at), ""
            return None, ""  # a failed recover or cleanup: nothing more to try
        case _:
            return None, ""


def _with(migration: mev.Migration, **changes: object) -> mev.Migration:
    return msgspec.structs.replace(migration, **changes)


def evolve(state: Instance, event: mev.AnyLiveEvent) -> Instance:
    """Fold one event of a live migration into the instance."""
    at, migration = event.at, state.migration
    if isinstance(event, mev.InstanceLiveMigrateRequested):
        moving = mev.Migration(
            id=event.migration_id, migration_type=mev.MigrationType.LIVE,
            source_host=state.host, dest_host=event.host, old=_size(state), new=_size(state),
            status=S.PREPARING, request_id=event.request_id, was_vm_state=state.vm_state)
        return msgspec.structs.replace(
            state, pending=Pending(event.request_id, type(event), at), updated_at=at,
            task_state=TaskState.MIGRATING, migration=moving, fault=None, fault_at=None,
            restore=None)
    if migration is None:
        return state
    if isinstance(event, mev.AnyLiveRequest):
        return msgspec.structs.replace(
            state, pending=Pending(event.request_id, type(event), at), updated_at=at,
            task_state=OPERATIONS[type(event)].task_state)
    match event:
        case mev.InstanceLiveMigrationProgressed():
            progress = mev.Progress(**{f: getattr(event, f)
                                       for f in mev.Progress.__struct_fields__})
            # the source answers: the copy's deadline runs from its last report
            pending = state.pending and Pending(state.pending.request_id, state.pending.step, at)
            return msgspec.structs.replace(state, migration=_with(migration, progress=progress),
                                           pending=pending, updated_at=at)
        case mev.InstanceLiveMigrationForceCompleteRequested():
            return msgspec.structs.replace(state, migration=_with(migration, forced=True),
                                           updated_at=at)
        case mev.InstanceLiveMigrationAbortRequested():
            return msgspec.structs.replace(state, migration=_with(migration, aborting=True),
                                           updated_at=at)
    if state.pending is None:
        return state
    step = state.pending.step
    ended = msgspec.structs.replace(state, pending=None, updated_at=at)
    match event:
        case mev.InstanceLiveMigrationPrepared():
            return msgspec.structs.replace(ended, migration=_with(migration, status=S.RUNNING))
        case mev.InstanceLiveMigrationCopied():
            return msgspec.structs.replace(
                ended, host=migration.dest_host, power_state=PowerState.PAUSED,
                migration=_with(migration, switched=True))
        case mev.InstanceLiveMigrationResumed():
            return msgspec.structs.replace(ended, vm_state=VmState.ACTIVE,
                                           power_state=PowerState.RUNNING)
        case mev.InstanceLiveMigrated():
            failed = migration.status == S.ERROR
            return msgspec.structs.replace(
                ended, task_state=None,
                vm_state=VmState.ERROR if failed else VmState.ACTIVE,
                migration=migration if failed else _with(migration, status=S.COMPLETED))
        case mev.InstanceLiveMigrationRolledBack() if \
                step is mev.InstanceLiveMigrationRollbackRequested:
            return ended
        case mev.InstanceLiveMigrationRolledBack():  # the source's guest runs
            return msgspec.structs.replace(
                ended, task_state=None, vm_state=VmState.ACTIVE, power_state=PowerState.RUNNING,
                migration=_with(migration, status=_ended_status(migration)))
        case mev.InstanceMigrationFailed():
            return _failed(ended, event, step, migration)
    return state


def _ended_status(migration: mev.Migration) -> str:
    return S.CANCELLED if migration.aborting else S.FAILED


def _failed(ended: Instance, event: mev.InstanceMigrationFailed, step: type[object],
            migration: mev.Migration) -> Instance:
    faulted = msgspec.structs.replace(ended, fault=event.reason, fault_at=event.at)
    if step in (mev.InstanceLiveMigrateRequested, mev.InstanceLiveMigrationRunRequested,
                mev.InstanceLiveMigrationRollbackRequested):
        return faulted  # the rollback goes on
    if step is mev.InstanceLiveMigrationFinishRequested:  # on the destination, in error
        return msgspec.structs.replace(faulted, vm_state=VmState.ERROR,
                                       migration=_with(migration, status=S.ERROR))
    if step is mev.InstanceLiveMigrationCleanupRequested:  # it runs; the source may not be clean
        return msgspec.structs.replace(
            faulted, task_state=None, vm_state=VmState.ERROR if migration.status == S.ERROR
            else VmState.ACTIVE, migration=_with(migration, status=S.ERROR))
    # a failed recover: the source's guest is in a state nobody knows
    return msgspec.structs.replace(faulted, task_state=None, vm_state=VmState.ERROR,
                                   migration=_with(migration, status=_ended_status(migration)))


def _size(state: Instance) -> mev.Size:
    return mev.Size(flavor_id=state.flavor_id, vcpus=state.vcpus, memory_mb=state.memory_mb,
                    disk_gb=state.disk_gb)
