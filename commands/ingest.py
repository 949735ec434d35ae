"""Turns hosts' reports (HostOutcome on NATS) into events in the log.

Recording is idempotent per request id (the domain ignores a report for an
operation that is no longer pending), so a redelivered report writes nothing.
The message is acked only after the event is committed.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from commands.instances import InstanceCommands
from domain.messages import HostOutcome, Subjects
from messaging import nats as bus
from messaging.consumer import ConsumerSpec, Delivery, consume

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(HostOutcome)


def _instance_of(_subject: str, data: bytes) -> str:
    try:
        return _decoder.decode(data).instance_id
    except msgspec.DecodeError:
        return ""


async def run(instances: InstanceCommands, nats_url: str, subjects: Subjects,
              stop: asyncio.Event) -> None:
    """Record outcomes until ``stop`` is set."""
    nc = await bus.connect(nats_url, name="nimbus-ingester")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js, subjects)

        async def handle(delivery: Delivery) -> None:
            try:
                outcome = _decoder.decode(delivery.data)
            except msgspec.DecodeError:
                log.error("dropping an undecodable outcome on %s", delivery.subject)
                return
            await asyncio.to_thread(instances.record_outcome, outcome)

        spec = ConsumerSpec(stream=subjects.outcomes_stream, durable="ingester",
                            filter_subject=subjects.all_outcomes())
        await consume(js, spec, handle, _instance_of, stop)
    finally:
        await nc.close()
    log.info("ingester stopped")
