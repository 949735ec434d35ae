"""The hypervisor worker's part in attaching volumes: the guest's disks.

Attach and detach are volume operations (``domain.volume``): when a storage
host has exported a volume, ``VolumeExported`` is addressed to the server's
compute host, which gives the guest the disk; on ``VolumeDetachRequested``
it takes the disk away, and the storage host then ends the export. Work is
level-based (a disk already there, or already gone, is success) and each
step is reported as a ``StepOutcome``. It also answers
``<prefix>.hosts.<host>.disks`` with a guest's disks, for tests and recovery.

After a disaster the seed re-attaches every volume at its recorded
mountpoint. The worker folds every volume event (workers/volume_fold.py), so
it knows which disks this host's guests should have; ``reconcile_disks``
gives a guest each one it lacks (the host worker's reconcile calls it, after
its guests are back).
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
from messaging.wire import ReconcileRequest
from workers.hypervisor.port import Disk, GuestError, GuestState, HostUnavailable, HypervisorHost
from workers.iscsi import initiator_for
from workers.volume_fold import Guard, VolumeFold
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


def recorded_disk(host: str, volume: model.Volume) -> Disk:
    """The disk the log says the volume is in its guest on ``host``."""
    assert volume.device and volume.portal and volume.iqn and volume.lun is not None
    return Disk(device=volume.device, portal=volume.portal, iqn=volume.iqn, lun=volume.lun,
                initiator=initiator_for(host))


def reconcile_disks(guests: HypervisorHost, host: str, volumes: list[model.Volume], *,
                    dry_run: bool) -> list[str]:
    """Give each guest the disks of ``volumes`` (those the log says are attached
    to guests on ``host``) it lacks, at their recorded mountpoints; a device
    holding another disk gets the recorded one instead. One line per disk
    attached (or, dry, to attach), or that cannot be and why. Blocks."""
    changes = []
    for volume in volumes:
        try:
            line = _restore_disk(guests, host, volume, dry_run=dry_run)
        except (GuestError, HostUnavailable) as error:
            line = (f"cannot attach volume {volume.id} to server {volume.server_id} at"
                    f" {volume.device}: {error}")
        if line is not None:
            changes.append(line)
    return changes


def _restore_disk(guests: HypervisorHost, host: str, volume: model.Volume, *,
                  dry_run: bool) -> str | None:
    server = volume.server_id
    assert server is not None
    wanted = recorded_disk(host, volume)
    if guests.state(server) is GuestState.ABSENT:
        return (f"cannot attach volume {volume.id} to server {server} at {wanted.device}:"
                " the guest is not on this host")
    found = next((d for d in guests.disks(server) if d.device == wanted.device), None)
    if found is not None and (found.portal, found.iqn, found.lun) == (
            wanted.portal, wanted.iqn, wanted.lun):
        return None
    line = f"attach volume {volume.id} to server {server} at {wanted.device} again"
    if found is not None:
        line += f" (in place of {found.iqn})"
    if not dry_run:
        if found is not None:
            guests.detach_disk(server, wanted.device)
        guests.attach_disk(server, wanted)
    return line


class DiskWorker:
    def __init__(self, js: JetStream, subjects: Subjects, host: str,
                 guests: HypervisorHost, clock: Clock = system_clock) -> None:
        self.host = host
        self._js = js
        self._subjects = subjects
        self._guests = guests
        self._clock = clock
        self.fold = VolumeFold()
        self._guard = Guard(self.fold)

    async def handle(self, delivery: Delivery) -> None:
        def work(_volume_id: str, request: Request) -> None:
            if not isinstance(request, model.ComputeStep):  # HANDLED names only these
                raise UnknownEvent(request, "compute host's disks")
            converge(self._guests, self.host, request)

        async with self._guard.handling(delivery.key, delivery.data):
            await take_step(self._js, self._subjects, self.host, delivery, HANDLED, work,
                            transient=HostUnavailable, permanent=GuestError,
                            clock=self._clock)

    async def follow(self, stop: asyncio.Event) -> None:
        """Fold the volume events (what ``reconcile`` knows of attachments) until ``stop``."""
        await self.fold.follow(self._js, self._subjects, stop)

    async def reconcile(self, asked: ReconcileRequest) -> list[str]:
        """``reconcile_disks`` for this host's guests (``asked.instance_id``'s only,
        when given), one guest at a time and never across a disk step in flight."""
        await self.fold.reached(0)
        changes = []
        servers = {v.server_id for v in self.fold.disks_on(self.host, asked.instance_id)}
        for server in sorted(s for s in servers if s is not None):
            async with self._guard.reconciling(server):
                now = self.fold.disks_on(self.host, server)  # the consumer may have moved on
                changes += await asyncio.to_thread(reconcile_disks, self._guests, self.host,
                                                   now, dry_run=asked.dry_run)
        return changes

    async def disks(self, request: bytes) -> bytes:
        """The disks of the guest named in the request (its instance id)."""
        found = await asyncio.to_thread(self._guests.disks, request.decode())
        return msgspec.json.encode(found)
