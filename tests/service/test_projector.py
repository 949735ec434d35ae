"""The projector and replay on real PostgreSQL: exactly once, and rebuildable."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest

from commands.application import NimbusApplication
from commands.catalog import ensure_defaults
from commands.messages import BootInstance, Caller, DeleteInstance, PauseInstance
from commands.services import Commands
from domain import registry, volume
from messaging.wire import HostOutcome
from migrations.runner import create_views, upgrade
from projections import instances, projector
from projections.log import head, read_after
from projections.projector import catch_up
from projections.replay import checksum, replay
from tests.support.polling import eventually_sync

CALLER = Caller(user_id="u", project_id="p")


def history(database_url: str, servers: int) -> None:
    """Boot ``servers``, spawn them, pause the even ones, delete every third."""
    app = Commands.open(database_url, ["h1"])
    ensure_defaults(app.flavors, app.images)  # the flavors and image a boot names
    try:
        for n in range(servers):
            iid = app.instances.boot(BootInstance(request_id=f"b{n}", caller=CALLER, name=f"vm{n}",
                                        flavor_ref="2", image_ref="cirros-0.6.2-x86_64-disk")
                           ).instance_id
            app.instances.record_outcome(HostOutcome(instance_id=iid, request_id=f"b{n}", host="h1",
                                           ok=n != 1, at=datetime.now(UTC), reason="no room"))
            if n % 2 == 0:
                app.instances.act(PauseInstance(request_id=f"p{n}", caller=CALLER, instance_id=iid))
            if n % 3 == 0:
                app.instances.act(
                    DeleteInstance(request_id=f"d{n}", caller=CALLER, instance_id=iid))
                app.instances.record_outcome(HostOutcome(
                    instance_id=iid, request_id=f"d{n}", host="h1", ok=True,
                    at=datetime.now(UTC)))
    finally:
        app.close()


def view(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: conn.execute(f"SELECT * FROM views.{table} ORDER BY 1, 2").fetchall()
        for table in ("instances", "instance_actions", "tracking")
    }


def project_all(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    while catch_up(conn):
        pass


def test_the_views_follow_the_log(database_url: str) -> None:
    history(database_url, 7)
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        rows: dict[object, object] = dict(
            conn.execute("SELECT name, status FROM views.instances").fetchall())
        assert rows == {"vm0": "DELETED", "vm1": "ERROR", "vm2": "ACTIVE", "vm3": "DELETED",
                        "vm4": "ACTIVE", "vm5": "ACTIVE", "vm6": "DELETED"}
        (paused,) = conn.execute("SELECT task_state FROM views.instances WHERE name = 'vm2'"
                                 ).fetchone() or (None,)
        assert paused == "pausing"
        failed = conn.execute("SELECT result, message FROM views.instance_actions"
                              " WHERE request_id = 'b1'").fetchone()
        assert failed == ("Error", "no room")
        position = conn.execute("SELECT position FROM views.tracking").fetchone()
        assert position == (head(conn),)


def test_a_projector_killed_mid_batch_resumes_with_every_event_applied_once(
    database_url: str,
) -> None:
    history(database_url, 9)
    with psycopg.connect(database_url, autocommit=True) as reference:
        project_all(reference)
        expected = view(reference)
        reference.execute("UPDATE views.tracking SET position = 0")
        reference.execute("TRUNCATE views.instances, views.instance_actions")

    doomed = psycopg.connect(database_url)
    doomed.execute("SET search_path TO views")
    doomed.execute("SELECT position FROM tracking FOR UPDATE")
    projector.apply(doomed, read_after(doomed, 0, 10))  # half a batch, never committed
    with psycopg.connect(database_url, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (doomed.info.backend_pid,))
    with pytest.raises(psycopg.OperationalError):
        doomed.execute("SELECT 1")
    doomed.close()

    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        assert view(conn) == expected


def test_views_made_from_one_large_batch_equal_views_made_event_by_event(
        database_url: str) -> None:
    """Batches fold claims, releases and actions per key before writing them,
    and a rebuild's batches write them with COPY (pipeline off): each way must
    give the rows that applying each event alone gives."""
    history(database_url, 12)
    ways = {"one_by_one": (1, True), "all_at_once": (10_000, True),
            "copied_at_once": (10_000, False), "copied_in_sevens": (7, False)}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema, (batch, pipeline) in ways.items():
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            with conn.transaction():
                create_views(conn, schema)
            while catch_up(conn, schema, batch=batch, pipeline=pipeline):
                pass
        tables = [t for (t,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'one_by_one'"
            " ORDER BY 1").fetchall()]
        assert {"instances", "instance_actions", "quota_claims", "tracking"} <= set(tables)
        for table in tables:
            expected = checksum(conn, "one_by_one", table)
            for schema in ways:
                assert checksum(conn, schema, table) == expected, (schema, table)
        assert checksum(conn, "all_at_once", "quota_claims")[0] > 0
        assert checksum(conn, "all_at_once", "instance_actions")[0] > 12
        for schema in ways:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_an_upgrade_after_the_views_were_dropped_makes_them_again_and_they_catch_up(
        database_url: str) -> None:
    history(database_url, 6)
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        before = view(conn)
        conn.execute("DROP SCHEMA views CASCADE")  # the views are lost
    assert any(name.startswith("views/") for name in upgrade(database_url))
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        assert view(conn) == before
    assert upgrade(database_url) == []  # and a second upgrade has nothing to do


def test_replay_rebuilds_views_equal_to_the_live_ones(database_url: str) -> None:
    history(database_url, 6)
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        before = view(conn)
    report = replay(database_url)
    assert report.equal and report.position == before["tracking"][0][1]
    assert {"instances", "instance_actions"} <= {t.table for t in report.tables}
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert view(conn) == before


def test_replay_reports_and_repairs_a_view_that_drifted_from_the_log(database_url: str) -> None:
    history(database_url, 4)
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
        before = view(conn)
        conn.execute("UPDATE views.instances SET name = 'tampered' WHERE name = 'vm2'")
    report = replay(database_url)
    assert not report.equal
    assert [t.table for t in report.tables if not t.equal] == ["instances"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert view(conn) == before


def test_a_view_whose_fold_meets_an_event_it_does_not_know_stops_there_naming_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One behaviour for an unknown event: the fold raises, and the projector
    records the view stuck at that event, loudly, while the others go on."""
    app = NimbusApplication(database_url)
    volume_id = uuid4()
    made = app.load_or_new(volume_id, registry.VOLUME)
    made.record(volume.create(request_id="r-vol", project_id="p", user_id="u", name="data",
                              description="", size_gb=1, volume_type="__DEFAULT__",
                              host="storage1", at=datetime.now(UTC)))
    position = app.commit(made)
    confused = projector.Projection("instances", projector.reads(registry.VOLUME),
                                    instances.apply)  # the instances' fold, fed volumes
    monkeypatch.setattr(projector, "PROJECTIONS", (confused, *projector.PROJECTIONS[1:]))
    with psycopg.connect(database_url, autocommit=True) as conn:
        while catch_up(conn):
            pass
        faults = conn.execute("SELECT view, position, event_type, error FROM views.view_faults"
                              ).fetchall()
        assert faults == [("instances", position, "VolumeCreateRequested",
                           "UnknownEvent: VolumeCreateRequested is not an event a instance"
                           " handles")]
        assert conn.execute("SELECT status FROM views.volumes").fetchall() == [("creating",)]


def test_a_projector_whose_sessions_are_terminated_connects_again_and_goes_on(
        database_url: str) -> None:
    stop = threading.Event()
    follower = threading.Thread(target=projector.run, args=(database_url, stop))
    follower.start()
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            history(database_url, 1)
            eventually_sync(lambda: at_head(conn), what="the first boot projected")
            terminated = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()",
                (projector.APPLICATION_NAME,)).fetchone()
            assert terminated == (2,)
            before = head(conn)
            boot(database_url, "after-terminate")  # written while it has no session
            assert head(conn) > before
            eventually_sync(lambda: at_head(conn), what="the later boot projected")
    finally:
        stop.set()
        follower.join(30)
    assert not follower.is_alive()


def boot(database_url: str, request_id: str) -> None:
    app = Commands.open(database_url, ["h1"])
    try:
        app.instances.boot(BootInstance(request_id=request_id, caller=CALLER, name=request_id,
                                        flavor_ref="2", image_ref="cirros-0.6.2-x86_64-disk"))
    finally:
        app.close()


def at_head(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    position = conn.execute("SELECT position FROM views.tracking").fetchone()
    return position == (head(conn),) and head(conn) > 0
