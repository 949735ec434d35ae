"""A hypervisor host's reports to the control plane: registration and heartbeat.

Every ``report_interval`` seconds the host sends a ``HostReport`` (its
capacity, as libvirt's node info gives it, and the disk it offers) as a core
NATS request on ``<prefix>.hosts.<host>.report``. The control plane records a
registration when the capacity is new or changed, and the time it heard from
the host (liveness). An unanswered report (control plane not up yet) is sent
again after a second rather than a whole interval, so a fresh cloud learns its
hosts at once. Runs beside the worker, on its own libvirt connection. Each
report is stamped by the heartbeat's clock (the real one unless a test sets
its own); liveness itself is judged by the database's clock when it is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from domain.clock import Clock, system_clock
from domain.host import HostReport
from messaging.nats import Connection, connect, request
from messaging.subjects import Subjects
from workers.hypervisor.port import HostUnavailable, NodeInfo

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class ReportsCapacity(Protocol):
    def capacity(self) -> NodeInfo: ...

    def close(self) -> None: ...


def host_ip() -> str:
    """This machine's address as others would see it (Nova's my_ip)."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def booted_at() -> datetime | None:
    """When this machine started (the kernel's ``btime``), for the host's uptime."""
    with contextlib.suppress(OSError, ValueError), open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("btime "):
                return datetime.fromtimestamp(int(line.split()[1]), UTC)
    return None


def build_report(host: str, node: NodeInfo, disk_gb: int, ip: str, at: datetime) -> HostReport:
    return HostReport(
        host=host, vcpus=node.vcpus, memory_mb=node.memory_mb, local_gb=disk_gb,
        hypervisor_type=node.hypervisor_type, hypervisor_version=node.hypervisor_version,
        host_ip=ip, at=at, booted_at=booted_at(),
    )


async def report_once(nc: Connection, prefix: str, host: str, hypervisor: ReportsCapacity,
                      disk_gb: int, ip: str, clock: Clock = system_clock) -> bool:
    """Send one report; True when the control plane acknowledged it."""
    try:
        node = await asyncio.to_thread(hypervisor.capacity)
    except HostUnavailable as error:
        log.warning("%s: cannot read the host's capacity: %s", host, error)
        return False
    payload = msgspec.json.encode(build_report(host, node, disk_gb, ip, clock()))
    try:
        await request(nc, Subjects(prefix).report(host), payload, timeout=5.0)
    except Exception as error:  # no responders, timeout, reconnecting: try again soon
        log.info("%s: report not acknowledged yet: %s", host, error)
        return False
    return True


async def serve(nc: Connection, prefix: str, host: str, hypervisor: ReportsCapacity,
                stop: asyncio.Event, *, disk_gb: int, interval: float,
                clock: Clock = system_clock) -> None:
    """Report until ``stop`` is set: every ``interval``, or sooner after a miss."""
    ip = host_ip()
    while not stop.is_set():
        acknowledged = await report_once(nc, prefix, host, hypervisor, disk_gb, ip, clock)
        wait = interval if acknowledged else min(RETRY_SECONDS, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)


async def run(nats_url: str, prefix: str, host: str, hypervisor: ReportsCapacity,
              stop: asyncio.Event, *, disk_gb: int, interval: float) -> None:
    """The heartbeat of one host, on its own NATS connection."""
    try:
        nc = await connect(nats_url, name=f"heartbeat-{host}")
        try:
            await serve(nc, prefix, host, hypervisor, stop, disk_gb=disk_gb, interval=interval)
        finally:
            await nc.drain()
    finally:
        await asyncio.to_thread(hypervisor.close)


async def run_on_libvirt(nats_url: str, prefix: str, host: str, libvirt_uri: str,
                         stop: asyncio.Event, *, disk_gb: int, interval: float) -> None:
    """The heartbeat of a host on libvirt at ``libvirt_uri`` (its own connection)."""
    from workers.hypervisor.libvirt_adapter import LibvirtHost

    hypervisor = await asyncio.to_thread(LibvirtHost, libvirt_uri)
    await run(nats_url, prefix, host, hypervisor, stop, disk_gb=disk_gb, interval=interval)
