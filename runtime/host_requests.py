"""Questions to one host's worker on NATS: core requests to ``<prefix>.hosts.<host>.*``.

``Context.console`` asks ``console``, ``Context.diagnostics`` asks
``diagnostics``, ``Context.consumer_parts`` asks JetStream
where the ingester's and the hosts' consumers stand; the operator's commands ask ``power-loss``,
``inspect`` and ``reconcile`` (``nimbus host power-loss``, ``nimbus recover``).

The API never imports NATS nor the wire format; the composition root gives it
this callable. It connects on first use and raises ``TimeoutError`` when the
host does not answer in time or has no worker listening.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from messaging import nats as bus
from messaging.subjects import Subjects
from messaging.wire import (
    ConsoleReply,
    ConsoleRequest,
    DiagnosticsReply,
    DiagnosticsRequest,
    MigrationControl,
    MigrationControlled,
    ObservedGuest,
    PowerLost,
    Reconciled,
    ReconcileRequest,
)
from projections.progress import Part, consumer_part

log = logging.getLogger(__name__)


class HostRequests:
    def __init__(self, nats_url: str, prefix: str, timeout: float = 3.0) -> None:
        self.nats_url = nats_url
        self.subjects = Subjects(prefix)
        self.timeout = timeout
        self._nc: bus.Connection | None = None
        self._lock = asyncio.Lock()

    async def console(self, host: str, instance_id: str, length: int | None) -> str | None:
        """The last ``length`` lines (None: all) of the guest's console output on
        ``host``, or None when the host has no such guest."""
        payload = msgspec.json.encode(ConsoleRequest(instance_id=instance_id, length=length))
        reply = await self._ask(self.subjects.console(host), payload)
        answer = msgspec.json.decode(reply, type=ConsoleReply)
        return answer.output if answer.found else None

    async def diagnostics(self, host: str, instance_id: str) -> dict[str, int] | None:
        """The guest's statistics on ``host``, or None when it has no such guest."""
        payload = msgspec.json.encode(DiagnosticsRequest(instance_id=instance_id))
        reply = await self._ask(self.subjects.diagnostics(host), payload)
        answer = msgspec.json.decode(reply, type=DiagnosticsReply)
        return answer.diagnostics if answer.found else None

    async def migration_control(self, host: str, instance_id: str, action: str) -> bool:
        """Tell ``host`` of force_complete or abort (``action``) of the live copy
        of ``instance_id`` it runs; whether it runs one."""
        payload = msgspec.json.encode(MigrationControl(instance_id=instance_id, action=action))
        reply = await self._ask(self.subjects.migration(host), payload)
        return msgspec.json.decode(reply, type=MigrationControlled).found

    async def power_loss(self, host: str) -> PowerLost:
        """Cut ``host``'s power (simulated), whatever its role: what it lost. A
        hypervisor host answers with the ids of the guests that were on (its
        ``lost``, role ``compute``); a storage or network host with ``PowerLost``."""
        reply = await self._ask(self.subjects.power_loss(host), b"")
        answer = msgspec.json.decode(reply, type=list[str] | PowerLost)
        if isinstance(answer, PowerLost):
            return answer
        return PowerLost(host=host, role="compute", lost=answer)

    async def inspect(self, host: str) -> list[ObservedGuest]:
        """The guests a hypervisor host has, and their states."""
        reply = await self._ask(self.subjects.inspect(host), b"")
        return msgspec.json.decode(reply, type=list[ObservedGuest])

    async def reconcile(self, host: str, *, dry_run: bool,
                        instance_id: str | None = None) -> Reconciled:
        """Ask any host's worker to bring its host in line with the log (or,
        ``dry_run``, to say what that would take)."""
        payload = msgspec.json.encode(ReconcileRequest(dry_run=dry_run, instance_id=instance_id))
        reply = await self._ask(self.subjects.reconcile(host), payload)
        return msgspec.json.decode(reply, type=Reconciled)

    async def consumer_parts(self, stuck_after: float) -> list[Part]:
        """The ingester's and every host's durable consumer as parts
        (projections/progress.py): JetStream's counts of what waits for each."""
        js = (await self._connection()).jetstream(timeout=self.timeout)
        states = [*await bus.consumer_states(js, self.subjects.outcomes_stream),
                  *await bus.consumer_states(js, self.subjects.events_stream)]
        return [consumer_part(s, stuck_after) for s in states]

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def _ask(self, subject: str, payload: bytes) -> bytes:
        nc = await self._connection()
        try:
            return await bus.request(nc, subject, payload, timeout=self.timeout)
        except TimeoutError:
            raise
        except Exception as error:  # no responders: the host's worker is not running
            log.info("no answer on %s: %s", subject, error)
            raise TimeoutError(f"no answer on {subject}") from error

    async def _connection(self) -> bus.Connection:
        async with self._lock:
            if self._nc is None:
                self._nc = await bus.connect(self.nats_url, name="nimbus-api-host-requests")
            return self._nc
