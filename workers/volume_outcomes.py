"""How a host takes one step of a volume, snapshot or backup operation and
reports it (storage and hypervisor workers alike).

``take_step`` decodes a delivery, skips events the host does not handle,
does the work off the event loop, and publishes a ``StepOutcome`` on the
host's volume-outcome subject (deduplicated by request, id and step) before
the message may be acked: a transient fault raises ``TransientError`` (the
message comes back later), a permanent one is reported with ``ok=False``.
Each step is logged once reported, with its request id and log position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from domain import log_context
from domain import volume as model
from domain.backup import BackupEvent
from domain.clock import Clock, system_clock
from domain.snapshot import SnapshotEvent
from messaging.consumer import Delivery, TransientError
from messaging.nats import JetStream, publish
from messaging.subjects import Subjects
from messaging.wire import EventHeader, EventMessage, StepOutcome

log = logging.getLogger(__name__)

Request = model.VolumeEvent | SnapshotEvent | BackupEvent


class StepDone(msgspec.Struct, frozen=True, kw_only=True):
    """What a step leaves to report besides success."""

    target: model.Target | None = None  # after an export
    checksum: str = ""  # after a backup
    stored_bytes: int = 0


Work = Callable[[str, Request], StepDone | None]  # (aggregate id, request) -> what to report


async def take_step(
    js: JetStream, subjects: Subjects, host: str, delivery: Delivery, handled: frozenset[str],
    work: Work, *, transient: type[Exception], permanent: type[Exception],
    clock: Clock = system_clock,
) -> None:
    header = msgspec.json.decode(delivery.data, type=EventHeader)
    if header.type not in handled:
        return
    message = msgspec.json.decode(delivery.data, type=EventMessage)
    request = message.event
    assert isinstance(request, Request)
    with log_context.bound(request_id=request.request_id, position=message.position):
        await _take(js, subjects, host, message, request, work, transient=transient,
                    permanent=permanent, clock=clock)


async def _take(
    js: JetStream, subjects: Subjects, host: str, message: EventMessage, request: Request,
    work: Work, *, transient: type[Exception], permanent: type[Exception], clock: Clock,
) -> None:
    reason, done = "", None
    try:
        done = await asyncio.to_thread(work, message.aggregate_id, request)
    except transient as error:
        raise TransientError(str(error)) from error
    except permanent as error:
        log.warning("%s: %s failed: %s", host, message.type, error)
        reason = str(error)
    done = done or StepDone()
    outcome = StepOutcome(
        kind=request.aggregate,
        aggregate_id=message.aggregate_id, request_id=request.request_id, step=message.type,
        host=host, ok=not reason, at=clock(), reason=reason, target=done.target,
        checksum=done.checksum, stored_bytes=done.stored_bytes)
    await publish(js, subjects.volume_outcome(host), msgspec.json.encode(outcome),
                  msg_id=f"{request.request_id}:{message.aggregate_id}:{message.type}")
    log.info("%s: %s of %s %s %s, outcome sent", host, message.type, request.aggregate,
             message.aggregate_id, "failed" if reason else "done")
