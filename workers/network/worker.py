"""The network worker for one network host: the log's network events in, a
rendered host and reports out.

It reads every event of the network kinds (networks, ports, floating IPs,
security groups) from the start of the events stream, folds them with the
domain's own ``evolve`` (the same fold the write side and the views use),
and, once it has caught up and whenever they change, renders the whole plan
(workers/network/planner.py) on its ``NetworkHost``. Rendering is level-based
and skipped when the plan's digest is what the host already has, so a
restarted worker, or one that crashed between rendering and reporting,
converges once. Each render logs one line (applied, or already in place)
with the plan's log position in its context. After rendering it reports
``NetworkApplied`` with the ports served that are not ACTIVE yet; the
ingester makes them ACTIVE.

Reading from the stream's start on every start is simple and exact; a very
long log would want a snapshot of these states (what recovery will add).

It answers ``<prefix>.hosts.<host>.reconcile``: when the host no longer holds
the plan (a power loss, a flushed table), the plan is rendered again and the
answer says what that restored (workers/network/restore.py); a dry run only
says it. ``<prefix>.hosts.<host>.power-loss`` drops everything the host
rendered (``NetworkHost.power_loss``), for tests and demos; the metadata
proxy, whose socket was in the lost namespace, is started again with the
next render.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec

from domain import log_context, registry
from domain.clock import Clock, system_clock
from domain.port import SERVER_OWNER
from messaging.nats import (
    Connection,
    JetStream,
    connect,
    ensure_streams,
    publish,
    replay,
    serve_requests,
)
from messaging.subjects import Subjects
from messaging.wire import EventMessage, NetworkApplied, PowerLost, Reconciled, ReconcileRequest
from workers.network import namespace, planner
from workers.network.metadata_proxy import MetadataProxy
from workers.network.plan import Applied, HostPlan, digest
from workers.network.port import NetworkHost
from workers.network.restore import describe

log = logging.getLogger(__name__)

KINDS = (registry.NETWORK, registry.PORT, registry.FLOATING_IP, registry.SECURITY_GROUP)
RETRY_SECONDS = 1.0  # after the host refused or failed a plan
CATCH_UP_SECONDS = 10.0  # a reconcile waits this long for the fold, then gives up


@dataclass
class Settings:
    manager: str = "flatdhcp"  # the seed's network_manager: flat | flatdhcp | vlan
    vlan_start: int = 100
    # the metadata proxy: where it listens in the host's namespace (None: no proxy),
    # the metadata service it forwards to, and the secret it signs with
    metadata_port: int | None = None
    namespace: str | None = None
    metadata_upstream: tuple[str, int] = ("127.0.0.1", 8775)
    metadata_secret: str = ""


@dataclass
class Folded:
    """The states of the network kinds as the events seen so far leave them."""

    states: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {kind.name: {} for kind in KINDS})
    position: int = 0

    def apply(self, message: EventMessage) -> None:
        kind = registry.KINDS[message.event.aggregate]
        of_kind = self.states[kind.name]
        of_kind[message.aggregate_id] = kind.evolve(of_kind.get(message.aggregate_id),
                                                    message.event, message.aggregate_id)
        self.position = max(self.position, message.position)

    def plan(self, settings: Settings) -> HostPlan:
        return planner.plan(
            position=self.position, networks=self.states[registry.NETWORK.name],
            ports=self.states[registry.PORT.name],
            floating=self.states[registry.FLOATING_IP.name],
            groups=self.states[registry.SECURITY_GROUP.name], manager=settings.manager,
            vlan_start=settings.vlan_start,
            metadata_port=settings.metadata_port if settings.namespace else None)

    def instance_at(self, address: str) -> str | None:
        """The instance whose port holds ``address`` (the metadata proxy's question)."""
        for port in self.states[registry.PORT.name].values():
            if (not port.deleted and port.device_owner == SERVER_OWNER
                    and any(f.ip_address == address for f in port.fixed_ips)):
                return str(port.device_id)
        return None

    def serves(self, plan: HostPlan, instance_id: str) -> bool:
        """Whether the plan has one of the instance's ports."""
        ports = self.states[registry.PORT.name]
        return any(ports[p.port_id].device_id == instance_id for p in plan.ports)

    def inactive(self, plan: HostPlan) -> list[str]:
        ports = self.states[registry.PORT.name]
        return [p.port_id for p in plan.ports if ports[p.port_id].status != "ACTIVE"]


class NetworkWorker:
    def __init__(self, js: JetStream, subjects: Subjects, host: str, network: NetworkHost,
                 settings: Settings, clock: Clock = system_clock) -> None:
        self.host = host
        self._js = js
        self._subjects = subjects
        self._network = network
        self._settings = settings
        self._clock = clock
        self.folded = Folded()
        self._changed = asyncio.Event()
        self._behind: set[str] = {kind.name for kind in KINDS}  # kinds not caught up yet
        self._reported: tuple[int, str] = (-1, "")  # the position and digest last reported
        self._proxy: asyncio.Future[None] | None = None
        self._proxy_off = asyncio.Event()  # set: the running proxy stops
        self._rendering = asyncio.Lock()  # one apply (or power loss) at a time
        self._ready = asyncio.Event()  # every kind caught up

    async def follow(self, kind: str, stop: asyncio.Event) -> None:
        """Fold one kind's events from the stream's start; caught up once none is pending."""
        async for data in replay(self._js, self._subjects.kind_events(kind), stop=stop):
            if data is None:
                self._caught_up(kind)  # nothing (more) in the stream for it now
                continue
            self.folded.apply(msgspec.json.decode(data, type=EventMessage))
            self._changed.set()

    def _caught_up(self, kind: str) -> None:
        if kind in self._behind:
            self._behind.discard(kind)
            self._changed.set()
            if not self._behind:
                self._ready.set()

    async def render(self, stop: asyncio.Event) -> None:
        """Render the plan whenever the folded states changed (once caught up),
        at once: the changes that arrive while one plan renders are rendered
        together next, so a burst costs a few renders and a lone change waits
        for none (a boot's port is on its way to ACTIVE meanwhile)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)
            if not self._changed.is_set() or self._behind:
                continue
            await asyncio.sleep(0)  # the messages already received are folded first
            self._changed.clear()
            plan = self.folded.plan(self._settings)
            try:
                async with self._rendering:
                    await self._render(plan, stop)
            except Exception:
                log.exception("%s: the network host did not render the plan of position %d",
                              self.host, plan.position)
                await asyncio.sleep(RETRY_SECONDS)
                self._changed.set()
                continue
        if self._proxy is not None:
            await self._proxy

    async def _render(self, plan: HostPlan, stop: asyncio.Event) -> None:
        """Apply ``plan``, report it, and serve its metadata proxy (``_rendering``
        held); one log line says what was applied, with the plan's log position."""
        with log_context.bound(position=plan.position):
            applied = await asyncio.to_thread(self._network.apply, plan)
            log.info("%s: network plan of log position %d %s: %d networks, %d ports,"
                     " %d floating IPs", self.host, plan.position,
                     "applied" if applied.changed else "already in place",
                     len(plan.networks), len(plan.ports), len(plan.floating))
            await self._report(plan, applied)
        if self._proxy is None and plan.metadata:
            self._proxy_off = asyncio.Event()
            self._proxy = asyncio.ensure_future(self._serve_metadata(stop, self._proxy_off))

    async def reconcile(self, asked: ReconcileRequest, stop: asyncio.Event) -> tuple[
            list[str], int]:
        """Render the plan again unless the host holds it (with ``instance_id``:
        only when the plan has one of its ports); what that restores, or with
        ``dry_run`` would, and the log position of the plan."""
        await asyncio.wait_for(self._ready.wait(), CATCH_UP_SECONDS)
        plan = self.folded.plan(self._settings)
        if asked.instance_id is not None and not self.folded.serves(plan, asked.instance_id):
            return [], plan.position
        async with self._rendering:
            if await asyncio.to_thread(self._network.observe) == digest(plan):
                return [], plan.position
            if not asked.dry_run:
                try:
                    await self._render(plan, stop)
                except Exception as error:  # as the render loop: said, and tried again later
                    log.exception("%s: the network host did not render the plan of position"
                                  " %d", self.host, plan.position)
                    return [f"cannot render the network plan of log position {plan.position}:"
                            f" {error}"], plan.position
        return describe(plan), plan.position

    async def power_loss(self) -> list[str]:
        """Everything the host rendered gone (``NetworkHost.power_loss``), its
        metadata proxy stopped; what it was serving."""
        async with self._rendering:
            if self._proxy is not None:
                self._proxy_off.set()
                await self._proxy
                self._proxy = None
            return await asyncio.to_thread(self._network.power_loss)

    async def _serve_metadata(self, stop: asyncio.Event, off: asyncio.Event) -> None:
        """The metadata proxy, in the namespace the first render made (a proxy
        that cannot listen is logged, and the rest of the host goes on)."""
        settings = self._settings
        assert settings.namespace is not None and settings.metadata_port is not None
        try:
            sock = await asyncio.to_thread(namespace.listen_in, settings.namespace,
                                           settings.metadata_port)
        except OSError:
            log.exception("%s: the metadata proxy cannot listen in %s", self.host,
                          settings.namespace)
            return
        proxy = MetadataProxy(self.folded.instance_at, settings.metadata_upstream,
                              settings.metadata_secret)
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: off.set())
        try:
            await proxy.serve(sock, off)
        finally:
            stopping.cancel()

    async def _report(self, plan: HostPlan, applied: Applied) -> None:
        """Report a render that changed what the host serves, or that serves ports
        not ACTIVE yet (a report the ingester lost is then sent again)."""
        waiting = self.folded.inactive(plan)
        position, digest = self._reported
        if plan.position <= position or (not waiting and applied.digest == digest):
            return
        report = NetworkApplied(host=self.host, position=plan.position, digest=applied.digest,
                                ports=waiting, at=self._clock())
        await publish(self._js, self._subjects.network_outcome(self.host),
                      msgspec.json.encode(report), msg_id=f"network:{self.host}:{plan.position}")
        self._reported = (plan.position, applied.digest)


