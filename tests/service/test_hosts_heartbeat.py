"""A host's reports over real NATS: the first registers it, repeats only move its
heartbeat, and a changed capacity registers it again; no report, no events.
Liveness is the database's clock; the report carries the host's own stamp."""

from __future__ import annotations

import asyncio

import psycopg

from commands import host_reports
from commands.services import Commands
from messaging.nats import connect
from tests.support.clock import SetClock
from tests.support.polling import eventually
from workers.hypervisor import heartbeat
from workers.hypervisor.port import NodeInfo


class StubNode:
    """A host-side capacity port whose numbers the test changes."""

    def __init__(self) -> None:
        self.node = NodeInfo(vcpus=8, memory_mb=16384, hypervisor_type="QEMU",
                             hypervisor_version=8002000)

    def capacity(self) -> NodeInfo:
        return self.node

    def close(self) -> None:
        pass


def count(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def last_seen(database_url: str, host: str) -> object:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT last_seen FROM host_heartbeats WHERE host = %s",
                           (host,)).fetchone()
        return row[0] if row else None


async def test_reports_register_once_then_only_beat_until_the_capacity_changes(
        database_url: str, nats_url: str, subject_prefix: str) -> None:
    cloud = Commands.open(database_url, [])
    stop = asyncio.Event()
    node = StubNode()
    clock = SetClock()
    registrations = "SELECT count(*) FROM nimbus_events WHERE topic LIKE '%HostRegistered'"
    nc = await connect(nats_url)
    tasks = [
        asyncio.ensure_future(host_reports.run(cloud.hosts, database_url, nats_url,
                                               subject_prefix, stop)),
        asyncio.ensure_future(heartbeat.serve(nc, subject_prefix, "hv1", node, stop,
                                              disk_gb=200, interval=0.05, clock=clock)),
    ]
    try:
        await eventually(lambda: asyncio.to_thread(lambda: "hv1" in cloud.hosts.registered()))
        # the report is registered, then its beat written: wait for the beat too
        # (a count of 0 would "hold": only None and False do not, so ask for a bool)
        await eventually(lambda: asyncio.to_thread(lambda: count(
            database_url, "SELECT count(*) FROM host_heartbeats WHERE host = 'hv1'") == 1))
        assert await asyncio.to_thread(count, database_url, "SELECT count(*) FROM"
                                       " host_heartbeats WHERE report->>'at' ="
                                       " '2026-01-01T00:00:00Z'") == 1
        host = cloud.hosts.host("hv1")
        assert host is not None and (host.vcpus, host.memory_mb, host.local_gb) == (8, 16384,
                                                                                     200)
        beats: set[object] = set()

        async def ten_more_beats() -> bool:
            beats.add(await asyncio.to_thread(last_seen, database_url, "hv1"))
            return len(beats) > 10

        await eventually(ten_more_beats)
        assert await asyncio.to_thread(count, database_url, registrations) == 1
        node.node = NodeInfo(vcpus=16, memory_mb=16384, hypervisor_type="QEMU",
                             hypervisor_version=8002000)
        await eventually(lambda: asyncio.to_thread(
            lambda: (h := cloud.hosts.host("hv1")) is not None and h.vcpus == 16))
        assert await asyncio.to_thread(count, database_url, registrations) == 2
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await nc.close()
        cloud.close()
