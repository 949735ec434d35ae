"""A hypervisor host's live-migration copy: the step that runs while the guest does.

The source host's worker runs ``InstanceLiveMigrationRunRequested``: it copies
the guest to the destination, reporting the copy's progress
(``HostOutcome`` with ``final`` False: the ingester records
``InstanceLiveMigrationProgressed``), and ends with the guest paused on the
source, its memory all on the destination (the switchover's precondition).
While a copy runs, ``Subjects.migration`` takes force_complete (pause the
guest, so the copy converges) and abort (stop; the step fails "cancelled").

What copies, by host:

* ``qemu:///system``: libvirt's ``migrateToURI3`` with Nova's flags
  (``LibvirtHost.migrate_live``), its job statistics as the progress;
* libvirt's test driver, which refuses ``migrateToURI3`` and job statistics:
  ``SimulatedCopy``, the pre-copy model of workers/hypervisor/precopy.py,
  labelled as such in every report, and then the real primitive the model
  stands for at its end (pause the source's guest). Defining the guest on the
  destination, running it there and removing the source's are the other
  steps' real libvirt calls on each host (workers/hypervisor/migration.py).

A step delivered again (the worker died during the copy) finds the guest
paused, the copy done, and answers so; or running, and copies again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from domain import migration_events as mev
from messaging.wire import MigrationControl, MigrationControlled
from workers.hypervisor.port import GuestError, GuestState, HypervisorHost
from workers.hypervisor.precopy import PreCopy

log = logging.getLogger(__name__)

Report = Callable[[mev.Progress], None]


@dataclass
class Control:
    """What force_complete and abort tell a running copy."""

    forced: list[bool] = field(default_factory=lambda: [False])
    aborted: threading.Event = field(default_factory=threading.Event)


class Copier(Protocol):
    def copied(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested) -> bool:
        """Whether an earlier delivery of the step copied the guest already."""
        ...

    def copy(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested,
             report: Report, control: Control) -> None:
        """Copy the guest; on return it is paused here and whole on the
        destination. ``GuestError`` when the copy failed or was aborted."""
        ...


class SimulatedCopy:
    """The pre-copy model on libvirt's test driver, then the source's guest paused."""

    def __init__(self, guests: HypervisorHost, pace_seconds: float = 0.25) -> None:
        self.guests = guests
        self.pace = pace_seconds

    def copied(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested) -> bool:
        return self.guests.state(instance_id) is GuestState.PAUSED  # paused for the switchover

    def copy(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested,
             report: Report, control: Control) -> None:
        model = PreCopy(memory_mb=request.memory_mb, dirty_rate_mbps=request.dirty_rate_mbps,
                        bandwidth_mbps=request.bandwidth_mbps, downtime_ms=request.downtime_ms,
                        downtime_steps=request.downtime_steps,
                        downtime_delay_s=request.downtime_delay_s,
                        completion_timeout_s=request.completion_timeout_s)
        if request.forced:
            control.forced[0] = True
        for done in model.rounds(control.forced):
            if control.aborted.is_set():
                raise GuestError(f"live migration of {instance_id} cancelled")
            if control.forced[0] and self.guests.state(instance_id) is GuestState.RUNNING:
                self.guests.pause(instance_id)  # force_complete: Nova pauses the guest
            report(mev.Progress(memory_total_bytes=done.total_bytes,
                                memory_processed_bytes=done.processed_bytes,
                                memory_remaining_bytes=done.remaining_bytes))
            if done.timed_out:
                raise GuestError(
                    f"live migration of {instance_id} did not complete within "
                    f"{request.completion_timeout_s} s per GiB (simulated pre-copy, "
                    f"{request.dirty_rate_mbps:g} MiB/s dirtied)")
            if done.converged:
                break
            time.sleep(self.pace)
        if self.guests.state(instance_id) is GuestState.RUNNING:
            self.guests.pause(instance_id)  # the stop-and-copy


class LiveCopies:
    """The copies this host runs now, by instance, and their controls."""

    def __init__(self, guests: HypervisorHost, copier: Copier) -> None:
        self.guests = guests
        self.copier = copier
        self.running: dict[str, Control] = {}

    async def run(self, instance_id: str, request: mev.InstanceLiveMigrationRunRequested,
                  report: Callable[[mev.Progress], Awaitable[None]]) -> None:
        if await asyncio.to_thread(self.copier.copied, instance_id, request):
            return  # copied already (a step delivered again): the switchover may go on
        state = await asyncio.to_thread(self.guests.state, instance_id)
        if state is not GuestState.RUNNING:
            raise GuestError(f"cannot live migrate guest {instance_id}: it is {state}")
        loop = asyncio.get_running_loop()

        def reported(progress: mev.Progress) -> None:
            asyncio.run_coroutine_threadsafe(_awaited(report(progress)), loop).result(30)

        control = self.running[instance_id] = Control()
        try:
            await asyncio.to_thread(self.copier.copy, instance_id, request, reported, control)
        finally:
            self.running.pop(instance_id, None)

    async def control(self, payload: bytes) -> bytes:
        asked = msgspec.json.decode(payload, type=MigrationControl)
        running = self.running.get(asked.instance_id)
        if running is not None:
            if asked.action == "abort":
                running.aborted.set()
            else:
                running.forced[0] = True
        log.info("live migration of %s: %s (%s)", asked.instance_id, asked.action,
                 "running" if running else "no copy here")
        return msgspec.json.encode(MigrationControlled(found=running is not None))


async def _awaited(report: Awaitable[None]) -> None:
    await report
