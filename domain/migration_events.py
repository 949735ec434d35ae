"""The events of a server's move to another host: cold migration, resize, live migration.

A migration is part of the instance aggregate, not an aggregate of its own:
its every step changes the instance too (its task state, and at the
switchover its host and flavor), and one aggregate's events are committed
in one transaction with one version check, so the instance and its
migration can never disagree. The instance's state holds its latest
migration (``Migration``); the migrations view (os-migrations) is projected
from these events.

Each step that needs a host is an ``InstanceRequested`` addressed to the
host that does it (the relay puts the host in the subject), answered by an
``InstanceOutcome`` the ingester records from the host's report or the
deadline sweeper records as a failure (domain/deadlines.py). The steps'
request ids derive from the user's request (``step_id``), so every report
answers exactly one step. How a resize goes is domain/migration.py's, how a
live migration goes domain/live_migration.py's. Class names are stored:
never rename these.
"""

from __future__ import annotations

from typing import ClassVar, Final

import msgspec

from domain import events as ev


class MigrationStatus:
    """Nova's migration statuses."""

    PRE_MIGRATING: Final = "pre-migrating"
    MIGRATING: Final = "migrating"
    POST_MIGRATING: Final = "post-migrating"
    FINISHED: Final = "finished"
    CONFIRMING: Final = "confirming"
    CONFIRMED: Final = "confirmed"
    REVERTING: Final = "reverting"
    REVERTED: Final = "reverted"
    ERROR: Final = "error"
    # a live migration's
    QUEUED: Final = "queued"
    PREPARING: Final = "preparing"
    RUNNING: Final = "running"
    COMPLETED: Final = "completed"
    FAILED: Final = "failed"
    CANCELLED: Final = "cancelled"


# a migration in one of these holds claims on both hosts
IN_PROGRESS: Final = frozenset({
    MigrationStatus.PRE_MIGRATING, MigrationStatus.MIGRATING, MigrationStatus.POST_MIGRATING,
    MigrationStatus.FINISHED, MigrationStatus.CONFIRMING, MigrationStatus.REVERTING,
    MigrationStatus.QUEUED, MigrationStatus.PREPARING, MigrationStatus.RUNNING,
})


class MigrationType:
    """Nova's migration types (2.23's ``migration_type``)."""

    MIGRATION: Final = "migration"  # cold: a resize to the same flavor
    RESIZE: Final = "resize"
    LIVE: Final = "live-migration"


class Size(msgspec.Struct, frozen=True, kw_only=True):
    """What a flavor gives an instance, as the instance records it."""

    flavor_id: str
    vcpus: int
    memory_mb: int
    disk_gb: int


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    """How far a live migration's copy is (Nova's server migration fields)."""

    memory_total_bytes: int = 0
    memory_processed_bytes: int = 0
    memory_remaining_bytes: int = 0
    disk_total_bytes: int = 0
    disk_processed_bytes: int = 0
    disk_remaining_bytes: int = 0


class Migration(msgspec.Struct, frozen=True, kw_only=True):
    """An instance's latest move, as the write side knows it."""

    id: str  # a UUID (2.59's ``uuid``); the views number them for the API
    migration_type: str
    source_host: str
    dest_host: str
    old: Size
    new: Size
    status: str
    request_id: str  # the user's request that started it
    was_vm_state: str  # active or stopped: what it is brought back to
    progress: Progress = Progress()  # a live migration's copy, as its source last said
    forced: bool = False  # force_complete was asked (2.22)
    aborting: bool = False  # an abort was asked (2.24)
    switched: bool = False  # a live migration's guest left its source (the switchover)

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS


class InstanceResizeRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """Resize, or cold migrate (``migration_type`` "migration": same flavor):
    the destination host was chosen and claimed in this transaction. The
    source host (``host``) shuts the guest off and keeps its definition."""

    migration_id: str
    migration_type: str
    dest_host: str
    old: Size
    new: Size


