"""A view that meets an event it cannot apply stops there, loudly and alone.

The bad events are written as an operator's tool, an older API or a newer
nimbus could have written them: straight into the event store through the
write side's own aggregates, past every check at the API's edge. The views
that can apply them, and every later event, keep being applied; the stuck
view is named (the view_faults table, one error in the log, /readyz), and
a replay refuses to swap in views that cannot reach the log head.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from commands.application import NimbusApplication
from commands.catalog import ensure_defaults
from commands.flavors import NewFlavor
from commands.messages import BootInstance, Caller
from commands.quotas import SetQuotaLimits
from commands.services import Commands
from domain import events as ev
from domain import flavor as flavor_model
from domain import quota
from domain.base import Event
from projections import projector
from projections import replay as rebuild
from projections.log import head
from projections.projector import catch_up
from tests.support.polling import eventually, eventually_sync
from tests.support.stack import stack_running

REPO = Path(__file__).resolve().parents[2]
NIMBUS = str(REPO / ".venv" / "bin" / "nimbus")
ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)
USER = Caller(user_id="u", project_id="p")
NUL_NAME = "vm\x00evil"
# what the database says of the row (its text goes to it in binary: projections/upsert.py)
NUL_REFUSED = 'invalid byte sequence for encoding "UTF8": 0x00'
Conn = psycopg.Connection[tuple[Any, ...]]


def record(app: NimbusApplication, aggregate_id: UUID, kind: str, event: Event) -> int:
    """Append ``event`` as any writer of the store could, past every decision;
    the log position it got."""
    aggregate = app.load_or_new(aggregate_id, kind)
    aggregate.record(event)
    position = app.commit(aggregate)
    assert position is not None
    return position


def instance_named(app: NimbusApplication, name: str) -> tuple[UUID, int]:
    """A boot request for an instance called ``name``: its id and log position."""
    instance_id = uuid4()
    event = ev.InstanceCreateRequested(
        at=datetime.now(UTC), request_id=f"boot-{instance_id}", host="h1", user_id="u",
        project_id="p", name=name, flavor_id="1", image_ref="cirros-0.6.2-x86_64-disk",
        vcpus=1, memory_mb=512, disk_gb=1)
    return instance_id, record(app, instance_id, ev.InstanceEvent.aggregate, event)


def quota_limit(app: NimbusApplication, project_id: str, **limits: int) -> int:
    event = quota.QuotaLimitsSet(at=datetime.now(UTC), project_id=project_id,
                                 request_id=f"quota-{uuid4()}", limits=limits)
    return record(app, quota.quota_id(project_id), quota.QuotaEvent.aggregate, event)


def boot(commands: Commands, name: str) -> str:
    return commands.instances.boot(BootInstance(
        request_id=f"boot-{name}", caller=USER, name=name, flavor_ref="1",
        image_ref="cirros-0.6.2-x86_64-disk")).instance_id


def flavor(commands: Commands, name: str) -> None:
    commands.flavors.create(NewFlavor(name=name, vcpus=1, ram=64, disk=1, flavor_id=name),
                            ADMIN, f"flavor-{name}")


@pytest.fixture
def commands(database_url: str) -> Iterator[Commands]:
    opened = Commands.open(database_url, ["h1"])
    ensure_defaults(opened.flavors, opened.images)
    try:
        yield opened
    finally:
        opened.close()


def project_all(conn: Conn) -> None:
    while catch_up(conn):
        pass


def faults(conn: Conn, schema: str = "views") -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT view, position, event_type, aggregate_id, error"
                        f" FROM {schema}.view_faults ORDER BY view").fetchall()


def names(conn: Conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM views.instances").fetchall()}


def flavors(conn: Conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM views.flavors").fetchall()}


def test_an_instance_named_with_a_nul_byte_stops_the_instances_view_at_its_position_alone(
    database_url: str, commands: Commands,
) -> None:
    boot(commands, "before")
    bad_id, bad_position = instance_named(commands.app, NUL_NAME)
    flavor(commands, "after")
    commands.quotas.set_limits(SetQuotaLimits(request_id="q", project_id="p",
                                              limits={"instances": 20}))
    after_id = boot(commands, "after")
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        assert faults(conn) == [("instances", bad_position, "InstanceCreateRequested", bad_id,
                                 NUL_REFUSED)]
        assert names(conn) == {"before"}  # as of the event it cannot apply
        assert "after" in flavors(conn)
        assert conn.execute("SELECT hard_limit FROM views.quota_limits WHERE project_id = 'p'"
                            " AND resource = 'instances'").fetchone() == (20,)
        claimants = {str(r[0]) for r in conn.execute(
            "SELECT instance_id FROM views.quota_claims").fetchall()}
        assert after_id in claimants
        assert conn.execute("SELECT position FROM views.tracking").fetchone() == (head(conn),)


def test_a_quota_limit_beyond_the_views_integers_stops_the_quotas_view_while_instances_go_on(
    database_url: str, commands: Commands,
) -> None:
    bad_position = quota_limit(commands.app, "p", instances=2**31)
    boot(commands, "after")
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        [(view, position, event_type, aggregate_id, error)] = faults(conn)
        assert (view, position, event_type) == ("quotas", bad_position, "QuotaLimitsSet")
        assert aggregate_id == quota.quota_id("p")
        assert "out of range" in error
        assert names(conn) == {"after"}
        assert conn.execute("SELECT count(*) FROM views.quota_claims").fetchone() == (0,)


def test_a_flavor_name_too_big_for_its_index_stops_the_flavors_view_alone(
    database_url: str, commands: Commands,
) -> None:
    """PostgreSQL files this under "program limit exceeded" (an OperationalError):
    it is the event's value all the same, and retrying cannot help."""
    huge = base64.b64encode(os.urandom(30_000)).decode()  # incompressible
    event = flavor_model.FlavorCreated(at=datetime.now(UTC), request_id="huge",
                                       flavor_id="huge", name=huge, vcpus=1, ram=64, disk=1)
    bad_position = record(commands.app, flavor_model.aggregate_id("huge"),
                          flavor_model.FlavorEvent.aggregate, event)
    boot(commands, "after")
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        [(view, position, event_type, _, error)] = faults(conn)
        assert (view, position, event_type) == ("flavors", bad_position, "FlavorCreated")
        assert error.startswith("index row requires")
        assert names(conn) == {"after"}


