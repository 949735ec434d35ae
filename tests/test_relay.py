"""The relay on real PostgreSQL and NATS: in order, once, even across a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import psycopg
import pytest

from commands.messages import BootInstance, Caller
from commands.services import Commands
from domain.messages import EventMessage, Subjects
from messaging import nats as bus
from projections import relay
from projections.log import read_after_async

CALLER = Caller(user_id="u", project_id="p")


@pytest.fixture
async def js(nats_url: str, subject_prefix: str) -> AsyncIterator[bus.JetStream]:
    nc = await bus.connect(nats_url)
    stream = nc.jetstream()
    await bus.ensure_streams(stream, Subjects(subject_prefix))
    yield stream
    await bus.delete_streams(stream, Subjects(subject_prefix))
    await nc.close()


def boot_some(database_url: str, count: int) -> None:
    app = Commands.open(database_url, ["compute1", "compute2"])
    try:
        for n in range(count):
            app.instances.boot(BootInstance(request_id=f"r{n}", caller=CALLER, name=f"vm{n}",
                                  flavor_ref="1", image_ref="cirros-0.6.2-x86_64-disk"))
    finally:
        app.close()


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
    boot_some(database_url, 12)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await relay.pump(conn, js, subjects) == 12
        assert await relay.pump(conn, js, subjects) == 0
    published = await stream_messages(js, subjects)
    assert [m.position for m in published] == list(range(1, 13))
    assert {m.type for m in published} == {"InstanceCreateRequested"}
    hosts = {m.event.host for m in published}  # type: ignore[union-attr]
    info = await js.stream_info(subjects.events_stream)
    assert info.state.messages == 12 and hosts <= {"compute1", "compute2"}


async def test_a_relay_that_crashed_after_publishing_republishes_without_duplicates(
    database_url: str, js: bus.JetStream, subject_prefix: str
) -> None:
    subjects = Subjects(subject_prefix)
    boot_some(database_url, 7)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        # the crash: a batch is published and acked, but its position never recorded
        entries = await read_after_async(conn, 0, 100)
        await relay.publish(js, subjects, entries[:5])
        assert await relay.position(conn, "relay") == 0
        # the restart publishes from the recorded position again
        assert await relay.pump(conn, js, subjects) == 7
        assert await relay.position(conn, "relay") == 7
    published = await stream_messages(js, subjects)
    assert [m.position for m in published] == list(range(1, 8))
