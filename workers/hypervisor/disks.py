"""The hypervisor worker's part in attaching volumes: the guest's disks.

Attach and detach are volume operations (``domain.volume``): when a storage
host has exported a volume, ``VolumeExported`` is addressed to the server's
compute host, which gives the guest the disk; on ``VolumeDetachRequested``
it takes the disk away, and the storage host then ends the export. Work is
level-based (a disk already there, or already gone, is success) and each
step is reported as a ``VolumeOutcome``. It also answers
``<prefix>.hosts.<host>.disks`` with a guest's disks, for tests and recovery.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from domain import volume as model
from domain.messages import EventHeader, EventMessage, Subjects
from messaging.consumer import Delivery, TransientError
from messaging.nats import JetStream
from workers.hypervisor.port import Disk, GuestError, HostUnavailable, HypervisorHost
from workers.volume_outcomes import report_volume_step

log = logging.getLogger(__name__)

HANDLED = frozenset({model.VolumeExported.__name__, model.VolumeDetachRequested.__name__})


def disks_subject(prefix: str, host: str) -> str:
    return f"{prefix}.hosts.{host}.disks"


class _ServerOf(msgspec.Struct):
    server_id: str = ""


class _Addressed(msgspec.Struct):
    event: _ServerOf


def server_key(_subject: str, data: bytes) -> str:
    """One guest's disks change one at a time (a definition is read, changed
    and written back), whichever volumes they are."""
    return msgspec.json.decode(data, type=_Addressed).event.server_id


def converge(guests: HypervisorHost, host: str, request: model.VolumeEvent) -> None:
    if isinstance(request, model.VolumeExported):
        guests.attach_disk(request.server_id, Disk(
            device=request.device, portal=request.portal, iqn=request.iqn, lun=request.lun,
            initiator=model.initiator_for(host)))
    elif isinstance(request, model.VolumeDetachRequested):
        guests.detach_disk(request.server_id, request.device)
    else:
        raise GuestError(f"this worker cannot do {type(request).__name__}")


class DiskWorker:
    def __init__(self, js: JetStream, subjects: Subjects, host: str,
                 guests: HypervisorHost) -> None:
        self.host = host
        self._js = js
        self._subjects = subjects
        self._guests = guests

    async def handle(self, delivery: Delivery) -> None:
        header = msgspec.json.decode(delivery.data, type=EventHeader)
        if header.type not in HANDLED:
            return
        message = msgspec.json.decode(delivery.data, type=EventMessage)
        request = message.event
        assert isinstance(request, model.VolumeEvent)
        try:
            await asyncio.to_thread(converge, self._guests, self.host, request)
        except HostUnavailable as error:
            raise TransientError(str(error)) from error
        except GuestError as error:
            log.warning("%s: %s failed: %s", self.host, header.type, error)
            await report_volume_step(self._js, self._subjects, self.host, message, request,
                                     reason=str(error))
            return
        await report_volume_step(self._js, self._subjects, self.host, message, request)

    async def disks(self, request: bytes) -> bytes:
        """The disks of the guest named in the request (its instance id)."""
        found = await asyncio.to_thread(self._guests.disks, request.decode())
        return msgspec.json.encode(found)