def test_an_event_no_view_can_decode_stops_every_view_at_its_position(
    database_url: str, commands: Commands,
) -> None:
    """A newer nimbus's event: no view knows whether it is theirs, so none skips it."""
    boot(commands, "before")
    with psycopg.connect(database_url, autocommit=True) as conn:
        unknown = conn.execute(
            "INSERT INTO nimbus_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, 1, 'domain.events:InstanceTeleported', '{}') RETURNING notification_id",
            (uuid4(),)).fetchone()
        assert unknown is not None
        boot(commands, "after")
        project_all(conn)
        stuck = faults(conn)
        assert {f[0] for f in stuck} == {p.name for p in projector.PROJECTIONS}
        assert {(f[1], f[2]) for f in stuck} == {(unknown[0], "InstanceTeleported")}
        assert all("unknown event topic" in f[4] for f in stuck)
        assert names(conn) == {"before"}


def test_a_lock_timeout_rolls_the_batch_back_and_marks_no_view_stuck(
    database_url: str, commands: Commands,
) -> None:
    boot(commands, "vm1")
    with (psycopg.connect(database_url, autocommit=True) as conn,
          psycopg.connect(database_url) as blocker):
        blocker.execute("LOCK TABLE views.instances IN ACCESS EXCLUSIVE MODE")
        conn.execute("SET lock_timeout = '50ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            catch_up(conn)
        assert faults(conn) == []
        assert conn.execute("SELECT count(*) FROM views.tracking WHERE position > 0"
                            ).fetchone() == (0,)
        blocker.rollback()
        project_all(conn)
        assert faults(conn) == [] and names(conn) == {"vm1"}


def caught_up_to_head(database_url: str, timeout: float = 30) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        eventually_sync(
            lambda: conn.execute("SELECT position FROM views.tracking").fetchone()
            == (head(conn),), timeout=timeout, what="the projector reaching the log head")


def test_a_running_projector_reports_a_stuck_view_once_and_does_not_retry_it(
    database_url: str, commands: Commands, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=projector.__name__)
    stop = threading.Event()
    running = threading.Thread(target=projector.run, args=(database_url, stop))
    running.start()
    try:
        _, bad_position = instance_named(commands.app, NUL_NAME)
        boot(commands, "after")
        caught_up_to_head(database_url)
        for n in range(3):  # later batches, each meeting the stuck view again
            flavor(commands, f"later{n}")
            boot(commands, f"later{n}")
            caught_up_to_head(database_url)
    finally:
        stop.set()
        running.join(30)
    reported = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in reported] == ["ERROR"], [r.getMessage() for r in reported]
    message = reported[0].getMessage()
    assert "instances" in message and f"position {bad_position}" in message
    assert "InstanceCreateRequested" in message and "0x00" in message
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert [f[:2] for f in faults(conn)] == [("instances", bad_position)]
        assert {"later0", "later1", "later2"} <= flavors(conn)


def schema_oid(conn: Conn, schema: str) -> int | None:
    row = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return None if row is None else int(row[0])


