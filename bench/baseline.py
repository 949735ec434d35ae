"""The raw floors nimbus's figures are put next to, measured on the same
servers in the same run: what the database, the log's decoding and JetStream
can do with nothing of nimbus around them.

* one psycopg client's INSERT+COMMIT rate of a ~300-byte row: every accepted
  command ends in at least one committed transaction;
* reading the stored events in log order and decoding each with
  ``domain.codec``, applying nothing: what a rebuild of the views costs at
  the least;
* nats-py's ``publish_async`` of the relay's own messages to a fresh stream,
  waiting for every ack: what relaying costs at the least.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg

from domain import codec
from messaging import nats as bus
from messaging.subjects import Subjects, subject_host
from projections.log import LogEntry, head, read_after

TABLE = "bench_scratch"
READ_BATCH = 1000  # what the projector reads at once


def insert_commit_rate(url: str, rows: int = 2000, size: int = 300) -> float:
    """Rows per second: ``rows`` single-row INSERTs, each followed by COMMIT."""
    payloads = [secrets.token_hex(size // 2) for _ in range(rows)]  # incompressible
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)")
        conn.commit()
        insert = f"INSERT INTO {TABLE} (payload) VALUES (%s)"
        start = time.perf_counter()
        for payload in payloads:
            conn.execute(insert, (payload,))
            conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute(f"DROP TABLE {TABLE}")
        conn.commit()
    return rows / elapsed


def log_entries(url: str, upto: int | None = None) -> Iterator[list[LogEntry]]:
    """The log in the projector's batches, from its start to ``upto`` (the head)."""
    with psycopg.connect(url, autocommit=True) as conn:
        end = head(conn) if upto is None else upto
        position = 0
        while position < end:
            entries = read_after(conn, position, min(READ_BATCH, end - position))
            if not entries:
                return
            yield entries
            position = entries[-1].position


def decoded_read_rate(url: str) -> tuple[float, int]:
    """Events per second read in log order and decoded (nothing applied); how many."""
    count = 0
    start = time.perf_counter()
    for entries in log_entries(url):
        for entry in entries:
            codec.decode(entry.topic, entry.state)
        count += len(entries)
    elapsed = time.perf_counter() - start
    return (count / elapsed if elapsed else 0.0), count


_encoder = msgspec.json.Encoder()


def relay_messages(url: str, subjects: Subjects, upto: int) -> list[tuple[str, bytes, str]]:
    """(subject, payload, msg id) of every event up to ``upto``, as the relay sends them."""
    found = []
    for entries in log_entries(url, upto):
        for entry in entries:
            message = entry.message()
            subject = subjects.event(message.event.aggregate, subject_host(message.event),
                                     message.type)
            found.append((subject, _encoder.encode(message), message.id))
    return found


async def publish_async_rate(nats_url: str, prefix: str,
                             messages: list[tuple[str, bytes, str]]) -> float:
    """Messages per second: ``messages`` published with ``publish_async`` to a
    fresh events stream under ``prefix``, from the first send to the last ack."""
    nc = await bus.connect(nats_url)
    try:
        js = nc.jetstream()
        subjects = Subjects(prefix)
        await bus.ensure_streams(js, subjects)
        start = time.perf_counter()
        futures: list[Any] = [
            await js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
            for subject, payload, msg_id in messages]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - start
        await bus.delete_streams(js, subjects)
    finally:
        await nc.close()
    return len(messages) / elapsed if elapsed else 0.0


async def stream_messages(nats_url: str, prefix: str) -> int:
    """How many messages the events stream under ``prefix`` holds (0: none yet)."""
    nc = await bus.connect(nats_url)
    try:
        try:
            info = await nc.jetstream().stream_info(Subjects(prefix).events_stream)
        except Exception:  # not created yet
            return 0
        return int(info.state.messages)
    finally:
        await nc.close()
