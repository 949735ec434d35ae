"""The storage worker for one storage host: volume requests in, bytes and outcomes out.

It consumes the volume events addressed to its host (one volume at a time,
volumes in parallel), does the work level-based so a redelivered request
finds it done and succeeds again (creating a volume that exists, deleting
one that is gone), publishes a ``StepOutcome`` and only then lets the
message be acked. A host that cannot be asked now is a transient fault (the
message comes back later); one that refuses reports ``ok=False``. Like the
hypervisor workers, it never touches the database.

It also folds every volume event from the stream's start (workers/volume_fold.py),
so it knows which volumes it should export: on start (a restarted tgtd has no
targets) and when asked on ``<prefix>.hosts.<host>.reconcile`` it exports
again what is missing (workers/storage/exports_restore.py), and answers
``Reconciled``. ``<prefix>.hosts.<host>.power-loss`` drops every export, as a
SAN's power loss does (tests and demos).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import msgspec

from domain import backup as backups
from domain import registry
from domain import snapshot as snapshots
from domain import volume as model
from domain.base import UnknownEvent, unknown_event
from domain.clock import Clock, system_clock
from domain.registry import Role
from messaging.consumer import ConsumerSpec, Delivery, aggregate_key, consume
from messaging.nats import Connection, connect, ensure_streams, serve_requests
from messaging.subjects import Subjects
from messaging.wire import PowerLost, Reconciled, ReconcileRequest
from workers.iscsi import initiator_for
from workers.storage.backups import archive, archive_path, checksum_path, restore
from workers.storage.exports_restore import power_off, restore_exports
from workers.storage.port import Backing, Exporter, StorageError, StorageUnavailable
from workers.volume_fold import Guard, VolumeFold, exported, until_caught_up
from workers.volume_outcomes import Request, StepDone, take_step

log = logging.getLogger(__name__)

HANDLED = registry.handled(Role.STORAGE)
# the same events, as the type ``converge`` is proven to handle in full
StorageWork = model.StorageStep | snapshots.StorageStep | backups.StorageStep


def converge(backing: Backing, exporter: Exporter | None, backup_dir: Path, volume_id: str,
             request: StorageWork) -> StepDone:
    """Bring the volume (or snapshot, or backup: ``volume_id`` is then its id)
    to what ``request`` asks for; done already is success."""
    match request:
        case backups.BackupCreateRequested():
            backup_dir.mkdir(parents=True, exist_ok=True)
            record = archive(Path(backing.path(request.volume_id)), backup_dir, volume_id)
            return StepDone(checksum=record.sha256, stored_bytes=record.stored_bytes)
        case backups.BackupDeleteRequested():
            archived = archive_path(backup_dir, volume_id)
            checksum_path(archived).unlink(missing_ok=True)
            archived.unlink(missing_ok=True)
        case snapshots.SnapshotCreateRequested():
            backing.snapshot(volume_id, request.volume_id)
        case snapshots.SnapshotDeleteRequested():
            backing.delete_snapshot(volume_id)
        case model.VolumeCreateRequested():
            if request.backup_id:
                backing.create(volume_id, request.size_gb)
                restore(archive_path(backup_dir, request.backup_id),
                        Path(backing.path(volume_id)))
            elif request.snapshot_id:
                backing.create_from_snapshot(volume_id, request.snapshot_id, request.size_gb)
            else:
                backing.create(volume_id, request.size_gb)
        case model.VolumeDeleteRequested():
            if exporter is not None:
                exporter.unexport(volume_id)  # a failed attach may have left one
            backing.wipe_and_delete(volume_id)
        case model.VolumeAttachRequested():
            if exporter is None:
                raise StorageError("this storage host has no iSCSI target to export from")
            export = exporter.export(volume_id, backing.path(volume_id),
                                     initiator_for(request.compute_host))
            return StepDone(target=model.Target(portal=export.portal, iqn=export.iqn,
                                                lun=export.lun))
        case model.VolumeUnexportRequested():
            if exporter is not None:
                exporter.unexport(volume_id)
        case _:
            unknown_event(request, "storage host")
    return StepDone()


class StorageWorker:
    def __init__(self, nc: Connection, subjects: Subjects, host: str, backing: Backing,
                 exporter: Exporter | None, backup_dir: Path,
                 clock: Clock = system_clock) -> None:
        self.host = host
        self._js = nc.jetstream()
        self._subjects = subjects
        self._backing = backing
        self._exporter = exporter
        self._backup_dir = backup_dir
        self._clock = clock
        self.fold = VolumeFold()
        self._guard = Guard(self.fold)

    async def handle(self, delivery: Delivery) -> None:
        def work(volume_id: str, request: Request) -> StepDone:
            if not isinstance(request, StorageWork):  # HANDLED names only these
                raise UnknownEvent(request, "storage host")
            return converge(self._backing, self._exporter, self._backup_dir, volume_id, request)

        async with self._guard.handling(delivery.key, delivery.data):
            await take_step(self._js, self._subjects, self.host, delivery, HANDLED, work,
                            transient=StorageUnavailable, permanent=StorageError,
                            clock=self._clock)

    async def reconcile(self, asked: ReconcileRequest) -> list[str]:
        """Export again what the log says this host exports and it does not
        (only ``asked.instance_id``'s volumes, when given); what it did, or
        with ``dry_run`` would do."""
        await self.fold.reached(0)
        exporter = self._exporter
        if exporter is None:
            return []
        try:
            serving = set(await asyncio.to_thread(exporter.exports))
        except (StorageError, StorageUnavailable) as error:
            return [f"cannot read this host's exports: {error}"]
        changes = []
        for volume in self.fold.exports_on(self.host, asked.instance_id):
            if volume.id in serving:
                continue
            async with self._guard.reconciling(volume.id):
                now = self.fold.volumes[volume.id]  # the consumer may have moved it on
                if exported(now):
                    changes += await asyncio.to_thread(
                        restore_exports, self._backing, exporter, [now], dry_run=asked.dry_run)
        return changes

    async def answer_reconcile(self, request: bytes) -> bytes:
        asked = msgspec.json.decode(request or b"{}", type=ReconcileRequest)
        changes = await self.reconcile(asked)
        return msgspec.json.encode(Reconciled(host=self.host, role="storage", changes=changes,
                                              position=self.fold.position))

    async def restore_on_start(self, stop: asyncio.Event) -> None:
        """Once the fold has caught up: the exports a restart lost, made again."""
        if not await until_caught_up(self.fold, stop):
            return
        try:
            changes = await self.reconcile(ReconcileRequest(dry_run=False))
        except Exception:  # the worker goes on; a reconcile when asked tries again
            log.exception("%s: the exports were not restored on start", self.host)
            return
        if changes:
            log.warning("%s: restored on start: %s", self.host, "; ".join(changes))

    async def power_loss(self, _request: bytes) -> bytes:
        """A simulated power loss (``nimbus host power-loss``): every export gone."""
        lost = [] if self._exporter is None else await asyncio.to_thread(
            power_off, self._exporter)
        log.warning("%s: power lost: %d exports gone", self.host, len(lost))
        return msgspec.json.encode(PowerLost(
            host=self.host, role="storage", lost=[f"export of volume {v}" for v in lost]))


async def serve(nc: Connection, subjects: Subjects, host: str, backing: Backing,
                exporter: Exporter | None, backup_dir: Path, stop: asyncio.Event, *,
                nak_delay: float = 1.0, ack_wait: float = 30.0,
                clock: Clock = system_clock) -> None:
    """Run the worker for ``host`` on an open connection until ``stop`` is set;
    ``clock`` stamps its outcomes."""
    js = nc.jetstream()
    await ensure_streams(js, subjects)
    worker = StorageWorker(nc, subjects, host, backing, exporter, backup_dir, clock)
    spec = ConsumerSpec(stream=subjects.events_stream, durable=f"storage-{host}",
                        filter_subject=subjects.host_events("*", host),  # volumes, snapshots
                        nak_delay=nak_delay, ack_wait=ack_wait)
    answering = [await serve_requests(nc, subjects.reconcile(host), worker.answer_reconcile),
                 await serve_requests(nc, subjects.power_loss(host), worker.power_loss)]
    try:
        await asyncio.gather(consume(js, spec, worker.handle, aggregate_key, stop),
                             worker.fold.follow(js, subjects, stop), worker.restore_on_start(stop))
    finally:
        for subscription in answering:
            await subscription.unsubscribe()


async def run(nats_url: str, prefix: str, host: str, backing: Backing,
              exporter: Exporter | None, backup_dir: Path, stop: asyncio.Event) -> None:
    """The storage worker process for one host."""
    nc = await connect(nats_url, name=f"storage-{host}")
    try:
        await serve(nc, Subjects(prefix), host, backing, exporter, backup_dir, stop)
    finally:
        await nc.drain()
