"""The consumer runtime every NATS-driven worker shares.

A durable pull consumer fetches in batches; each message is handed to a
handler as raw bytes with a key (an instance id, say). Messages with the
same key are handled one after another, in stream order; different keys run
in parallel. A message is acked only after its handler returned (one that
runs long is kept in progress meanwhile). A handler
that raises gets its message naked with a delay, so JetStream redelivers it
(up to ``max_deliver`` times); while a key waits for a redelivery, its later
messages are naked too, so they never overtake it.

Each process counts its consumers' redeliveries and naks for /metrics
(``nimbus_consumer_redeliveries_total``, ``nimbus_consumer_naks_total``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec
from prometheus_client import Counter

from messaging.nats import JetStream, Msg, fetch, pull_subscription
from messaging.wire import EventHeader

log = logging.getLogger(__name__)

REDELIVERIES = Counter("nimbus_consumer_redeliveries",
                       "Messages handed to a handler again after an earlier delivery",
                       ["consumer"])
NAKS = Counter("nimbus_consumer_naks", "Messages naked for redelivery: the handler failed"
               " (failed) or an earlier message of the same key goes first (ordered)",
               ["consumer", "reason"])


class TransientError(Exception):
    """The handler could not finish now but may later (host or network down)."""


class Delivery(msgspec.Struct, frozen=True):
    """One message as a handler sees it."""

    subject: str
    data: bytes
    key: str
    attempt: int  # 1 on first delivery


class ConsumerSpec(msgspec.Struct, frozen=True, kw_only=True):
    stream: str
    durable: str
    filter_subject: str
    batch: int = 64
    max_deliver: int = 20
    nak_delay: float = 1.0  # seconds before a failed message comes back
    ack_wait: float = 30.0  # a handler must finish within this
    max_in_flight: int = 256


Handler = Callable[[Delivery], Awaitable[None]]
KeyOf = Callable[[str, bytes], str]


def aggregate_key(_subject: str, data: bytes) -> str:
    """The key of an ``EventMessage``: a worker handles one aggregate's requests
    in order, one at a time."""
    return msgspec.json.decode(data, type=EventHeader).aggregate_id


class Consumer:
    """Runs ``handler`` over a durable consumer until ``stop`` is set."""

    def __init__(self, js: JetStream, spec: ConsumerSpec, handler: Handler, key_of: KeyOf) -> None:
        self._js = js
        self._spec = spec
        self._handler = handler
        self._key_of = key_of
        self._lanes: dict[str, deque[Msg]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._blocked: dict[str, int] = {}  # key -> stream seq that must be handled first
        self._in_flight = 0
        self._room = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        spec = self._spec
        sub = await pull_subscription(
            self._js,
            stream=spec.stream,
            durable=spec.durable,
            filter_subject=spec.filter_subject,
            max_deliver=spec.max_deliver,
            ack_wait=spec.ack_wait,
            max_ack_pending=spec.max_in_flight,
        )
        try:
            while not stop.is_set():
                room = spec.max_in_flight - self._in_flight
                if room <= 0:
                    self._room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room.wait(), 0.5)
                    continue
                try:
                    msgs = await fetch(sub, min(spec.batch, room), timeout=0.5)
                except Exception:  # e.g. disconnected: the client reconnects by itself
                    log.warning("fetch from %s failed; trying again", spec.durable, exc_info=True)
                    await asyncio.sleep(spec.nak_delay)
                    continue
                for msg in msgs:
                    self._dispatch(msg)
            if self._tasks:
                await asyncio.gather(*self._tasks)
        finally:
            await sub.unsubscribe()

    def _dispatch(self, msg: Msg) -> None:
        try:
            key = self._key_of(msg.subject, msg.data)
        except Exception:
            log.exception("no key for a message on %s; handling it unordered", msg.subject)
            key = f"?{msg.metadata.sequence.stream}"
        self._in_flight += 1
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(msg)
            return
        self._lanes[key] = deque([msg])
        task = asyncio.create_task(self._drain(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: str) -> None:
        lane = self._lanes[key]
        while lane:
            msg = lane.popleft()
            try:
                await self._settle(key, msg)
            except Exception:  # acking failed (connection lost): it will be redelivered
                log.exception("could not ack or nak a message on %s", msg.subject)
            finally:
                self._in_flight -= 1
                self._room.set()
        del self._lanes[key]

    async def _settle(self, key: str, msg: Msg) -> None:
        meta = msg.metadata
        seq, attempt = meta.sequence.stream, meta.num_delivered
        blocked = self._blocked.get(key)
        durable = self._spec.durable
        if attempt > 1:
            REDELIVERIES.labels(durable).inc()
        if blocked is not None and seq > blocked:
            NAKS.labels(durable, "ordered").inc()
            await msg.nak(delay=self._spec.nak_delay)  # an earlier message goes first
            return
        beating = asyncio.create_task(self._in_progress(msg))
        try:
            await self._handler(Delivery(msg.subject, msg.data, key, attempt))
        except Exception as error:
            self._fail(key, seq, attempt, msg.subject, error)
            NAKS.labels(durable, "failed").inc()
            await msg.nak(delay=self._spec.nak_delay)
            return
        finally:
            beating.cancel()
        self._blocked.pop(key, None)
        await msg.ack()

    async def _in_progress(self, msg: Msg) -> None:
        """While a handler runs longer than a third of ``ack_wait`` (a live
        migration's copy), tell JetStream it is still being worked on, so it
        is redelivered only once its worker is gone."""
        while True:
            await asyncio.sleep(self._spec.ack_wait / 3)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    def _fail(self, key: str, seq: int, attempt: int, subject: str, error: Exception) -> None:
        last = attempt >= self._spec.max_deliver
        if last:
            self._blocked.pop(key, None)
            log.error(
                "giving up on %s (stream seq %d, key %s) after %d deliveries: %r",
                subject, seq, key, attempt, error,
            )
        else:
            self._blocked[key] = seq
            if isinstance(error, TransientError):
                log.warning("retrying %s (key %s, attempt %d): %s", subject, key, attempt, error)
            else:
                log.error(
                    "handler failed on %s (key %s, attempt %d)", subject, key, attempt,
                    exc_info=error,
                )


async def consume(
    js: JetStream, spec: ConsumerSpec, handler: Handler, key_of: KeyOf, stop: asyncio.Event
) -> None:
    """Handle the messages of ``spec``'s durable consumer until ``stop`` is set."""
    await Consumer(js, spec, handler, key_of).run(stop)
