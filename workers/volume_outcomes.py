"""How a host reports one step of a volume or snapshot operation (storage and
hypervisor workers alike): a ``VolumeOutcome`` on the host's volume-outcome
subject, deduplicated by request, volume and step."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from domain import volume as model
from domain.backup import BackupEvent
from domain.messages import EventMessage, Subjects, VolumeOutcome
from domain.snapshot import SnapshotEvent
from messaging.nats import JetStream, publish


async def report_volume_step(
    js: JetStream, subjects: Subjects, host: str, message: EventMessage,
    request: model.VolumeEvent | SnapshotEvent | BackupEvent, *, reason: str = "",
    target: model.Target | None = None, checksum: str = "", stored_bytes: int = 0,
) -> None:
    """Publish ``host``'s outcome of the step ``message`` asked for."""
    volume_id, request_id = message.aggregate_id, request.request_id
    outcome = VolumeOutcome(volume_id=volume_id, request_id=request_id, step=message.type,
                            host=host, ok=not reason, at=datetime.now(UTC), reason=reason,
                            target=target, checksum=checksum, stored_bytes=stored_bytes)
    await publish(js, subjects.volume_outcome(host), msgspec.json.encode(outcome),
                  msg_id=f"{request_id}:{volume_id}:{message.type}")
