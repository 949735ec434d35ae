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
import threading
from typing import Any

import msgspec
import psycopg

from commands.event_store import StoreUnavailable
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
        self.database_url = database_url
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        # a report still recording in its thread when the service stops must
        # finish before the close, or it opens a connection nobody closes
        self._guard = threading.Lock()

    def record(self, report: HostReport) -> None:
        with self._guard:
            if self._closed:
                raise StoreUnavailable("The host reports are closed: the service is stopping.")
            self.hosts.register(report)
            conn = self._connection()
            conn.execute(_BEAT, (report.host, msgspec.json.encode(report).decode()))

    def close(self) -> None:
        with self._guard:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        return self._conn


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
