"""The hypervisor worker for one host: instance requests in, guests and outcomes out.

It consumes the instance events addressed to its host, brings the guest to
the state the request asks for, level-based (it looks at the guest first, so
a redelivered request finds the work done and reports success again), then
publishes a ``HostOutcome`` and only then lets the message be acked. A host
that cannot be reached is a transient fault (the message comes back later);
a host that refuses is a permanent one (an outcome with ``ok=False``, then a
report of that guest, so the control plane sees what it is really in). It
also answers ``<prefix>.hosts.<host>.inspect`` with the guests it has, for
tests and the recovery tool, ``<prefix>.hosts.<host>.reconcile`` by reporting
its guests (workers/hypervisor/reconcile.py, which also reports them on start
and periodically), and ``<prefix>.hosts.<host>.console`` with a
guest's console output (what the guest wrote to its serial console; on
libvirt's test driver, which has no console, the lines the adapter logged for
that guest's lifecycle). The libvirt adapter is imported only by ``run``, so
this module (and ``serve`` on any ``HypervisorHost``) loads without libvirt.
Each request is logged once it is handled, with its request id and log position.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import msgspec

from domain import events as ev
from domain import log_context, registry
from domain import migration_events as mev
from domain.base import UnknownEvent, unknown_event
from domain.clock import Clock, system_clock
from domain.registry import Role
from domain.volume import VolumeEvent
from messaging.consumer import ConsumerSpec, Delivery, TransientError, aggregate_key, consume
from messaging.nats import Connection, JetStream, connect, ensure_streams, publish, serve_requests
from messaging.subjects import Subjects
from messaging.wire import (
    ConsoleReply,
    ConsoleRequest,
    DiagnosticsReply,
    DiagnosticsRequest,
    EventHeader,
    EventMessage,
    HostOutcome,
    Reconciled,
    ReconcileRequest,
)
from workers.hypervisor.disks import DiskWorker, server_key
from workers.hypervisor.live import Copier, LiveCopies, SimulatedCopy
from workers.hypervisor.migration import converge_move
from workers.hypervisor.port import (
    GuestError,
    GuestSpec,
    GuestState,
    HostUnavailable,
    HypervisorHost,
)
from workers.hypervisor.reconcile import Reconciler
from workers.network import planner

log = logging.getLogger(__name__)

HANDLED = registry.handled(Role.COMPUTE, registry.INSTANCE)


def tail(text: str, length: int | None) -> str:
    """The last ``length`` pieces of ``text`` split at newlines (all of it for
    None or -1), as Nova's compute manager tails a console log: the piece
    after a final newline is one, so ``length`` 3 of a log that ends with a
    newline is its last two lines."""
    if length is None or length < 0:
        return text
    if length == 0:
        return ""
    return "\n".join(text.split("\n")[-length:])


def converge(guests: HypervisorHost, instance_id: str, request: ev.AnyInstanceRequest) -> str:
    """Bring the guest to what ``request`` asks for; done already is success.
    Returns the path of the copy a snapshot made (else "").

    Raises ``GuestError`` when the request cannot be met on this host and
    ``HostUnavailable`` when the host cannot be asked.
    """
    state = guests.state(instance_id)
    match request:
        case ev.InstanceCreateRequested():
            if state is GuestState.ABSENT:
                spec = GuestSpec(
                    instance_id=instance_id, name=request.name,
                    vcpus=request.vcpus, memory_mb=request.memory_mb, disk_gb=request.disk_gb,
                    nics=[(n.mac, n.bridge, planner.device(n.port_id)) for n in request.nics],
                )
                guests.define(spec)
                state = GuestState.SHUTOFF
            if state is GuestState.SHUTOFF:
                guests.start(instance_id)
        case ev.InstancePauseRequested():
            _move(instance_id, state, "pause", {GuestState.RUNNING: guests.pause},
                  done=GuestState.PAUSED)
        case ev.InstanceUnpauseRequested():
            _move(instance_id, state, "unpause", {GuestState.PAUSED: guests.resume},
                  done=GuestState.RUNNING)
        case ev.InstanceRebootRequested():
            _reboot(guests, instance_id, state, hard=request.hard)
        case ev.InstanceSuspendRequested():
            _move(instance_id, state, "suspend", {GuestState.RUNNING: guests.save},
                  done=GuestState.SUSPENDED)
        case ev.InstanceResumeRequested():
            _move(instance_id, state, "resume", {GuestState.SUSPENDED: guests.start},
                  done=GuestState.RUNNING)
        case ev.InstanceStopRequested():
            _move(instance_id, state, "stop", {GuestState.RUNNING: guests.destroy,
                                               GuestState.PAUSED: guests.destroy},
                  done=GuestState.SHUTOFF)
        case ev.InstanceStartRequested():
            _move(instance_id, state, "start", {GuestState.SHUTOFF: guests.start},
                  done=GuestState.RUNNING)
        case ev.InstanceDeleteRequested():
            if state in (GuestState.RUNNING, GuestState.PAUSED):
                guests.destroy(instance_id)
            elif state is GuestState.SUSPENDED:
                guests.discard_saved(instance_id)
            if state is not GuestState.ABSENT:
                guests.undefine(instance_id)
        case ev.InstanceSnapshotRequested():  # any state but absent: the disk is there
            return guests.snapshot(instance_id, request.image_id)
        case ev.InstanceRebuildRequested():  # the guest goes and comes again, from the image
            if state in (GuestState.RUNNING, GuestState.PAUSED):
                guests.destroy(instance_id)
            elif state is GuestState.SUSPENDED:
                guests.discard_saved(instance_id)
            if state is not GuestState.ABSENT:
                guests.undefine(instance_id)
            guests.define(GuestSpec(
                instance_id=instance_id, name=request.name, vcpus=request.vcpus,
                memory_mb=request.memory_mb, disk_gb=request.disk_gb,
                nics=[(n.mac, n.bridge, planner.device(n.port_id)) for n in request.nics]))
            if request.start:
                guests.start(instance_id)
        case _:
            unknown_event(request, "hypervisor host")
    return ""


def _move(instance_id: str, state: GuestState, verb: str,
          acts: dict[GuestState, Callable[[str], None]], *, done: GuestState) -> None:
    """Act on a guest in one of the states ``acts`` names; a guest already in
    ``done`` needs nothing (a request delivered again); any other is refused."""
    if state in acts:
        acts[state](instance_id)
    elif state is not done:
        raise GuestError(f"cannot {verb} guest {instance_id}: it is {state}")


def _reboot(guests: HypervisorHost, instance_id: str, state: GuestState, *, hard: bool) -> None:
    """Soft: the running guest restarts itself. Hard (as Nova): power off, drop any
    saved memory, power on, from whatever state the guest is in."""
    if not hard:
        if state is not GuestState.RUNNING:
            raise GuestError(f"cannot reboot guest {instance_id}: it is {state}")
        guests.reboot(instance_id)
        return
    if state is GuestState.ABSENT:
        raise GuestError(f"cannot reboot guest {instance_id}: it does not exist")
    if state in (GuestState.RUNNING, GuestState.PAUSED):
        guests.destroy(instance_id)
    elif state is GuestState.SUSPENDED:
        guests.discard_saved(instance_id)
    guests.start(instance_id)


class HypervisorWorker:
    """Handles one host's deliveries and inspect requests."""

    def __init__(
        self, js: JetStream, subjects: Subjects, host: str, guests: HypervisorHost,
        clock: Clock = system_clock, copier: Copier | None = None,
    ) -> None:
        self.host = host
        self._js = js
        self._subjects = subjects
        self._guests = guests
        self._clock = clock
        self.reconciler: Reconciler | None = None  # reports the guest after a refusal
        self.live = LiveCopies(guests, copier or SimulatedCopy(guests))
        self._rounds = 0  # progress reports sent by this process (their ids, with its own)
        self._process = uuid.uuid4().hex[:12]

    async def handle(self, delivery: Delivery) -> None:
        envelope = msgspec.json.decode(delivery.data, type=EventHeader)
        if envelope.type not in HANDLED:
            log.debug("%s: ignoring %s on %s", self.host, envelope.type, delivery.subject)
            return
        message = msgspec.json.decode(delivery.data, type=EventMessage)
        with log_context.bound(request_id=getattr(message.event, "request_id", ""),
                               position=message.position):
            await self._handle(message, envelope.type)

    async def _handle(self, message: EventMessage, what: str) -> None:
        request = message.event
        if isinstance(request, mev.InstanceLiveMigrationRunRequested):  # the live copy
            act: Callable[[], Awaitable[str | None]] = partial(
                self.live.run, message.aggregate_id, request,
                partial(self._progress, message.aggregate_id, request.request_id))
        elif isinstance(request, mev.AnyMigrationRequest):  # a step of a move
            act = partial(asyncio.to_thread, converge_move, self._guests,
                          message.aggregate_id, request)
        elif isinstance(request, ev.AnyInstanceRequest):
            act = partial(asyncio.to_thread, converge, self._guests, message.aggregate_id,
                          request)
        else:  # HANDLED names only these
            raise UnknownEvent(request, "hypervisor host")
        try:
            image_file = await act() or ""  # a snapshot's copy of the disk, if it made one
        except HostUnavailable as error:
            raise TransientError(str(error)) from error
        except GuestError as error:
            log.warning("%s: %s failed: %s", self.host, what, error)
            await self._report(message.aggregate_id, request.request_id, what,
                               reason=str(error))
            if self.reconciler is not None:  # the guest may not be what the log says
                await self.reconciler.report(message.aggregate_id)
            return
        await self._report(message.aggregate_id, request.request_id, what,
                           image_file=image_file)
        log.info("%s: %s of instance %s done, outcome sent", self.host, what,
                 message.aggregate_id)

    async def inspect(self, _request: bytes) -> bytes:
        guests = await asyncio.to_thread(self._guests.guests)
        return msgspec.json.encode(guests)

    async def power_loss(self, _request: bytes) -> bytes:
        """A simulated power loss (``nimbus host power-loss``): every guest off."""
        were_on = await asyncio.to_thread(self._guests.power_loss)
        log.warning("%s: power lost: %d guests off", self.host, len(were_on))
        return msgspec.json.encode(were_on)

    async def console(self, request: bytes) -> bytes:
        asked = msgspec.json.decode(request, type=ConsoleRequest)
        output = await asyncio.to_thread(self._guests.console, asked.instance_id)
        reply = ConsoleReply(found=output is not None, output=tail(output or "", asked.length))
        return msgspec.json.encode(reply)

    async def diagnostics(self, request: bytes) -> bytes:
        asked = msgspec.json.decode(request, type=DiagnosticsRequest)
        found = await asyncio.to_thread(self._guests.diagnostics, asked.instance_id)
        reply = DiagnosticsReply(found=found is not None, diagnostics=found or {})
        return msgspec.json.encode(reply)

    async def _progress(self, instance_id: str, request_id: str,
                        progress: mev.Progress) -> None:
        """A live copy's progress: a report that ends no step."""
        self._rounds += 1
        outcome = HostOutcome(instance_id=instance_id, request_id=request_id, host=self.host,
                              ok=True, at=self._clock(), progress=progress, final=False)
        await publish(self._js, self._subjects.outcome(self.host), msgspec.json.encode(outcome),
                      msg_id=f"{request_id}:{instance_id}:progress-{self._process}"
                             f"-{self._rounds}")

    async def _report(self, instance_id: str, request_id: str, step: str, reason: str = "",
                      image_file: str = "") -> None:
        outcome = HostOutcome(
            instance_id=instance_id, request_id=request_id, host=self.host,
            ok=not reason, at=self._clock(), reason=reason, image_file=image_file, step=step,
        )
        await publish(
            self._js, self._subjects.outcome(self.host), msgspec.json.encode(outcome),
            msg_id=f"{request_id}:{instance_id}",
        )


