"""The deadline sweeper on real PostgreSQL: candidates from the views, the
write path's decision, a set clock instead of waiting for the deadline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import psycopg
import pytest

from commands.deadlines import Deadlines
from commands.messages import BootInstance, Caller, PauseInstance
from commands.services import Commands
from commands.volumes import AttachVolume, CreateVolume
from domain import server_disks
from domain.registry import DISKS
from domain.volume import Target
from messaging.wire import HostOutcome, StepOutcome
from projections.overdue import overdue
from tests.service.test_projector import project_all
from tests.support.clock import SetClock
from tests.support.cloud import IMAGE, events_of, open_cloud

ADMIN = Caller(user_id="u", project_id="p", is_admin=True)
DEADLINE = 300
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Cloud:
    """The command side on a set clock, its views, and a sweeper on the same clock."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.clock = SetClock(START)
        self.commands: Commands = open_cloud(database_url, ["compute1"])
        self.commands.app.clock = self.clock
        self.sweeper = Deadlines(self.commands.app, self.candidates,
                                 deadline_seconds=DEADLINE, clock=self.clock)

    def candidates(self, before: datetime) -> list[tuple[str, UUID]]:
        self.project()
        return [(c.kind, c.aggregate_id) for c in overdue(self.url, before)]

    def project(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            project_all(conn)

    def row(self, table: str, aggregate_id: str, *columns: str) -> tuple[object, ...]:
        self.project()
        with psycopg.connect(self.url, autocommit=True) as conn:
            found = conn.execute(f"SELECT {', '.join(columns)} FROM views.{table}"
                                 " WHERE id = %s", (aggregate_id,)).fetchone()
        assert found is not None
        return tuple(found)

    def boot(self, request_id: str) -> str:
        return self.commands.instances.boot(BootInstance(
            request_id=request_id, caller=ADMIN, name=request_id, flavor_ref="1",
            image_ref=IMAGE)).instance_id

    def answer(self, server_id: str, request_id: str, ok: bool = True) -> int | None:
        return self.commands.instances.record_outcome(HostOutcome(
            instance_id=server_id, request_id=request_id, host="compute1", ok=ok,
            at=self.clock(), reason="" if ok else "refused"))


@pytest.fixture
def cloud(database_url: str) -> Iterator[Cloud]:
    made = Cloud(database_url)
    yield made
    made.commands.close()


def test_a_boot_no_host_answers_is_in_error_once_its_deadline_passed(cloud: Cloud) -> None:
    server = cloud.boot("r-boot")
    cloud.clock.advance(DEADLINE - 1)
    assert cloud.sweeper.sweep() == []
    assert cloud.row("instances", server, "status") == ("BUILD",)

    cloud.clock.advance(1)
    assert cloud.sweeper.sweep() == [UUID(server)]
    assert cloud.row("instances", server, "status", "task_state", "fault") == (
        "ERROR", None, "no answer from host compute1 within 300 s")
    assert cloud.sweeper.sweep() == []  # once only


def test_a_late_host_answer_after_the_deadline_changes_nothing(cloud: Cloud) -> None:
    server = cloud.boot("r-boot")
    cloud.clock.advance(DEADLINE)
    cloud.sweeper.sweep()
    before = events_of(cloud.url, server)

    assert cloud.answer(server, "r-boot") is None
    assert events_of(cloud.url, server) == before
    assert cloud.row("instances", server, "status") == ("ERROR",)


def test_a_pause_no_host_answers_is_active_again_with_its_action_failed(cloud: Cloud) -> None:
    server = cloud.boot("r-boot")
    cloud.answer(server, "r-boot")
    cloud.commands.instances.act(PauseInstance(request_id="r-pause", caller=ADMIN,
                                               instance_id=server))
    assert cloud.row("instances", server, "status", "task_state") == ("ACTIVE", "pausing")

    cloud.clock.advance(DEADLINE)
    assert cloud.sweeper.sweep() == [UUID(server)]
    assert cloud.row("instances", server, "status", "task_state") == ("ACTIVE", None)
    with psycopg.connect(cloud.url) as conn:
        action = conn.execute("SELECT result, message FROM views.instance_actions"
                              " WHERE request_id = 'r-pause'").fetchone()
    assert action == ("Error", "no answer from host compute1 within 300 s")


def test_the_deadline_runs_from_the_request_not_from_the_boot(cloud: Cloud) -> None:
    server = cloud.boot("r-boot")
    cloud.answer(server, "r-boot")
    cloud.clock.advance(DEADLINE * 2)
    cloud.commands.instances.act(PauseInstance(request_id="r-pause", caller=ADMIN,
                                               instance_id=server))
    cloud.clock.advance(DEADLINE - 1)
    assert cloud.sweeper.sweep() == []
    assert cloud.row("instances", server, "task_state") == ("pausing",)


def test_an_attach_no_compute_host_answers_leaves_the_volume_available(cloud: Cloud) -> None:
    server = cloud.boot("r-boot")
    cloud.answer(server, "r-boot")
    volumes = cloud.commands.volumes
    volume = volumes.create(CreateVolume(request_id="r-vol", caller=ADMIN, size_gb=1)).state
    storage = partial(StepOutcome, kind="volume", aggregate_id=volume.id,
                      host="storage1", ok=True)
    volumes.record_outcome(storage(request_id="r-vol", step="VolumeCreateRequested",
                                   at=cloud.clock()))
    volumes.attach(AttachVolume(request_id="r-att", caller=ADMIN, server_id=server,
                                volume_id=volume.id))
    volumes.record_outcome(storage(request_id="r-att", step="VolumeAttachRequested",
                                   at=cloud.clock(), target=Target(portal="127.0.0.1:3260",
                                                 iqn=f"iqn.x:volume-{volume.id}", lun=1)))
    assert cloud.row("volumes", volume.id, "status", "pending_kind") == (
        "attaching", "VolumeExported")  # the compute host's step, never answered

    cloud.clock.advance(DEADLINE)
    assert cloud.sweeper.sweep() == [UUID(volume.id)]
    assert cloud.row("volumes", volume.id, "status", "server_id", "fault") == (
        "available", None, "no answer from host compute1 within 300 s")
    disks = cloud.commands.app.load_or_new(server_disks.server_disks_id(server), DISKS)
    assert disks.state.devices == {}  # the device it reserved is free again


def test_only_operations_pending_longer_than_the_deadline_are_candidates(cloud: Cloud) -> None:
    old, answered = cloud.boot("r-old"), cloud.boot("r-answered")
    cloud.answer(answered, "r-answered")
    cloud.clock.advance(DEADLINE)
    cloud.boot("r-young")
    assert cloud.candidates(cloud.clock() - timedelta(seconds=DEADLINE)) == [
        ("instance", UUID(old))]
