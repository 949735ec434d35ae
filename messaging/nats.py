"""The one NATS adapter: connections, streams, deduplicated publishing, request/reply.

Every other module reaches NATS through these functions, so the nats-py API
(and its quirks, such as deduplication only through the ``Nats-Msg-Id``
header) is known in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import msgspec
import nats
from nats.aio.client import Client as Connection
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext as JetStream
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from messaging.subjects import Subjects

__all__ = [
    "Connection",
    "ConsumerState",
    "JetStream",
    "Msg",
    "Published",
    "PullSubscription",
    "Subscription",
    "connect",
    "consumer_states",
    "delete_streams",
    "ensure_streams",
    "fetch",
    "publish",
    "pull_subscription",
    "request",
    "serve_requests",
]

log = logging.getLogger(__name__)

PullSubscription = JetStream.PullSubscription

DUPLICATE_WINDOW_SECONDS = 600.0
SUBJECTS_OVERLAP = 10065
STREAM_NAME_IN_USE = 10058  # JetStream API error: same name, different config


class Published(msgspec.Struct, frozen=True):
    """JetStream's acknowledgement of one publish."""

    stream: str
    seq: int
    duplicate: bool


class ConsumerState(msgspec.Struct, frozen=True, kw_only=True):
    """Where one durable consumer stands in its stream, by JetStream's own count."""

    durable: str
    # the stream sequence up to which it has handled every message of its
    # filter: just before its oldest waiting one, or the stream's last
    applied: int
    waiting: int  # its messages not yet acknowledged: delivered or still to deliver
    redelivered: int  # its messages delivered more than once and not yet acknowledged
    oldest_at: datetime | None  # when the oldest waiting message was stored


async def consumer_states(js: JetStream, stream: str) -> list[ConsumerState]:
    """Every durable consumer of ``stream`` (none when the stream does not
    exist yet): the stream's state, one listing of its consumers, and one
    read of the oldest waiting message of each consumer that has one."""
    try:
        last = (await js.stream_info(stream)).state.last_seq
        infos = await js.consumers_info(stream)
    except NotFoundError:
        return []
    states = []
    for info in infos:
        durable = info.config.durable_name
        if not durable:
            continue  # an ordered consumer someone watches with: no part of the cloud
        acked = info.ack_floor.stream_seq if info.ack_floor else 0
        waiting = (info.num_pending or 0) + (info.num_ack_pending or 0)
        applied, oldest_at = last, None
        if waiting:
            with contextlib.suppress(NotFoundError):
                oldest = await js.get_msg(stream, seq=acked + 1, next=True,
                                          subject=info.config.filter_subject or ">")
                applied, oldest_at = (oldest.seq or acked + 1) - 1, oldest.time
        states.append(ConsumerState(durable=durable, applied=applied, waiting=waiting,
                                    redelivered=info.num_redelivered or 0,
                                    oldest_at=oldest_at))
    return states


async def connect(url: str, name: str | None = None) -> Connection:
    """A client that reconnects for ever once the first connection succeeded."""
    return await nats.connect(
        url, name=name, connect_timeout=2, max_reconnect_attempts=-1, reconnect_time_wait=0.5
    )


def _stream_configs(subjects: Subjects) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=name,
            subjects=[subject],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        for name, subject in (
            (subjects.events_stream, subjects.all_events()),
            (subjects.outcomes_stream, subjects.all_outcomes()),
        )
    ]


async def ensure_streams(js: JetStream, subjects: Subjects) -> None:
    """Create (or bring up to date) the events and the outcomes streams."""
    for config in _stream_configs(subjects):
        try:
            await js.add_stream(config)
        except BadRequestError as error:
            # Two processes creating the same stream at once: the loser hears
            # "name in use" or "subjects overlap" (with the winner's stream).
            if error.err_code not in (STREAM_NAME_IN_USE, SUBJECTS_OVERLAP):
                raise
            assert config.name is not None
            await js.stream_info(config.name)  # NotFound: the overlap is someone else's
            await js.update_stream(config)


async def delete_streams(js: JetStream, subjects: Subjects) -> None:
    """Remove a prefix's streams (and with them their consumers); absent is fine."""
    for name in (subjects.events_stream, subjects.outcomes_stream):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)


