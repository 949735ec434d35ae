"""``nimbus up`` when what it stands on fails: a writer stuck behind the event
log's lock does not keep SIGTERM from stopping it, and when its PostgreSQL
dies it stops promptly, says so in one line and exits non-zero.

It runs as the real command against the machine's NATS and either a fresh
database on the test server or a private PostgreSQL that the test starts
and kills itself (never the machine's servers)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from projections.log import EVENTS_TABLE
from runtime.embedded import EmbeddedPostgres
from tests.support.nimbus_process import NimbusUp
from tests.support.processes import descendants, state_folder, wait_until_gone
from tests.support.stack import auth_body, free_port

PASSWORD = "test-admin-password"
HANG_SECONDS = 60.0  # hang detectors, not timing assertions


@pytest.fixture
def state() -> Iterator[Path]:
    """A fresh folder under /tmp; nothing may be left running on it."""
    with state_folder("nimbus-faults-") as folder:
        yield folder


def nimbus_up(state: Path, database_url: str, nats_url: str, prefix: str) -> NimbusUp:
    return NimbusUp(state, free_port(), env={
        "NIMBUS_DATABASE_URL": database_url, "NIMBUS_NATS_URL": nats_url,
        "NIMBUS_SUBJECT_PREFIX": prefix, "NIMBUS_ADMIN_PASSWORD": PASSWORD})


def volumes_url(up: NimbusUp) -> tuple[str, dict[str, str]]:
    """The admin's volumes URL and token."""
    base = f"http://127.0.0.1:{up.port}"
    r = httpx.post(f"{base}/identity/v3/auth/tokens",
                   json=auth_body("admin", PASSWORD, "admin"), timeout=10)
    assert r.status_code == 201, r.text
    project = r.json()["token"]["project"]["id"]
    return f"{base}/volume/v3/{project}/volumes", {"X-Auth-Token": r.headers["X-Subject-Token"]}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def writers_waiting_for_the_log(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            f" AND relation = '{EVENTS_TABLE}'::regclass").fetchone()
    return int(row[0]) if row else 0


def test_sigterm_stops_nimbus_up_while_a_writer_waits_for_the_event_log(
        state: Path, database_url: str, nats_url: str, subject_prefix: str) -> None:
    up = nimbus_up(state, database_url, nats_url, subject_prefix)
    holder = psycopg.connect(database_url)  # say an operator's session; it holds until closed
    try:
        up.ready()
        url, token = volumes_url(up)
        holder.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
        answers: list[httpx.Response] = []
        writer = threading.Thread(daemon=True, target=lambda: answers.append(httpx.post(
            url, headers=token, json={"volume": {"size": 1}}, timeout=HANG_SECONDS)))
        writer.start()
        wait_until(lambda: writers_waiting_for_the_log(database_url) > 0,
                   "the command waits for the log's lock")

        assert up.interrupt(signal.SIGTERM) == 0
        writer.join(HANG_SECONDS)
        assert [r.status_code for r in answers] == [503]  # told to retry, not left hanging
        assert up.remaining_output()[-1] == "nimbus stopped."
    finally:
        holder.close()
        up.kill()


def test_nimbus_up_stops_saying_so_when_its_postgresql_dies(
        state: Path, nats_url: str, subject_prefix: str) -> None:
    postgres = EmbeddedPostgres(state / "private-postgres").start()
    up = nimbus_up(state / "nimbus", postgres.url, nats_url, subject_prefix)
    done = threading.Event()
    try:
        up.ready()
        url, token = volumes_url(up)

        def traffic() -> None:  # commands in flight while the database dies
            while not done.is_set():
                try:
                    httpx.post(url, headers=token, json={"volume": {"size": 1}}, timeout=5)
                except httpx.HTTPError:
                    time.sleep(0.05)

        workers = [threading.Thread(target=traffic, daemon=True) for _ in range(4)]
        for worker in workers:
            worker.start()
        started = descendants(up.process.pid)
        assert "tgtd" in started.values()
        assert postgres.pid is not None
        os.kill(postgres.pid, signal.SIGKILL)

        try:
            code = up.process.wait(HANG_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"nimbus up still runs {HANG_SECONDS:g} s after its "
                                 "PostgreSQL died") from None
        assert code != 0
        last = up.remaining_output()[-1]
        assert re.fullmatch(
            rf"nimbus: error: PostgreSQL at {re.escape(str(postgres.socket_dir))} "
            r"\(database nimbus\) stopped answering: .+; nimbus is stopping", last), last
        assert wait_until_gone(list(started)) == []  # its tgtd too
        assert not (state / "nimbus" / "tgtd" / "storage1.pid").exists()  # stopped, not killed
    finally:
        done.set()
        up.kill()
        postgres.stop()