class InstanceResizeMigrated(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The source host has the guest shut off: the destination may start it."""


class InstanceResizeFinishRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The destination host (``host``) defines the guest with the new flavor
    and starts it when it was running."""

    migration_id: str
    name: str
    vcpus: int
    memory_mb: int
    nics: list[ev.Nic] = []
    start: bool = True


class InstanceResizeFinished(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The switchover: the instance is on the destination host with the new
    flavor, awaiting confirm or revert (VERIFY_RESIZE); both hosts keep
    their claims until then."""


class InstanceResizeConfirmRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The source host (``host``) removes the old guest."""

    migration_id: str


class InstanceResizeConfirmed(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The old guest is gone; the source host's claim is given back."""


class InstanceResizeRevertRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The destination host (``host``) removes the new guest."""

    migration_id: str


class InstanceResizeDestinationCleaned(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The destination host removed its guest (a revert's first step, or a
    failed finish's rollback): the instance goes back to its source."""


class InstanceResizeRevertFinishRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The source host (``host``) starts the old guest again, when it was running."""

    migration_id: str
    start: bool = True


class InstanceResizeReverted(ev.InstanceOutcome, frozen=True, kw_only=True):
    """Back on the source host with the old flavor; the destination's claim
    is given back."""


class InstanceResizeRollbackRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """A finish failed: the destination host (``host``) removes whatever of
    the guest it made, before the instance is recorded back on its source."""

    migration_id: str


class InstanceStepFailed(ev.InstanceOutcome, frozen=True, kw_only=True):
    """A step of a move did not complete (never stored as such: its two kinds are)."""

    reason: str


class InstanceMigrationFailed(InstanceStepFailed, frozen=True, kw_only=True):
    """A step of a migration failed or its host never answered: the
    migration is in error, and what the failed step leaves is rolled back
    (domain/migration.py)."""


class InstanceResizeStepRefused(InstanceStepFailed, frozen=True, kw_only=True):
    """A confirm or a revert's first step failed: the instance stays in
    VERIFY_RESIZE on the host it was, to be confirmed or reverted again."""


class InstanceLiveMigrateRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """Live migrate: the destination (``host``, claimed in this transaction)
    prepares an inactive definition of the guest (Nova's pre_live_migration)."""

    migration_id: str
    source_host: str
    block_migration: bool = False
    name: str
    vcpus: int
    memory_mb: int
    nics: list[ev.Nic] = []


class InstanceLiveMigrationPrepared(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The destination is ready: the source starts copying the guest."""


class InstanceLiveMigrationRunRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The source (``host``) copies the running guest's memory to ``dest_host``
    until it converges (or is forced to), then pauses it there: on
    ``qemu:///system`` with libvirt's ``migrateToURI3``, on the test driver
    with the pre-copy model of workers/hypervisor/precopy.py. Nova's
    ``live_migration_*`` settings travel with it; ``dirty_rate_mbps`` is the
    model's input (the guest's write rate), read from the server's metadata."""

    migration_id: str
    dest_host: str
    memory_mb: int
    downtime_ms: int = 500
    downtime_steps: int = 10
    downtime_delay_s: int = 75
    completion_timeout_s: int = 800
    bandwidth_mbps: int = 0  # 0: unlimited (the model takes 1000)
    dirty_rate_mbps: float = 0.0
    forced: bool = False  # force_complete was asked before the copy began


class InstanceLiveMigrationProgressed(ev.InstanceEvent, frozen=True, kw_only=True):
    """The source's report on the copy; no step ends with it."""

    answers: ClassVar[bool] = False
    memory_total_bytes: int
    memory_processed_bytes: int
    memory_remaining_bytes: int
    disk_total_bytes: int = 0
    disk_processed_bytes: int = 0
    disk_remaining_bytes: int = 0


class InstanceLiveMigrationCopied(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The switchover: the guest's memory is all on the destination and the
    source's copy is paused. The instance is on the destination from here;
    the source never runs it again."""


class InstanceLiveMigrationFinishRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The destination (``host``) runs the guest (Nova's post_live_migration_at_destination)."""

    migration_id: str


class InstanceLiveMigrationResumed(ev.InstanceOutcome, frozen=True, kw_only=True):
    """The guest runs on the destination: the source's copy is removed next."""


class InstanceLiveMigrationCleanupRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """The source (``host``) removes its paused copy of the guest."""

    migration_id: str


class InstanceLiveMigrated(ev.InstanceOutcome, frozen=True, kw_only=True):
    """Done: the source's claim is given back."""


class InstanceLiveMigrationRollbackRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """Before the switchover a step failed (or was aborted): the destination
    (``host``) removes its definition; the source's guest goes on running."""

    migration_id: str


class InstanceLiveMigrationRecoverRequested(ev.InstanceRequested, frozen=True, kw_only=True):
    """After a rollback, the source (``host``) makes sure its guest runs (it may
    have been paused for the switchover, or by force_complete)."""

    migration_id: str


class InstanceLiveMigrationRolledBack(ev.InstanceOutcome, frozen=True, kw_only=True):
    """A rollback's step is done."""


class InstanceLiveMigrationForceCompleteRequested(ev.InstanceChanged, frozen=True,
                                                  kw_only=True):
    """force_complete (2.22): the source pauses the guest so that its copy converges."""

    migration_id: str


class InstanceLiveMigrationAbortRequested(ev.InstanceChanged, frozen=True, kw_only=True):
    """Abort (2.24): the source stops the copy; the migration is rolled back, cancelled."""

    migration_id: str


# A step that follows another carries a request id derived from the user's.
class StepKind:
    FINISH: Final = "finish"
    REVERT_FINISH: Final = "revert-finish"
    ROLLBACK: Final = "rollback"
    RUN: Final = "run"
    CLEANUP: Final = "cleanup"
    RECOVER: Final = "recover"
    CONFIRM: Final = "confirm"  # a delete's implicit confirmation (domain/migration.py)


def step_id(request_id: str, step: str) -> str:
    """The request id of a step that follows the user's request ``request_id``."""
    return f"{request_id}:{step}"


# the steps a user asked for (their request ids are the users'): the others follow
USER_STEPS: Final[frozenset[type[ev.InstanceRequested]]] = frozenset({
    InstanceResizeRequested, InstanceResizeConfirmRequested, InstanceResizeRevertRequested,
    InstanceLiveMigrateRequested})
# the steps that start a migration (the migrations view numbers it by this event)
STARTS: Final = (InstanceResizeRequested, InstanceLiveMigrateRequested)

AnyResizeRequest = (
    InstanceResizeRequested | InstanceResizeFinishRequested | InstanceResizeConfirmRequested
    | InstanceResizeRevertRequested | InstanceResizeRevertFinishRequested
    | InstanceResizeRollbackRequested
)
AnyResizeOutcome = (
    InstanceResizeMigrated | InstanceResizeFinished | InstanceResizeConfirmed
    | InstanceResizeDestinationCleaned | InstanceResizeReverted | InstanceMigrationFailed
    | InstanceResizeStepRefused
)
AnyResizeEvent = AnyResizeRequest | AnyResizeOutcome
AnyLiveRequest = (
    InstanceLiveMigrateRequested | InstanceLiveMigrationRunRequested
    | InstanceLiveMigrationFinishRequested | InstanceLiveMigrationCleanupRequested
    | InstanceLiveMigrationRollbackRequested | InstanceLiveMigrationRecoverRequested
)
AnyLiveOutcome = (
    InstanceLiveMigrationPrepared | InstanceLiveMigrationCopied | InstanceLiveMigrationResumed
    | InstanceLiveMigrated | InstanceLiveMigrationRolledBack | InstanceMigrationFailed
)
AnyLiveNote = (InstanceLiveMigrationProgressed | InstanceLiveMigrationForceCompleteRequested
               | InstanceLiveMigrationAbortRequested)
AnyLiveEvent = AnyLiveRequest | AnyLiveOutcome | AnyLiveNote
AnyMigrationRequest = AnyResizeRequest | AnyLiveRequest
AnyMigrationOutcome = AnyResizeOutcome | AnyLiveOutcome
AnyMigrationEvent = AnyResizeEvent | AnyLiveEvent


def is_live(migration: Migration | None, event: object) -> bool:
    """Whether ``event`` belongs to a live migration (else to a resize or cold migration)."""
    if isinstance(event, InstanceLiveMigrateRequested):
        return True
    if isinstance(event, InstanceResizeRequested):
        return False
    return migration is not None and migration.migration_type == MigrationType.LIVE

