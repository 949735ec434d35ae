"""No writer holds the event log hostage: the store appends many megabytes as
it appends a few bytes (not stalled mid-message, holding the log's lock); an
event larger than the event stream carries is refused before it is stored; a
command that cannot get the log's lock in time is told to retry (503) and
writes nothing; a session that takes the lock and goes idle is cut off, after
which commands succeed again."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg.rows import tuple_row

from commands.application import Aggregate, NimbusApplication, now
from commands.event_store import Recorder, SessionBounds
from commands.mapper import MAX_EVENT_BYTES
from domain import codec, volume
from domain.errors import TooLarge
from projections.log import EVENTS_TABLE
from runtime import stack
from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import log_head, volumes_of
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running

HANG_SECONDS = 60.0  # a hang detector, not a timing assertion
LARGE = 32 * 1024 * 1024  # bytes: far more than a socket takes at once


def volume_named(name: str) -> Aggregate:
    made = Aggregate(uuid.uuid4(), volume.VolumeEvent.aggregate)
    made.record(volume.VolumeCreateRequested(
        request_id=f"r-{uuid.uuid4()}", at=now(), host="storage1", project_id="p",
        user_id="u", name=name, description="", size_gb=1, volume_type="__DEFAULT__"))
    return made


def finishes(work: Callable[[], object]) -> object:
    """What ``work`` returns, run in a thread; fails if it never returns."""
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(work()), daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), f"still waiting after {HANG_SECONDS:g} s"
    assert results, "it raised (see the thread's traceback)"
    return results[0]


def stored(state: bytes) -> StoredEvent:
    return StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                       topic=codec.topic_of(volume.VolumeCreateRequested), state=state)


def test_the_store_appends_many_megabytes_and_the_log_goes_on(database_url: str) -> None:
    app = NimbusApplication(database_url)
    try:
        big = finishes(lambda: app.recorder.insert_events([stored(b"x" * LARGE)]))
        small = finishes(lambda: app.commit(volume_named("small")))
        assert isinstance(big, list) and small == big[0] + 1
    finally:
        app.close()


def test_an_event_larger_than_the_stream_carries_is_refused_and_nothing_is_stored(
        database_url: str) -> None:
    app = NimbusApplication(database_url)
    try:
        first = app.commit(volume_named("first"))
        with pytest.raises(TooLarge, match="too large"):
            app.commit(volume_named("x" * (MAX_EVENT_BYTES + 1)))
        assert app.commit(volume_named("next")) == (first or 0) + 1
    finally:
        app.close()


def shown(conn: psycopg.Connection[Any]) -> dict[str, str]:
    names = ["lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"]
    found = {}
    with conn.cursor(row_factory=tuple_row) as cur:
        for name in names:
            row = cur.execute("SELECT current_setting(%s)", (name,)).fetchone()
            assert row is not None
            found[name] = str(row[0])
    return found


def test_every_session_nimbus_opens_carries_its_bounds(database_url: str) -> None:
    bounds = SessionBounds(lock_timeout=2, statement_timeout=7, idle_in_transaction_timeout=9)
    wanted = {"lock_timeout": "2s", "statement_timeout": "7s",
              "idle_in_transaction_session_timeout": "9s"}
    app = NimbusApplication(database_url, bounds=bounds)
    try:
        assert isinstance(app.recorder, Recorder)
        with app.recorder.datastore.get_connection() as conn:  # the write side's pool
            assert shown(conn) == wanted
    finally:
        app.close()
    with psycopg.connect(bounds.conninfo(database_url)) as conn:  # views, relay, queries
        assert shown(conn) == wanted


@pytest.fixture
async def quick_bounds(database_url: str, nats_url: str, subject_prefix: str,
                       tmp_path: Path) -> AsyncIterator[RunningStack]:
    """The stack, whose sessions wait 1 s for a lock and are cut off after 3 s idle
    in a transaction."""
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             database_lock_timeout=1,
                             database_idle_in_transaction_timeout=3) as running:
        yield running


def session_alive(database_url: str, pid: int) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return found is not None


async def test_a_command_behind_an_idle_lock_holder_is_told_to_retry_until_the_holder_is_cut_off(
        quick_bounds: RunningStack) -> None:
    http, url = quick_bounds.http, quick_bounds.database_url
    alice, base = member(quick_bounds, "p-alice"), volumes_of("p-alice")
    bounds = stack.session_bounds(quick_bounds.settings)
    # a session with nimbus's own bounds takes the log's lock, then goes idle
    holder = psycopg.connect(bounds.conninfo(url))
    try:
        holder.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
        before = log_head(quick_bounds)

        r = await http.post(base, headers=alice, json={"volume": {"size": 1, "name": "v1"}})
        assert r.status_code == 503, r.text
        message = r.json()["serviceUnavailable"]["message"]
        assert r.json()["serviceUnavailable"]["code"] == 503
        assert "busy" in message and "retry" in message
        assert log_head(quick_bounds) == before

        await eventually(
            lambda: asyncio.to_thread(lambda: not session_alive(url, holder.info.backend_pid)),
            timeout=HANG_SECONDS, what="the idle holder being cut off")
    finally:
        holder.close()

    r = await http.post(base, headers=alice, json={"volume": {"size": 1, "name": "v2"}})
    assert r.status_code == 202, r.text
    assert log_head(quick_bounds) > before
