"""The shared consumer runtime on a real JetStream server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest

from messaging.consumer import ConsumerSpec, Delivery, TransientError, consume
from messaging.nats import JetStream, connect, delete_streams, ensure_streams, publish
from messaging.subjects import Subjects
from tests.support.polling import eventually


class Work(msgspec.Struct):
    key: str
    n: int


def key_of(_subject: str, data: bytes) -> str:
    return msgspec.json.decode(data, type=Work).key


def work_of(delivery: Delivery) -> Work:
    return msgspec.json.decode(delivery.data, type=Work)


class Bus(msgspec.Struct):
    js: JetStream
    subjects: Subjects

    @property
    def spec(self) -> ConsumerSpec:
        return ConsumerSpec(
            stream=self.subjects.events_stream,
            durable="test-worker",
            filter_subject=self.subjects.host_events("instance", "h1"),
            nak_delay=0.1,
        )

    async def send(self, key: str, n: int) -> None:
        subject = self.subjects.event("instance", "h1", "Work")
        await publish(self.js, subject, msgspec.json.encode(Work(key, n)), msg_id=f"{key}-{n}")

    async def acks(self) -> tuple[int, int]:
        """(stream sequence of the ack floor, messages delivered but not acked)"""
        info = await self.js.consumer_info(self.spec.stream, self.spec.durable)
        assert info.ack_floor is not None and info.ack_floor.stream_seq is not None
        assert info.num_ack_pending is not None
        return info.ack_floor.stream_seq, info.num_ack_pending


@pytest.fixture
async def bus(nats_url: str, subject_prefix: str) -> AsyncIterator[Bus]:
    nc = await connect(nats_url)
    subjects = Subjects(subject_prefix)
    js = nc.jetstream()
    await ensure_streams(js, subjects)
    yield Bus(js, subjects)
    await delete_streams(js, subjects)
    await nc.close()


Running = Callable[[Callable[[Delivery], Awaitable[None]]], Awaitable[None]]


@pytest.fixture
async def running(bus: Bus) -> AsyncIterator[Running]:
    """Start the consumer with a handler; it is stopped after the test."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start(handler: Callable[[Delivery], Awaitable[None]]) -> None:
        tasks.append(asyncio.create_task(consume(bus.js, bus.spec, handler, key_of, stop)))

        async def consumer_exists() -> bool:
            return bool(await bus.js.consumers_info(bus.spec.stream))

        await eventually(consumer_exists)

    yield start
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_a_message_is_acked_only_after_its_handler_returned(
    bus: Bus, running: Running
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def handler(_delivery: Delivery) -> None:
        entered.set()
        await release.wait()

    await bus.send("a", 1)
    await running(handler)
    await asyncio.wait_for(entered.wait(), 5)

    async def delivered_not_acked() -> bool:
        return await bus.acks() == (0, 1)

    await eventually(delivered_not_acked)
    release.set()

    async def acked() -> bool:
        return await bus.acks() == (1, 0)

    await eventually(acked)


async def test_a_transient_error_gets_the_message_redelivered(
    bus: Bus, running: Running
) -> None:
    attempts: list[int] = []

    async def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt == 1:
            raise TransientError("host is away")

    await bus.send("a", 1)
    await running(handler)

    async def acked() -> bool:
        return await bus.acks() == (1, 0)

    await eventually(acked)
    assert attempts == [1, 2]


async def test_an_unexpected_error_is_logged_and_the_message_redelivered(
    bus: Bus, running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    async def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt < 3:
            raise ValueError("a bug")

    await bus.send("a", 1)
    await running(handler)

    async def acked() -> bool:
        return await bus.acks() == (1, 0)

    await eventually(acked)
    assert attempts == [1, 2, 3]
    assert "a bug" in caplog.text


async def test_messages_with_one_key_are_handled_one_at_a_time_in_order(
    bus: Bus, running: Running
) -> None:
    handled: list[int] = []
    busy = 0
    most_busy = 0

    async def handler(delivery: Delivery) -> None:
        nonlocal busy, most_busy
        busy += 1
        most_busy = max(most_busy, busy)
        await asyncio.sleep(0.02)
        handled.append(work_of(delivery).n)
        busy -= 1

    for n in range(1, 6):
        await bus.send("a", n)
    await running(handler)

    async def all_handled() -> bool:
        return len(handled) == 5

    await eventually(all_handled)
    assert handled == [1, 2, 3, 4, 5]
    assert most_busy == 1


async def test_messages_with_different_keys_are_handled_in_parallel(
    bus: Bus, running: Running
) -> None:
    b_started = asyncio.Event()
    done: list[str] = []

    async def handler(delivery: Delivery) -> None:
        if delivery.key == "a":
            await asyncio.wait_for(b_started.wait(), 3)  # only if b runs meanwhile
        else:
            b_started.set()
        done.append(delivery.key)

    await bus.send("a", 1)
    await bus.send("b", 1)
    await running(handler)

    async def both_done() -> bool:
        return sorted(done) == ["a", "b"]

    await eventually(both_done)
    assert done == ["b", "a"]


async def test_a_later_message_waits_while_an_earlier_one_of_its_key_is_retried(
    bus: Bus, running: Running
) -> None:
    handled: list[tuple[int, int]] = []

    async def handler(delivery: Delivery) -> None:
        n = work_of(delivery).n
        handled.append((n, delivery.attempt))
        if n == 1 and delivery.attempt == 1:
            raise TransientError("not yet")

    await bus.send("a", 1)
    await bus.send("a", 2)
    await running(handler)

    async def acked() -> bool:
        return await bus.acks() == (2, 0)

    await eventually(acked)
    assert [n for n, _ in handled] == [1, 1, 2]
