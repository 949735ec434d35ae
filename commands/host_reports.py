"""Turns the hosts' reports (``HostReport`` over NATS) into registrations and liveness.

A report whose capacity differs from the recorded one becomes a
``HostRegistered`` event (commands/hosts.py). Every report also moves the
host's ``last_seen`` in the ``host_heartbeats`` table. Heartbeats are not
events: every host sends one every ``report_interval`` seconds, for ever, so
as events they would swamp the log with facts that no decision and no view
replays; "is it up?" is only ever asked about now. The reply tells the host
its report was taken, so an unanswered one is sent again soon.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from commands.fact_table import FactTable
from commands.hosts import HostCommands
from domain.host import HostReport
from messaging.nats import connect, serve_requests
from messaging.subjects import Subjects

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(HostReport)

_BEAT = (
    "INSERT INTO public.host_heartbeats (host, last_seen, report) VALUES (%s, now(), %s)"
    " ON CONFLICT (host) DO UPDATE SET last_seen = now(), report = EXCLUDED.report"
)


class HostReports:
    """Records reports: a registration when something changed, a heartbeat always."""

    def __init__(self, hosts: HostCommands, database_url: str) -> None:
        self.hosts = hosts
        self.beats = FactTable(database_url, "host reports")

    def record(self, report: HostReport) -> None:
        with self.beats.recording() as write:
            self.hosts.register(report)
            write(_BEAT, (report.host, msgspec.json.encode(report).decode()))

    def close(self) -> None:
        self.beats.close()


async def run(hosts: HostCommands, database_url: str, nats_url: str, prefix: str,
              stop: asyncio.Event) -> None:
    """Answer the hosts' reports until ``stop`` is set."""
    reports = HostReports(hosts, database_url)
    lock = asyncio.Lock()  # one report at a time: one connection, ordered beats

    async def answer(data: bytes) -> bytes:
        report = _decoder.decode(data)
        async with lock:
            await asyncio.to_thread(reports.record, report)
        return b"ok"

    nc = await connect(nats_url, name="nimbus-host-reports")
    try:
        subscription = await serve_requests(nc, Subjects(prefix).all_reports(), answer)
        try:
            await stop.wait()
        finally:
            await subscription.unsubscribe()
    finally:
        await nc.drain()
        await asyncio.to_thread(reports.close)
    log.info("host reports stopped")