async def publish(
    js: JetStream, subject: str, payload: bytes, msg_id: str, timeout: float = 5.0
) -> Published:
    """Publish and wait for the stream's ack; a repeated ``msg_id`` is dropped
    by JetStream within the duplicate window (``duplicate`` is then true)."""
    ack = await js.publish(subject, payload, timeout=timeout, headers={"Nats-Msg-Id": msg_id})
    return Published(stream=ack.stream, seq=ack.seq, duplicate=bool(ack.duplicate))


async def serve_requests(
    nc: Connection, subject: str, answer: Callable[[bytes], Awaitable[bytes]]
) -> Subscription:
    """Answer core NATS requests on ``subject``; unsubscribe the result to stop."""

    async def reply(msg: Msg) -> None:
        try:
            answered = await answer(msg.data)
        except Exception:
            log.exception("no answer to a request on %s", subject)
            return  # the requester times out rather than getting a wrong answer
        await msg.respond(answered)

    return await nc.subscribe(subject, cb=reply)


async def request(nc: Connection, subject: str, payload: bytes, timeout: float = 2.0) -> bytes:
    """Send a core NATS request and return the reply's payload."""
    msg = await nc.request(subject, payload, timeout=timeout)
    return msg.data


async def pull_subscription(
    js: JetStream,
    *,
    stream: str,
    durable: str,
    filter_subject: str,
    max_deliver: int,
    ack_wait: float,
    max_ack_pending: int,
) -> PullSubscription:
    """Bind to a durable pull consumer with explicit acks, creating it if needed."""
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        max_deliver=max_deliver,
        ack_wait=ack_wait,
        max_ack_pending=max_ack_pending,
    )
    return await js.pull_subscribe(filter_subject, durable=durable, stream=stream, config=config)


async def fetch(sub: PullSubscription, batch: int, timeout: float) -> list[Msg]:
    """Up to ``batch`` messages; none if nothing arrived within ``timeout``."""
    try:
        return await sub.fetch(batch, timeout=timeout)
    except TimeoutError:  # nats-py raises its own subclass or asyncio's, by path
        return []


async def publish_batch(
    js: JetStream, messages: list[tuple[str, bytes, str]], timeout: float = 10.0
) -> list[Published]:
    """Publish (subject, payload, msg_id) triples in order and wait for every ack.

    The publishes are pipelined (sent without waiting for each ack), which is
    what makes the relay fast; the call returns only when all are acked.
    """
    futures = [
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": msg_id})
        for subject, payload, msg_id in messages
    ]
    acks = await asyncio.wait_for(asyncio.gather(*futures), timeout)
    return [Published(stream=a.stream, seq=a.seq, duplicate=bool(a.duplicate)) for a in acks]


async def follow(
    js: JetStream, subject: str, *, from_start: bool, stop: asyncio.Event
) -> AsyncIterator[tuple[str, bytes]]:
    """(subject, payload) of each message on ``subject``, in stream order, until
    ``stop`` is set: an ephemeral ordered consumer, for people watching."""
    policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
    sub = await js.subscribe(subject, ordered_consumer=True,
                             config=ConsumerConfig(deliver_policy=policy))
    try:
        while not stop.is_set():
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            yield msg.subject, msg.data
    finally:
        await sub.unsubscribe()


async def replay(js: JetStream, subject: str, *, stop: asyncio.Event,
                 idle: float = 0.25) -> AsyncIterator[bytes | None]:
    """Every message on ``subject`` from the stream's start, in order, then the
    new ones, until ``stop`` is set: for a worker that folds a whole history.
    ``None`` is yielded whenever it has caught up (nothing pending) and then
    whenever ``idle`` seconds pass with nothing new."""
    sub = await js.subscribe(subject, ordered_consumer=True,
                             config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    try:
        while not stop.is_set():
            try:
                msg = await sub.next_msg(timeout=idle)
            except nats.errors.TimeoutError:
                yield None
                continue
            yield msg.data
            if msg.metadata.num_pending == 0:
                yield None
    finally:
        await sub.unsubscribe()
