"""The registry of aggregate kinds is the one list: every event belongs to exactly one kind."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest

from domain import codec, registry
from domain.base import Event, UnknownEvent
from messaging.wire import StepOutcome
from workers.hypervisor import disks
from workers.hypervisor import worker as hypervisor
from workers.storage import worker as storage


def _subclasses(cls: type[Event]) -> Iterator[type[Event]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_event_class_the_domain_defines_belongs_to_one_registered_kind() -> None:
    stored = {cls for cls in _subclasses(Event)
              if not cls.__subclasses__() and cls.__module__.startswith("domain.")}
    assert stored == set(registry.EVENT_TYPES.values())
    assert sum(len(kind.events) for kind in registry.KINDS.values()) == len(stored)


def test_a_kinds_events_all_name_that_kind() -> None:
    for name, kind in registry.KINDS.items():
        assert {cls.aggregate for cls in kind.events} == {name}


def test_the_codec_decodes_every_registered_event_type() -> None:
    for cls in registry.EVENT_TYPES.values():
        assert codec.EVENT_TYPES[cls.__name__] is cls


def test_the_workers_act_on_what_the_registry_gives_their_role() -> None:
    assert "InstancePauseRequested" in hypervisor.HANDLED
    assert {"VolumeExported", "VolumeDetachRequested"} == disks.HANDLED
    assert {
        "VolumeCreateRequested", "VolumeDeleteRequested", "VolumeAttachRequested",
        "VolumeUnexportRequested", "SnapshotCreateRequested", "SnapshotDeleteRequested",
        "BackupCreateRequested", "BackupDeleteRequested"} == storage.HANDLED
    assert not hypervisor.HANDLED & storage.HANDLED
    assert {cls.__name__ for cls in typing.get_args(storage.StorageWork)} == storage.HANDLED


def test_a_step_names_the_kind_of_aggregate_it_acted_on() -> None:
    assert registry.kind_of("SnapshotCreateRequested") is registry.SNAPSHOT
    assert registry.kind_of("VolumeExported") is registry.VOLUME
    assert registry.kind_of("BackupDeleteRequested") is registry.BACKUP


class Stranger(Event, frozen=True, kw_only=True):
    """An event of no kind."""


@pytest.mark.parametrize("name", sorted(registry.KINDS))
def test_every_fold_refuses_an_event_not_of_its_kind_naming_it(name: str) -> None:
    with pytest.raises(UnknownEvent, match=f"Stranger is not an event a {name} handles"):
        registry.KINDS[name].evolve(None, Stranger(at=datetime.now(UTC)), str(uuid4()))


def test_a_steps_report_names_its_kind_and_one_from_an_older_host_is_told_by_its_step(
) -> None:
    now = {"volume_id": "b-1", "request_id": "r", "host": "storage1", "ok": True,
           "at": "2026-12-01T12:00:00Z"}
    tagged = msgspec.json.decode(msgspec.json.encode(
        {**now, "kind": "backup", "step": "BackupCreateRequested"}), type=StepOutcome)
    older = msgspec.json.decode(msgspec.json.encode(
        {**now, "step": "SnapshotDeleteRequested"}), type=StepOutcome)
    assert (tagged.kind, tagged.aggregate_kind) == ("backup", "backup")
    assert (older.kind, older.aggregate_kind) == ("", "snapshot")
    unknown = msgspec.structs.replace(older, step="Teleported")
    assert unknown.aggregate_kind == ""  # the ingester drops it, as nothing pending matches