def test_replay_fails_naming_the_stuck_view_and_swaps_nothing(
    database_url: str, commands: Commands,
) -> None:
    _, bad_position = instance_named(commands.app, NUL_NAME)
    boot(commands, "after")
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        live = schema_oid(conn, "views")
        with pytest.raises(rebuild.ReplayFailed) as failed:
            rebuild.replay(database_url)
        assert [(f.view, f.position) for f in failed.value.faults] == [
            ("instances", bad_position)]
        message = str(failed.value)
        assert f"instances cannot apply log position {bad_position}" in message
        assert "0x00" in message and "nothing was swapped" in message
        assert schema_oid(conn, "views") == live
        assert schema_oid(conn, rebuild.NEXT_SCHEMA) is None
        assert [f[:2] for f in faults(conn)] == [("instances", bad_position)]


def test_nimbus_replay_exits_non_zero_naming_the_stuck_view(
    database_url: str, commands: Commands, tmp_path: Path,
) -> None:
    """Even when no projector has run: replay itself goes to the log head."""
    bad_position = quota_limit(commands.app, "p", cores=2**40)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_DATABASE_URL=database_url, NIMBUS_STATE_DIR=str(tmp_path))
    ran = subprocess.run([NIMBUS, "replay"], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert ran.returncode == 1, ran
    assert "equal" not in ran.stdout
    [line] = ran.stderr.splitlines()
    assert line.startswith("nimbus: error: replay cannot rebuild the views up to the log head")
    assert f"quotas cannot apply log position {bad_position}" in line
    assert "out of range" in line
    assert line.endswith("nothing was swapped")


def test_a_replay_after_the_cause_is_fixed_clears_the_stuck_view(
    database_url: str, commands: Commands,
) -> None:
    """An operator's constraint on the live view refuses an event; the operator
    drops it, the view stays stuck, and a replay (built from the migrations)
    brings it back to the log head."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE views.instances ADD CONSTRAINT short_names"
                     " CHECK (length(name) <= 8)")
        boot(commands, "a-long-name")
        project_all(conn)
        [(view, position, _, _, error)] = faults(conn)
        assert view == "instances" and "short_names" in error
        conn.execute("ALTER TABLE views.instances DROP CONSTRAINT short_names")
        boot(commands, "vm2")
        project_all(conn)
        assert names(conn) == set()  # stuck until a replay

        report = rebuild.replay(database_url)
        assert [(f.view, f.position) for f in report.cleared] == [("instances", position)]
        assert "instances" in [t.table for t in report.tables if not t.equal]
        assert faults(conn) == []
        assert names(conn) == {"a-long-name", "vm2"}
        boot(commands, "vm3")
        project_all(conn)
        assert names(conn) == {"a-long-name", "vm2", "vm3"}


async def test_readyz_names_the_stuck_view_while_healthz_and_the_other_views_answer(
    database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path,
) -> None:
    async with (
        stack_running(database_url, nats_url, subject_prefix, tmp_path,
                      parts=frozenset({"api", "projector"}), query_wait_seconds=600) as stack,
        httpx.AsyncClient(base_url=stack.settings.base_url, timeout=20) as anonymous,
    ):
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["stuck"] == []

        app = NimbusApplication(database_url)
        try:
            _, bad_position = instance_named(app, NUL_NAME)
        finally:
            app.close()

        async def reported() -> httpx.Response | None:
            # the stuck view is reported and the others have caught up with it
            ready = await anonymous.get("/readyz")
            return None if ready.status_code == 200 or ready.json()["lag"] != 0 else ready
        ready = await eventually(reported, timeout=30, what="the stuck view being reported")
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["stuck"] == [{
            "view": "instances", "position": bad_position,
            "event_type": "InstanceCreateRequested",
            "error": NUL_REFUSED,
            "since": body["stuck"][0]["since"]}]
        assert body["status"] == "not ready" and body["lag"] == 0
        [instances] = [p for p in body["parts"] if p["name"] == "instances"]
        assert instances["kind"] == "view" and instances["stuck"] is True
        assert instances["position"] == bad_position - 1 and instances["lag_events"] >= 1
        assert instances["why"].startswith(
            f"view instances cannot apply log position {bad_position}")
        assert not [p for p in body["parts"] if p["kind"] == "view" and p["name"] != "instances"
                    and p["lag_events"] != 0]  # the other views went on

        healthy = await anonymous.get("/healthz")
        assert healthy.status_code == 200 and healthy.json() == {"status": "ok"}
        # Read-your-writes still holds for the views that go on (a query that
        # waited for the stuck view would outlive the client's timeout)...
        http = stack.http
        created = await http.post("/compute/v2.1/flavors", json={"flavor": {
            "name": "later", "ram": 64, "vcpus": 1, "disk": 1, "id": "later"}})
        assert created.status_code == 200, created.text
        shown = await http.get("/compute/v2.1/flavors/later")
        assert shown.status_code == 200 and shown.json()["flavor"]["name"] == "later"
        # ... and the stuck view answers its rows as of the event it cannot apply.
        servers = await http.get("/compute/v2.1/servers")
        assert servers.status_code == 200 and servers.json()["servers"] == []