async def serve(
    nc: Connection, subjects: Subjects, host: str, guests: HypervisorHost,
    stop: asyncio.Event, *, nak_delay: float = 1.0, clock: Clock = system_clock,
    reconcile_interval: float = 60.0, copier: Copier | None = None,
) -> None:
    """Run the worker for ``host`` on an open connection until ``stop`` is set;
    ``clock`` stamps its outcomes. It reports its guests at once and every
    ``reconcile_interval`` seconds (workers/hypervisor/reconcile.py)."""
    js = nc.jetstream()
    await ensure_streams(js, subjects)
    worker = HypervisorWorker(js, subjects, host, guests, clock, copier)
    spec = ConsumerSpec(
        stream=subjects.events_stream,
        durable=f"hypervisor-{host}",
        filter_subject=subjects.host_events("instance", host),
        nak_delay=nak_delay,
    )
    disks = DiskWorker(js, subjects, host, guests, clock)
    disk_spec = ConsumerSpec(
        stream=subjects.events_stream,
        durable=f"hypervisor-disks-{host}",
        filter_subject=subjects.host_events(VolumeEvent.aggregate, host),
        nak_delay=nak_delay,
    )
    inspector = await serve_requests(nc, subjects.inspect(host), worker.inspect)
    console = await serve_requests(nc, subjects.console(host), worker.console)
    diagnostics = await serve_requests(nc, subjects.diagnostics(host), worker.diagnostics)
    power = await serve_requests(nc, subjects.power_loss(host), worker.power_loss)
    disk_lister = await serve_requests(nc, subjects.disks(host), disks.disks)
    migration = await serve_requests(nc, subjects.migration(host), worker.live.control)
    reconciler = worker.reconciler = Reconciler(js, subjects, host, guests, clock)

    async def reconcile(request: bytes) -> bytes:
        """The host's reconcile: the guests' disks (workers/hypervisor/disks.py),
        then (not dry) its guests reported (workers/hypervisor/reconcile.py)."""
        asked = msgspec.json.decode(request or b"{}", type=ReconcileRequest)
        changes = await disks.reconcile(asked)
        await reconciler.reconcile(asked)
        return msgspec.json.encode(Reconciled(host=host, role="compute", changes=changes,
                                              position=disks.fold.position))

    reconciling = await serve_requests(nc, subjects.reconcile(host), reconcile)
    try:
        await asyncio.gather(consume(js, spec, worker.handle, aggregate_key, stop),
                             consume(js, disk_spec, disks.handle, server_key, stop),
                             disks.follow(stop), reconciler.periodically(reconcile_interval, stop))
    finally:
        await reconciling.unsubscribe()
        await inspector.unsubscribe()
        await console.unsubscribe()
        await diagnostics.unsubscribe()
        await power.unsubscribe()
        await disk_lister.unsubscribe()
        await migration.unsubscribe()


async def run(nats_url: str, prefix: str, host: str, libvirt_uri: str, stop: asyncio.Event,
              *, reconcile_interval: float = 60.0, qemu_img: str = "qemu-img") -> None:
    """The hypervisor worker process for one host, on libvirt at ``libvirt_uri``."""
    from workers.hypervisor.libvirt_adapter import LibvirtCopy, LibvirtHost

    guests = await asyncio.to_thread(lambda: LibvirtHost(libvirt_uri, qemu_img=qemu_img))
    # libvirt's test driver cannot migrate: its live copies are the pre-copy model
    copier: Copier = LibvirtCopy(guests) if guests.can_migrate else SimulatedCopy(guests)
    try:
        nc = await connect(nats_url, name=f"hypervisor-{host}")
        try:
            await serve(nc, Subjects(prefix), host, guests, stop,
                        reconcile_interval=reconcile_interval, copier=copier)
        finally:
            await nc.drain()
    finally:
        await asyncio.to_thread(guests.close)
