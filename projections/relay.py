"""Publishes the committed log to JetStream, in order, without loss or duplicates.

The relay reads entries after its recorded position, publishes each with
``Nats-Msg-Id`` = aggregate id and version, waits for every ack, and only then
records the new position. A crash between the acks and the record re-publishes
that batch on restart, and JetStream's duplicate window drops the repeats.
Nothing uncommitted is ever read, so nothing uncommitted is ever published.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from messaging import nats as bus
from messaging.subjects import Subjects
from projections.log import CHANNEL, LogEntry, read_after_async

log = logging.getLogger(__name__)

BATCH = 500
_encoder = msgspec.json.Encoder()


async def position(conn: psycopg.AsyncConnection[Any], relay: str) -> int:
    cur = await conn.execute("SELECT position FROM relay_position WHERE relay = %s", (relay,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def record(conn: psycopg.AsyncConnection[Any], relay: str, at: int) -> None:
    await conn.execute(
        "INSERT INTO relay_position (relay, position) VALUES (%s, %s)"
        " ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position",
        (relay, at),
    )


async def publish(js: Any, subjects: Subjects, entries: list[LogEntry]) -> None:
    """Publish ``entries`` and wait until JetStream has acknowledged every one."""
    batch = []
    for entry in entries:
        message = entry.stored_message()  # the stored event as it is: no decode, no encode
        subject = subjects.event(entry.aggregate, entry.host, message.type)
        batch.append((subject, _encoder.encode(message), message.id))
    await bus.publish_batch(js, batch)


async def pump(conn: psycopg.AsyncConnection[Any], js: Any, subjects: Subjects,
               relay: str = "relay") -> int:
    """Publish one batch after the recorded position; return how many were published."""
    entries = await read_after_async(conn, await position(conn, relay), BATCH)
    if entries:
        await publish(js, subjects, entries)
        await record(conn, relay, entries[-1].position)
    return len(entries)


async def run(database_url: str, nats_url: str, subjects: Subjects, stop: asyncio.Event) -> None:
    """Relay until ``stop`` is set."""
    nc = await bus.connect(nats_url)
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js, subjects)
        async with (
            await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn,
            await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener,
        ):
            await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            while not stop.is_set():
                if await pump(conn, js, subjects) == BATCH:
                    continue
                async for _ in listener.notifies(timeout=0.5, stop_after=1):
                    pass
    finally:
        await nc.close()
    log.info("relay stopped")
