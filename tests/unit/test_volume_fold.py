"""What a storage or compute host reads from the volume events: which exports
it owes and which disks its guests should have, at each step of an attach
and a detach (a step in flight is left to its own request)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from domain import volume as model
from messaging.wire import EventMessage
from workers import volume_fold
from workers.volume_fold import Guard, VolumeFold

NOW = datetime(2026, 12, 1, tzinfo=UTC)
VOLUME = "9d1c0b7e-0000-4000-8000-000000000001"


def message(position: int, event: model.VolumeEvent, volume_id: str = VOLUME) -> EventMessage:
    return EventMessage(id=f"{volume_id}:{position}", position=position, aggregate_id=volume_id,
                        version=position, type=type(event).__name__, event=event)


ATTACH = [
    model.VolumeCreateRequested(request_id="c", at=NOW, host="storage1", project_id="p",
                                user_id="u", name="", description="", size_gb=1,
                                volume_type="__DEFAULT__"),
    model.VolumeSucceeded(request_id="c", at=NOW),
    model.VolumeAttachRequested(request_id="a", at=NOW, host="storage1", server_id="s1",
                                compute_host="compute1", device="/dev/vdb"),
    model.VolumeExported(request_id="a", at=NOW, host="compute1", server_id="s1",
                         device="/dev/vdb", portal="127.0.0.1:3260",
                         iqn=f"iqn.2010-10.org.openstack:volume-{VOLUME}", lun=1),
    model.VolumeSucceeded(request_id="a", at=NOW),
]
DETACH = [
    model.VolumeDetachRequested(request_id="d", at=NOW, host="compute1", server_id="s1",
                                device="/dev/vdb"),
    model.VolumeUnexportRequested(request_id="d", at=NOW, host="storage1"),
    model.VolumeSucceeded(request_id="d", at=NOW),
]


def owed(events: list[model.VolumeEvent]) -> tuple[list[str], list[str]]:
    """(the exports storage1 owes, the disks compute1's guests should have) after ``events``."""
    fold = VolumeFold()
    for position, event in enumerate(events, start=1):
        fold.apply(message(position, event))
    return ([v.id for v in fold.exports_on("storage1")],
            [v.id for v in fold.disks_on("compute1")])


def test_an_attached_volume_is_owed_as_an_export_and_as_its_guests_disk() -> None:
    assert owed(ATTACH) == ([VOLUME], [VOLUME])
    fold = VolumeFold()
    for position, event in enumerate(ATTACH, start=1):
        fold.apply(message(position, event))
    assert fold.position == len(ATTACH)
    assert fold.exports_on("storage1", "s1") and not fold.exports_on("storage1", "s2")
    assert not fold.disks_on("compute2") and not fold.exports_on("storage2")


def test_steps_in_flight_are_left_to_their_requests() -> None:
    assert owed(ATTACH[:3]) == ([], [])  # the export itself is under way
    assert owed(ATTACH[:4]) == ([VOLUME], [])  # the disk is being added: export kept
    assert owed(ATTACH + DETACH[:1]) == ([VOLUME], [])  # the disk is being removed
    assert owed(ATTACH + DETACH[:2]) == ([], [])  # the export is ending
    assert owed(ATTACH + DETACH) == ([], [])  # detached: nothing owed


async def test_a_reconcile_goes_on_only_once_the_fold_read_what_the_consumer_handled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(volume_fold, "CATCH_UP_SECONDS", 0.05)
    fold = VolumeFold()
    guard = Guard(fold)
    for position, event in enumerate(ATTACH, start=1):
        await fold.read(message(position, event))
    await fold.read(None)
    detach = message(len(ATTACH) + 1, DETACH[0])
    async with guard.handling(VOLUME, msgspec.json.encode(detach)):
        pass  # the consumer removed the disk; the fold has not read that yet
    with pytest.raises(TimeoutError):
        async with guard.reconciling(VOLUME):
            pytest.fail("a reconcile went on with a fold behind the consumer")
    await fold.read(detach)
    async with guard.reconciling(VOLUME):
        assert fold.volumes[VOLUME].status is model.Status.DETACHING


def test_a_volume_whose_start_the_stream_lost_is_skipped_and_the_others_are_still_owed() -> None:
    other = "9d1c0b7e-0000-4000-8000-000000000002"
    fold = VolumeFold()
    for position, event in enumerate(ATTACH[2:], start=1):  # no creation: a cut stream
        fold.apply(message(position, event, other))
    for position, event in enumerate(ATTACH, start=10):
        fold.apply(message(position, event))
    assert [v.id for v in fold.exports_on("storage1")] == [VOLUME]
    assert fold.unknown == {other}
    assert fold.position == 10 + len(ATTACH) - 1
