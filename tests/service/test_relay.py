"""The relay on real PostgreSQL and NATS: in order, once, even across a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import psycopg
import pytest

from commands.messages import BootInstance, Caller
from domain.events import InstanceCreateRequested
from messaging import nats as bus
from messaging.subjects import Subjects, subject_host
from messaging.wire import EventMessage
from projections import relay
from projections.log import read_after, read_after_async
from tests.support.cloud import IMAGE, ROOMY, open_cloud

CALLER = Caller(user_id="u", project_id="p")


@pytest.fixture
async def js(nats_url: str, subject_prefix: str) -> AsyncIterator[bus.JetStream]:
    nc = await bus.connect(nats_url)
    stream = nc.jetstream()
    await bus.ensure_streams(stream, Subjects(subject_prefix))
    yield stream
    await bus.delete_streams(stream, Subjects(subject_prefix))
    await nc.close()


def boot_some(database_url: str, count: int) -> list[int]:
    """Boot ``count`` servers on a seeded cloud; every position in the log."""
    app = open_cloud(database_url, ["compute1", "compute2"], limits=ROOMY)
    try:
        for n in range(count):
            app.instances.boot(BootInstance(request_id=f"r{n}", caller=CALLER, name=f"vm{n}",
                                            flavor_ref="1", image_ref=IMAGE))
    finally:
        app.close()
    with psycopg.connect(database_url) as conn:
        return [e.position for e in read_after(conn, 0, 100_000)]


async def stream_messages(js: bus.JetStream, subjects: Subjects) -> list[EventMessage]:
    info = await js.stream_info(subjects.events_stream)
    sub = await js.subscribe(subjects.all_events(), ordered_consumer=True)
    try:
        msgs = [await sub.next_msg(timeout=2) for _ in range(info.state.messages)]
    finally:
        await sub.unsubscribe()
    return [msgspec.json.decode(m.data, type=EventMessage) for m in msgs]


async def test_the_relay_publishes_every_event_in_log_order_to_its_hosts_subject(
    database_url: str, js: bus.JetStream, subject_prefix: str
) -> None:
    subjects = Subjects(subject_prefix)
    logged = boot_some(database_url, 12)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await relay.pump(conn, js, subjects) == len(logged)
        assert await relay.pump(conn, js, subjects) == 0
    published = await stream_messages(js, subjects)
    assert [m.position for m in published] == logged
    boots = [m.event for m in published if isinstance(m.event, InstanceCreateRequested)]
    assert len(boots) == 12
    assert {boot.host for boot in boots} <= {"compute1", "compute2"}


async def test_a_relay_that_crashed_after_publishing_republishes_without_duplicates(
    database_url: str, js: bus.JetStream, subject_prefix: str
) -> None:
    subjects = Subjects(subject_prefix)
    logged = boot_some(database_url, 7)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        # the crash: a batch is published and acked, but its position never recorded
        entries = await read_after_async(conn, 0, 100_000)
        await relay.publish(js, subjects, entries[:-3])
        assert await relay.position(conn, "relay") == 0
        # the restart publishes from the recorded position again
        assert await relay.pump(conn, js, subjects) == len(logged)
        assert await relay.position(conn, "relay") == logged[-1]
    published = await stream_messages(js, subjects)
    assert [m.position for m in published] == logged


async def test_the_relay_sends_the_stored_events_as_the_messages_and_subjects_decoding_gives(
    database_url: str, js: bus.JetStream, subject_prefix: str
) -> None:
    subjects = Subjects(subject_prefix)
    boot_some(database_url, 5)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        entries = await read_after_async(conn, 0, 100_000)
        assert await relay.pump(conn, js, subjects) == len(entries)
    sub = await js.subscribe(subjects.all_events(), ordered_consumer=True)
    try:
        msgs = [await sub.next_msg(timeout=2) for _ in entries]
    finally:
        await sub.unsubscribe()
    decoded = [entry.message() for entry in entries]
    assert [msgspec.json.decode(m.data, type=EventMessage) for m in msgs] == decoded
    assert [m.subject for m in msgs] == [
        subjects.event(d.event.aggregate, subject_host(d.event), d.type) for d in decoded]
