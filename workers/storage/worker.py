"""The storage worker for one storage host: volume requests in, bytes and outcomes out.

It consumes the volume events addressed to its host (one volume at a time,
volumes in parallel), does the work level-based so a redelivered request
finds it done and succeeds again (creating a volume that exists, deleting
one that is gone), publishes a ``VolumeOutcome`` and only then lets the
message be acked. A host that cannot be asked now is a transient fault (the
message comes back later); one that refuses reports ``ok=False``. Like the
hypervisor workers, it never touches the database.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from domain import snapshot as snapshots
from domain import volume as model
from domain.messages import EventHeader, EventMessage, Subjects, aggregate_key
from messaging.consumer import ConsumerSpec, Delivery, TransientError, consume
from messaging.nats import Connection, connect, ensure_streams
from workers.storage.port import Backing, Exporter, StorageError, StorageUnavailable
from workers.volume_outcomes import report_volume_step

log = logging.getLogger(__name__)

HANDLED = frozenset(cls.__name__ for cls in (
    model.VolumeCreateRequested, model.VolumeDeleteRequested, model.VolumeAttachRequested,
    model.VolumeUnexportRequested, snapshots.SnapshotCreateRequested,
    snapshots.SnapshotDeleteRequested))


def converge(backing: Backing, exporter: Exporter | None, volume_id: str,
             request: model.VolumeEvent | snapshots.SnapshotEvent) -> model.Target | None:
    """Bring the volume (or snapshot: ``volume_id`` is then its id) to what
    ``request`` asks for; done already is success. Returns where the volume
    is exported, after an export."""
    if isinstance(request, snapshots.SnapshotCreateRequested):
        backing.snapshot(volume_id, request.volume_id)
    elif isinstance(request, snapshots.SnapshotDeleteRequested):
        backing.delete_snapshot(volume_id)
    elif isinstance(request, model.VolumeCreateRequested):
        if request.snapshot_id:
            backing.create_from_snapshot(volume_id, request.snapshot_id, request.size_gb)
        else:
            backing.create(volume_id, request.size_gb)
    elif isinstance(request, model.VolumeDeleteRequested):
        if exporter is not None:
            exporter.unexport(volume_id)  # a failed attach may have left one
        backing.wipe_and_delete(volume_id)
    elif isinstance(request, model.VolumeAttachRequested):
        if exporter is None:
            raise StorageError("this storage host has no iSCSI target to export from")
        export = exporter.export(volume_id, backing.path(volume_id), None)
        return model.Target(portal=export.portal, iqn=export.iqn, lun=export.lun)
    elif isinstance(request, model.VolumeUnexportRequested):
        if exporter is not None:
            exporter.unexport(volume_id)
    else:
        raise StorageError(f"this worker cannot do {type(request).__name__}")
    return None


class StorageWorker:
    def __init__(self, nc: Connection, subjects: Subjects, host: str, backing: Backing,
                 exporter: Exporter | None) -> None:
        self.host = host
        self._js = nc.jetstream()
        self._subjects = subjects
        self._backing = backing
        self._exporter = exporter

    async def handle(self, delivery: Delivery) -> None:
        header = msgspec.json.decode(delivery.data, type=EventHeader)
        if header.type not in HANDLED:
            return
        message = msgspec.json.decode(delivery.data, type=EventMessage)
        request = message.event
        assert isinstance(request, model.VolumeEvent | snapshots.SnapshotEvent)
        try:
            target = await asyncio.to_thread(converge, self._backing, self._exporter,
                                             message.aggregate_id, request)
        except StorageUnavailable as error:
            raise TransientError(str(error)) from error
        except StorageError as error:
            log.warning("%s: %s failed: %s", self.host, header.type, error)
            await report_volume_step(self._js, self._subjects, self.host, message, request,
                         reason=str(error))
            return
        await report_volume_step(self._js, self._subjects, self.host, message, request,
                                 target=target)


async def serve(nc: Connection, subjects: Subjects, host: str, backing: Backing,
                exporter: Exporter | None, stop: asyncio.Event, *,
                nak_delay: float = 1.0, ack_wait: float = 30.0) -> None:
    """Run the worker for ``host`` on an open connection until ``stop`` is set."""
    js = nc.jetstream()
    await ensure_streams(js, subjects)
    worker = StorageWorker(nc, subjects, host, backing, exporter)
    spec = ConsumerSpec(stream=subjects.events_stream, durable=f"storage-{host}",
                        filter_subject=subjects.host_events("*", host),  # volumes, snapshots
                        nak_delay=nak_delay, ack_wait=ack_wait)
    await consume(js, spec, worker.handle, aggregate_key, stop)


async def run(nats_url: str, prefix: str, host: str, backing: Backing,
              exporter: Exporter | None, stop: asyncio.Event) -> None:
    """The storage worker process for one host."""
    nc = await connect(nats_url, name=f"storage-{host}")
    try:
        await serve(nc, Subjects(prefix), host, backing, exporter, stop)
    finally:
        await nc.drain()