async def serve(nc: Connection, subjects: Subjects, host: str, network: NetworkHost,
                stop: asyncio.Event, settings: Settings | None = None,
                clock: Clock = system_clock) -> NetworkWorker:
    """Run the worker for ``host`` on an open connection until ``stop`` is set."""
    js = nc.jetstream()
    await ensure_streams(js, subjects)
    worker = NetworkWorker(js, subjects, host, network, settings or Settings(), clock)

    async def reconcile(request: bytes) -> bytes:
        asked = msgspec.json.decode(request or b"{}", type=ReconcileRequest)
        changes, position = await worker.reconcile(asked, stop)
        return msgspec.json.encode(Reconciled(host=host, role="network", changes=changes,
                                              position=position))

    async def power_loss(_request: bytes) -> bytes:
        lost = await worker.power_loss()
        log.warning("%s: power lost: %d parts gone", host, len(lost))
        return msgspec.json.encode(PowerLost(host=host, role="network", lost=lost))

    answering = [await serve_requests(nc, subjects.reconcile(host), reconcile),
                 await serve_requests(nc, subjects.power_loss(host), power_loss)]
    try:
        await asyncio.gather(worker.render(stop),
                             *(worker.follow(kind.name, stop) for kind in KINDS))
    finally:
        for subscription in answering:
            await subscription.unsubscribe()
    return worker


async def run(nats_url: str, prefix: str, host: str, network: NetworkHost,
              stop: asyncio.Event, settings: Settings | None = None) -> None:
    """The network worker process for one host, on its own NATS connection."""
    try:
        nc = await connect(nats_url, name=f"network-{host}")
        try:
            await serve(nc, Subjects(prefix), host, network, stop, settings)
        finally:
            await nc.drain()
    finally:
        await asyncio.to_thread(network.close)
