"""A hypervisor host reconciles itself: it says what it has, the control plane judges.

The worker reports every guest it has and its state (``GuestsObserved`` on
``<prefix>.outcomes.observed.<host>``) when it starts, every
``reconcile_interval_seconds``, and when ``Subjects.reconcile`` asks (the
``nimbus recover`` command; the worker answers it with this and with the
guests' disks, workers/hypervisor/disks.py). It does not decide anything: it has no view of
the log. The ingester compares the report with the write side's state of the
instances placed on this host and records the differences as observation
events, then the reconciler's requests come back here as ordinary ones
(domain/instance_observations.py). Asked with ``dry_run``, the host only
answers that it is there: what would change is the control plane's to say.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import msgspec

from domain.clock import Clock, system_clock
from messaging.nats import JetStream, publish
from messaging.subjects import Subjects
from messaging.wire import GuestsObserved, ObservedGuest, ReconcileRequest
from workers.hypervisor.port import HostUnavailable, HypervisorHost

log = logging.getLogger(__name__)


def digest(guests: list[ObservedGuest]) -> str:
    """A short sum of a list of guests: equal lists, equal digests."""
    lines = "\n".join(sorted(f"{g.instance_id}={g.state}" for g in guests))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


class Reconciler:
    """One host's reports of its guests, and its answers to reconcile requests."""

    def __init__(self, js: JetStream, subjects: Subjects, host: str, guests: HypervisorHost,
                 clock: Clock = system_clock) -> None:
        self.host = host
        self._js = js
        self._subjects = subjects
        self._guests = guests
        self._clock = clock

    async def observe(self, instance_id: str | None = None) -> GuestsObserved:
        """What the host has now (only ``instance_id``'s guest, when given)."""
        at = self._clock()  # before looking: what changes meanwhile is newer than the report
        found = await asyncio.to_thread(self._guests.guests)
        guests = [ObservedGuest(instance_id=g.instance_id, state=str(g.state)) for g in found
                  if instance_id is None or g.instance_id == instance_id]
        return GuestsObserved(host=self.host, guests=guests, digest=digest(guests), at=at,
                              instance_id=instance_id)

    async def report(self, instance_id: str | None = None) -> GuestsObserved:
        """Tell the control plane what the host has."""
        observed = await self.observe(instance_id)
        await publish(self._js, self._subjects.observed(self.host),
                      msgspec.json.encode(observed),
                      msg_id=f"observed:{self.host}:{observed.at.isoformat()}:{instance_id or ''}")
        return observed

    async def reconcile(self, asked: ReconcileRequest) -> None:
        """Its part of the host's reconcile: report what the host has (not when
        dry). That changes nothing on the host, so the answer says nothing of
        it: what the report leads to is the control plane's (its plan, its
        observation events)."""
        if not asked.dry_run:
            observed = await self.report(asked.instance_id)
            log.info("%s: reported %d guests (digest %s)", self.host, len(observed.guests),
                     observed.digest)

    async def periodically(self, interval: float, stop: asyncio.Event) -> None:
        """Report at once, then every ``interval`` seconds until ``stop`` is set; a
        report that cannot be made now is tried at the next one."""
        while not stop.is_set():
            try:
                await self.report()
            except HostUnavailable as error:
                log.warning("%s: cannot list the guests: %s", self.host, error)
            except Exception as error:  # NATS away or slow: the next report tells the same
                log.warning("%s: guests not reported: %s", self.host, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
