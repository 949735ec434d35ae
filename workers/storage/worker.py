"""The storage worker for one storage host: volume requests in, bytes and outcomes out.

It consumes the volume events addressed to its host (one volume at a time,
volumes in parallel), does the work level-based so a redelivered request
finds it done and succeeds again (creating a volume that exists, deleting
one that is gone), publishes a ``StepOutcome`` and only then lets the
message be acked. A host that cannot be asked now is a transient fault (the
message comes back later); one that refuses reports ``ok=False``. Like the
hypervisor workers, it never touches the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from domain import backup as backups
from domain import registry
from domain import snapshot as snapshots
from domain import volume as model
from domain.base import UnknownEvent, unknown_event
from domain.clock import Clock, system_clock
from domain.registry import Role
from messaging.consumer import ConsumerSpec, Delivery, aggregate_key, consume
from messaging.nats import Connection, connect, ensure_streams
from messaging.subjects import Subjects
from workers.iscsi import initiator_for
from workers.storage.backups import archive, archive_path, checksum_path, restore
from workers.storage.port import Backing, Exporter, StorageError, StorageUnavailable
from workers.volume_outcomes import Request, StepDone, take_step

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

    async def handle(self, delivery: Delivery) -> None:
        def work(volume_id: str, request: Request) -> StepDone:
            if not isinstance(request, StorageWork):  # HANDLED names only these
                raise UnknownEvent(request, "storage host")
            return converge(self._backing, self._exporter, self._backup_dir, volume_id, request)

        await take_step(self._js, self._subjects, self.host, delivery, HANDLED, work,
                        transient=StorageUnavailable, permanent=StorageError,
                        clock=self._clock)


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
    await consume(js, spec, worker.handle, aggregate_key, stop)


async def run(nats_url: str, prefix: str, host: str, backing: Backing,
              exporter: Exporter | None, backup_dir: Path, stop: asyncio.Event) -> None:
    """The storage worker process for one host."""
    nc = await connect(nats_url, name=f"storage-{host}")
    try:
        await serve(nc, Subjects(prefix), host, backing, exporter, backup_dir, stop)
    finally:
        await nc.drain()
