"""The event store on real PostgreSQL: versions, conflicts, idempotency, global order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from commands.messages import (
    BootInstance,
    Caller,
    DeleteInstance,
    PauseInstance,
    UnpauseInstance,
)
from commands.services import Commands
from domain import events as ev
from domain import instance as model
from domain.base import Pending
from domain.errors import NotFound
from messaging.wire import HostOutcome
from projections.log import read_after
from tests.support.cloud import IMAGE, ROOMY, events_of, open_cloud

ALICE = Caller(user_id="u-alice", project_id="p-alice")


@pytest.fixture
def app(database_url: str) -> Iterator[Commands]:
    application = open_cloud(database_url, ["h1"])
    yield application
    application.close()


def boot(app: Commands, request_id: str, caller: Caller = ALICE) -> str:
    accepted = app.instances.boot(BootInstance(request_id=request_id, caller=caller, name="vm",
                                     flavor_ref="1", image_ref=IMAGE))
    return accepted.instance_id


def spawned(app: Commands, instance_id: str, request_id: str) -> None:
    app.instances.record_outcome(HostOutcome(
        instance_id=instance_id, request_id=request_id, host="h1", ok=True, at=datetime.now(UTC)))


def test_saving_over_a_version_someone_else_saved_first_is_a_conflict(
    app: Commands,
) -> None:
    instance_id = boot(app, "r-boot")
    spawned(app, instance_id, "r-boot")
    mine, theirs = (app.app.load(UUID(instance_id)) for _ in range(2))
    assert mine is not None and theirs is not None and mine.state is not None
    for copy, rid in ((theirs, "r-theirs"), (mine, "r-mine")):
        assert copy.state is not None
        copy.record(model.request(copy.state, ev.InstancePauseRequested, request_id=rid,
                                  at=datetime.now(UTC), user_id="u"))
    app.app.save(theirs)
    with pytest.raises(IntegrityError):
        app.app.save(mine)
    assert app.instances.instance(instance_id, ALICE).pending == Pending(
        "r-theirs", ev.InstancePauseRequested)


def test_racing_pause_commands_start_exactly_one_pause(
    app: Commands, database_url: str
) -> None:
    instance_id = boot(app, "r-boot")
    spawned(app, instance_id, "r-boot")
    outcomes: list[str] = []

    def pause(n: int) -> None:
        try:
            app.instances.act(
                PauseInstance(request_id=f"r-p{n}", caller=ALICE, instance_id=instance_id))
            outcomes.append("accepted")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=pause, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # exactly one pause can start; the others see it pending and are refused
    assert outcomes.count("accepted") == 1
    assert set(outcomes) == {"accepted", "InvalidState"}
    assert [e.version for e in events_of(database_url, instance_id)] == [1, 2, 3]


def test_a_repeated_request_id_returns_the_first_result_and_writes_nothing(
    app: Commands, database_url: str
) -> None:
    instance_id = boot(app, "r-boot")
    spawned(app, instance_id, "r-boot")
    pause = PauseInstance(request_id="r-pause", caller=ALICE, instance_id=instance_id)
    first = app.instances.act(pause)
    again = app.instances.act(pause)
    assert first.position is not None and again.position is None
    assert boot(app, "r-boot") == instance_id
    assert [e.event_type for e in events_of(database_url, instance_id)] == [
        "InstanceCreateRequested", "InstanceSpawned", "InstancePauseRequested"]


def test_a_repeated_delete_of_an_instance_gone_since_is_answered_as_the_first(
    app: Commands, database_url: str
) -> None:
    instance_id = boot(app, "r-boot")
    spawned(app, instance_id, "r-boot")
    delete = DeleteInstance(request_id="r-del", caller=ALICE, instance_id=instance_id)
    assert app.instances.act(delete).position is not None
    spawned(app, instance_id, "r-del")  # the host reports it deleted
    again = app.instances.act(delete)
    assert (again.position, again.instance_id, again.state.vm_state) == (
        None, instance_id, model.VmState.DELETED)
    with pytest.raises(NotFound):
        app.instances.act(DeleteInstance(request_id="r-del-2", caller=ALICE,
                                         instance_id=instance_id))
    assert len(events_of(database_url, instance_id)) == 4


def test_another_projects_instance_cannot_be_seen_or_touched(app: Commands) -> None:
    instance_id = boot(app, "r-boot")
    mallory = Caller(user_id="u-m", project_id="p-m")
    with pytest.raises(NotFound):
        app.instances.act(
            UnpauseInstance(request_id="r-x", caller=mallory, instance_id=instance_id))
    with pytest.raises(NotFound):
        app.instances.instance(instance_id, mallory)
    assert app.instances.instance(instance_id, Caller(user_id="a", project_id="x", is_admin=True))


def test_a_follower_sees_every_event_of_many_concurrent_writers_once_in_order(
    database_url: str,
) -> None:
    writers, per_writer = 6, 40
    committed: list[int] = []
    done = threading.Event()
    seen: list[int] = []

    def write(w: int) -> None:
        writer = Caller(user_id=f"u{w}", project_id=f"p{w}")
        app = Commands.open(database_url, ["h1"], limits=ROOMY)
        try:
            for n in range(per_writer):
                accepted = app.instances.boot(BootInstance(request_id=f"w{w}-{n}", caller=writer,
                                                 name="vm", flavor_ref="1", image_ref=IMAGE))
                assert accepted.position is not None
                committed.append(accepted.position)
        finally:
            app.close()

    def follow() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            position = 0
            while True:
                finished = done.is_set()  # read before, so the last batch is not missed
                entries = read_after(conn, position, 50)
                seen.extend(e.position for e in entries)
                if entries:
                    position = entries[-1].position
                elif finished:
                    return

    open_cloud(database_url, ["h1"], limits=ROOMY).close()
    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    follower.join(timeout=60)
    assert len(committed) == writers * per_writer
    with psycopg.connect(database_url) as conn:
        stored = [e.position for e in read_after(conn, 0, 1_000_000)]
    # every committed event, once, in log order (a boot commits several events;
    # a transaction that lost a race leaves a gap in the numbers, never a hole)
    assert seen == stored
    assert set(committed) <= set(seen)


def test_one_query_brings_several_aggregates_up_to_date_from_the_versions_held(
    app: Commands,
) -> None:
    first, second = boot(app, "r-one"), boot(app, "r-two")
    spawned(app, first, "r-one")
    never = UUID(int=7)
    recorder = app.app._recorder
    found = recorder.select_after([(UUID(first), 1), (UUID(second), 0), (never, 0)])
    assert [(UUID(str(s.originator_id)), s.originator_version) for s in found] == sorted(
        [(UUID(first), 2), (UUID(second), 1)])
    fetched = app.app._stored_many([UUID(first), UUID(second), never])
    held_first, held_second = fetched[UUID(first)], fetched[UUID(second)]
    assert fetched[never] is None
    assert held_first is not None and held_first.version == 2
    assert held_first.state.vm_state == model.VmState.ACTIVE
    assert held_second is not None and held_second.version == 1


def test_an_append_is_one_statement_that_answers_each_event_with_its_log_position(
    app: Commands, database_url: str,
) -> None:
    instance_id = boot(app, "r-boot")
    with psycopg.connect(database_url) as conn:
        before = conn.execute("SELECT max(notification_id) FROM nimbus_events").fetchone()
    assert before is not None
    position = app.instances.record_outcome(HostOutcome(
        instance_id=instance_id, request_id="r-boot", host="h1", ok=True, at=datetime.now(UTC)))
    assert position == before[0] + 1
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT originator_id, originator_version FROM nimbus_events"
                           " WHERE notification_id = %s", (position,)).fetchone()
    assert row == (UUID(instance_id), 2)
