"""A host's report on a step says which kind of aggregate it acted on."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from domain.snapshot import SnapshotCreateRequested
from messaging.consumer import Delivery
from messaging.nats import connect, delete_streams, ensure_streams
from messaging.subjects import Subjects
from messaging.wire import EventMessage, StepOutcome
from workers.volume_outcomes import StepDone, take_step


async def test_a_snapshot_step_is_reported_with_its_kind(nats_url: str,
                                                         subject_prefix: str) -> None:
    subjects = Subjects(subject_prefix)
    nc = await connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, subjects)
    try:
        reports = await nc.subscribe(subjects.volume_outcome("storage1"))
        event = SnapshotCreateRequested(
            request_id="r-snap", at=datetime.now(UTC), host="storage1", volume_id="v-1",
            project_id="p", user_id="u", name="s", description="", size_gb=1)
        message = EventMessage(id="s-1:1", position=1, aggregate_id="s-1", version=1,
                               type="SnapshotCreateRequested", event=event)
        delivery = Delivery(subject="any", data=msgspec.json.encode(message), key="s-1",
                            attempt=1)
        await take_step(js, subjects, "storage1", delivery,
                        frozenset({"SnapshotCreateRequested"}), lambda _id, _r: StepDone(),
                        transient=ConnectionError, permanent=ValueError)
        report = msgspec.json.decode((await reports.next_msg(timeout=5)).data, type=StepOutcome)
        assert (report.kind, report.aggregate_id, report.step, report.ok) == (
            "snapshot", "s-1", "SnapshotCreateRequested", True)
    finally:
        await delete_streams(js, subjects)
        await nc.close()
