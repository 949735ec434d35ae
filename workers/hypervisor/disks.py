"""The hypervisor worker's part in attaching volumes: the guest's disks.

Attach and detach are volume operations (``domain.volume``): when a storage
host has exported a volume, ``VolumeExported`` is addressed to the server's
compute host, which gives the guest the disk; on ``VolumeDetachRequested``
it takes the disk away, and the storage host then ends the export. Work is
level-based (a disk already there, or already gone, is success) and each
step is reported as a ``StepOutcome``. It also answers
``<prefix>.hosts.<host>.disks`` with a guest's disks, for tests and recovery.
"""

from __future__ import annotations

import asyncio

import msgspec

from domain import registry
from domain import volume as model
from domain.base import UnknownEvent, unknown_event
from domain.clock import Clock, system_clock
from domain.registry import Role
from messaging.consumer import Delivery
from messaging.nats import JetStream
from messaging.subjects import Subjects
from workers.hypervisor.port import Disk, GuestError, HostUnavailable, HypervisorHost
from workers.iscsi import initiator_for
from workers.volume_outcomes import Request, take_step

HANDLED = registry.handled(Role.COMPUTE, registry.VOLUME)


class _ServerOf(msgspec.Struct):
    server_id: str = ""


class _Addressed(msgspec.Struct):
    event: _ServerOf


def server_key(_subject: str, data: bytes) -> str:
    """One guest's disks change one at a time (a definition is read, changed
    and written back), whichever volumes they are."""
    return msgspec.json.decode(data, type=_Addressed).event.server_id


def converge(guests: HypervisorHost, host: str, request: model.ComputeStep) -> None:
    match request:
        case model.VolumeExported():
            guests.attach_disk(request.server_id, Disk(
                device=request.device, portal=request.portal, iqn=request.iqn, lun=request.lun,
                initiator=initiator_for(host)))
        case model.VolumeDetachRequested():
            guests.detach_disk(request.server_id, request.device)
        case _:
            unknown_event(request, "compute host's disks")


class DiskWorker:
    def __init__(self, js: JetStream, subjects: Subjects, host: str,
                 guests: HypervisorHost, clock: Clock = system_clock) -> None:
        self.host = host
        self._js = js
        self._subjects = subjects
        self._guests = guests
        self._clock = clock

    async def handle(self, delivery: Delivery) -> None:
        def work(_volume_id: str, request: Request) -> None:
            if not isinstance(request, model.ComputeStep):  # HANDLED names only these
                raise UnknownEvent(request, "compute host's disks")
            converge(self._guests, self.host, request)

        await take_step(self._js, self._subjects, self.host, delivery, HANDLED, work,
                        transient=HostUnavailable, permanent=GuestError, clock=self._clock)

    async def disks(self, request: bytes) -> bytes:
        """The disks of the guest named in the request (its instance id)."""
        found = await asyncio.to_thread(self._guests.disks, request.decode())
        return msgspec.json.encode(found)
