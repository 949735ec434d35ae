"""Hypervisor hosts: registration, enable/disable, and capacity claims.

Each host is one aggregate holding its capacity (as its worker reported it),
whether an operator disabled it, and the claims of the instances placed on
it. Placement records a claim on the chosen host in the same transaction as
the boot, so racing boots never over-commit a host: the loser meets a version
conflict and chooses again. The fleet is one more aggregate listing the
registered hosts (with the small number Nova shows as the service and
hypervisor id), so the write side finds every host without reading a view.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidState, NotFound

NAMESPACE = uuid.UUID("5d1f2c3b-6a7e-4f80-9b1c-2d3e4f5a6b7c")
FLEET_ID = uuid.uuid5(NAMESPACE, "fleet")
BINARY = "nova-compute"


def host_id(host: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"host:{host}")


class Capacity(msgspec.Struct, frozen=True, kw_only=True):
    vcpus: int
    memory_mb: int
    local_gb: int

    def plus(self, claim: Claim, sign: int = 1) -> Capacity:
        """With ``claim`` added (``sign`` -1: taken away)."""
        return Capacity(vcpus=self.vcpus + sign * claim.vcpus,
                        memory_mb=self.memory_mb + sign * claim.memory_mb,
                        local_gb=self.local_gb + sign * claim.disk_gb)


NOTHING = Capacity(vcpus=0, memory_mb=0, local_gb=0)


class AllocationRatios(msgspec.Struct, frozen=True, kw_only=True):
    """How far a host may be over-committed (nova.conf's *_allocation_ratio);
    1.0 means never more than the host has."""

    cpu: float = 1.0
    ram: float = 1.0
    disk: float = 1.0


class HostReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a hypervisor worker sends over NATS every report interval: its
    capacity (registration) and, by arriving, that it is alive (heartbeat)."""

    host: str
    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    at: datetime
    booted_at: datetime | None = None  # when the host's machine started (os-hypervisors uptime)


class HostEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "host"
    host: str


class HostRegistered(HostEvent, frozen=True, kw_only=True):
    """The host joined, or reported a capacity different from the last one."""

    number: int
    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    source: str = "report"  # "report" (its worker) or "configured" (settings.hosts)


class HostDisabled(HostEvent, frozen=True, kw_only=True):
    request_id: str
    reason: str | None = None


class HostEnabled(HostEvent, frozen=True, kw_only=True):
    request_id: str


class HostForcedDown(HostEvent, frozen=True, kw_only=True):
    """An operator says the host is down (or no longer) whatever its heartbeat
    says (Nova's os-services force-down): placement skips it while it is."""

    request_id: str
    forced_down: bool = True


class HostCapacityClaimed(HostEvent, frozen=True, kw_only=True):
    instance_id: str
    project_id: str
    vcpus: int
    memory_mb: int
    disk_gb: int


class HostCapacityReleased(HostEvent, frozen=True, kw_only=True):
    instance_id: str


class HostJoinedFleet(Event, frozen=True, kw_only=True):
    """The fleet aggregate's only event: a host's first registration."""

    aggregate: ClassVar[str] = "fleet"
    host: str
    number: int


AnyHostEvent = (
    HostRegistered | HostDisabled | HostEnabled | HostCapacityClaimed | HostCapacityReleased
    | HostForcedDown
)
AnyFleetEvent = HostJoinedFleet


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    vcpus: int
    memory_mb: int
    disk_gb: int


class Host(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    number: int = 0
    vcpus: int = 0
    memory_mb: int = 0
    local_gb: int = 0
    hypervisor_type: str = ""
    hypervisor_version: int = 0
    host_ip: str = ""
    disabled: bool = False
    disabled_reason: str | None = None
    claims: dict[str, Claim] = {}
    claimed: Capacity = NOTHING  # the claims' running sum: deciding adds up none
    forced_down: bool = False

    @property
    def registered(self) -> bool:
        return self.number > 0

    def used(self) -> Capacity:
        return self.claimed

    def free(self, ratios: AllocationRatios) -> Capacity:
        used = self.used()
        return Capacity(vcpus=int(self.vcpus * ratios.cpu) - used.vcpus,
                        memory_mb=int(self.memory_mb * ratios.ram) - used.memory_mb,
                        local_gb=int(self.local_gb * ratios.disk) - used.local_gb)


class Fleet(msgspec.Struct, frozen=True):
    hosts: dict[str, int] = {}  # host -> number


def evolve(state: Host | None, event: HostEvent, _aggregate_id: str) -> Host:
    if not isinstance(event, AnyHostEvent):
        raise UnknownEvent(event, "host")
    host = state or Host(host=event.host)
    match event:
        case HostRegistered():
            return msgspec.structs.replace(
                host, number=event.number, vcpus=event.vcpus, memory_mb=event.memory_mb,
                local_gb=event.local_gb, hypervisor_type=event.hypervisor_type,
                hypervisor_version=event.hypervisor_version, host_ip=event.host_ip)
        case HostDisabled():
            return msgspec.structs.replace(host, disabled=True, disabled_reason=event.reason)
        case HostEnabled():
            return msgspec.structs.replace(host, disabled=False, disabled_reason=None)
        case HostCapacityClaimed():
            claim = Claim(project_id=event.project_id, vcpus=event.vcpus,
                          memory_mb=event.memory_mb, disk_gb=event.disk_gb)
            before = host.claims.get(event.instance_id)
            claimed = host.claimed.plus(claim)
            return msgspec.structs.replace(
                host, claims={**host.claims, event.instance_id: claim},
                claimed=claimed if before is None else claimed.plus(before, -1))
        case HostCapacityReleased():
            gone = host.claims.get(event.instance_id)
            if gone is None:
                return host
            claims = dict(host.claims)  # a copy at C speed: states are shared, never changed
            del claims[event.instance_id]
            return msgspec.structs.replace(host, claims=claims,
                                           claimed=host.claimed.plus(gone, -1))
        case HostForcedDown():
            return msgspec.structs.replace(host, forced_down=event.forced_down)
        case _:
            unknown_event(event, "host")


def evolve_fleet(state: Fleet | None, event: Event, _aggregate_id: str) -> Fleet:
    if not isinstance(event, AnyFleetEvent):
        raise UnknownEvent(event, "fleet")
    fleet = state or Fleet()
    match event:
        case HostJoinedFleet():
            return Fleet(hosts={**fleet.hosts, event.host: event.number})
        case _:
            unknown_event(event, "fleet")


def register(
    state: Host | None, fleet: Fleet | None, report: HostReport, *, source: str = "report",
) -> tuple[HostJoinedFleet | None, HostRegistered | None]:
    """A host's report as events: joining the fleet the first time, and a
    registration when it is new or its capacity changed (else nothing)."""
    hosts = (fleet or Fleet()).hosts
    joined = None
    number = hosts.get(report.host, 0)
    if not number:
        number = max(hosts.values(), default=0) + 1
        joined = HostJoinedFleet(at=report.at, host=report.host, number=number)
    current = state or Host(host=report.host)
    registered = HostRegistered(
        at=report.at, host=report.host, number=number, vcpus=report.vcpus,
        memory_mb=report.memory_mb, local_gb=report.local_gb,
        hypervisor_type=report.hypervisor_type, hypervisor_version=report.hypervisor_version,
        host_ip=report.host_ip, source=source,
    )
    unchanged = current.registered and (
        current.vcpus, current.memory_mb, current.local_gb, current.hypervisor_type,
        current.hypervisor_version, current.host_ip,
    ) == (report.vcpus, report.memory_mb, report.local_gb, report.hypervisor_type,
          report.hypervisor_version, report.host_ip)
    if unchanged or (source == "configured" and current.registered):
        return joined, None
    return joined, registered


def _known(state: Host | None, host: str) -> Host:
    if state is None or not state.registered:
        raise NotFound(f"Host '{host}' could not be found.")
    return state


def disable(state: Host | None, host: str, *, reason: str | None, request_id: str,
            at: datetime) -> HostDisabled | None:
    """Disable a host (placement skips it); already disabled alike is nothing."""
    current = _known(state, host)
    if current.disabled and current.disabled_reason == reason:
        return None
    return HostDisabled(at=at, host=host, request_id=request_id, reason=reason)


def enable(state: Host | None, host: str, *, request_id: str, at: datetime) -> HostEnabled | None:
    current = _known(state, host)
    if not current.disabled:
        return None
    return HostEnabled(at=at, host=host, request_id=request_id)


def force_down(state: Host | None, host: str, *, forced: bool, request_id: str,
               at: datetime) -> HostForcedDown | None:
    """Say a host is down (or no longer) whatever its heartbeat; already so is nothing."""
    current = _known(state, host)
    if current.forced_down == forced:
        return None
    return HostForcedDown(at=at, host=host, request_id=request_id, forced_down=forced)


class NoValidHost(InvalidState):
    """No enabled host has room (Nova's scheduler wording)."""

    def __init__(self) -> None:
        super().__init__("No valid host was found. There are not enough hosts available.")


def fits(host: Host, ratios: AllocationRatios, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    free = host.free(ratios)
    return (host.registered and not host.disabled and not host.forced_down
            and free.vcpus >= vcpus
            and free.memory_mb >= memory_mb and free.local_gb >= disk_gb)


def choose(hosts: list[Host], ratios: AllocationRatios, *, vcpus: int, memory_mb: int,
           disk_gb: int) -> Host:
    """The enabled host with room and the most free RAM (then most free
    vCPUs, then name): a deterministic spread. ``NoValidHost`` if none fits."""
    candidates = [h for h in hosts if fits(h, ratios, vcpus, memory_mb, disk_gb)]
    if not candidates:
        raise NoValidHost()
    return min(candidates, key=lambda h: (-h.free(ratios).memory_mb, -h.free(ratios).vcpus,
                                          h.host))


def claim(host: Host, *, instance_id: str, project_id: str, vcpus: int, memory_mb: int,
          disk_gb: int, at: datetime) -> HostCapacityClaimed:
    return HostCapacityClaimed(at=at, host=host.host, instance_id=instance_id,
                               project_id=project_id, vcpus=vcpus, memory_mb=memory_mb,
                               disk_gb=disk_gb)


def place(hosts: list[Host], ratios: AllocationRatios, *, instance_ids: list[str],
          project_id: str, vcpus: int, memory_mb: int, disk_gb: int,
          at: datetime) -> list[HostCapacityClaimed]:
    """A claim for each new instance, in order, each on the host ``choose``
    picks once the claims before it are counted (one request may start
    several); ``NoValidHost`` when they do not all fit."""
    now = {h.host: h for h in hosts}
    claims = []
    for instance_id in instance_ids:
        best = choose(list(now.values()), ratios, vcpus=vcpus, memory_mb=memory_mb,
                      disk_gb=disk_gb)
        made = claim(best, instance_id=instance_id, project_id=project_id, vcpus=vcpus,
                     memory_mb=memory_mb, disk_gb=disk_gb, at=at)
        now[best.host] = evolve(best, made, "")
        claims.append(made)
    return claims


def release(state: Host | None, instance_id: str, at: datetime) -> HostCapacityReleased | None:
    if state is None or instance_id not in state.claims:
        return None
    return HostCapacityReleased(at=at, host=state.host, instance_id=instance_id)
