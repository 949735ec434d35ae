"""The embedded PostgreSQL and NATS: they answer, keep their data, and leave
no process behind however nimbus stops."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import LiteralString

import nats
import psycopg
import pytest

from runtime.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedServerError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A fresh state dir under /tmp that the postgres user can reach under root
    (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="nimbus-embedded-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has exited


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_until_gone(pids: list[int], seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if running(pid)]


def query(url: str, sql: LiteralString) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return None if row is None else row[0]


def execute(url: str, sql: LiteralString) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_embedded_postgres_answers_and_leaves_no_process_when_stopped(state_dir: Path) -> None:
    server = EmbeddedPostgres(state_dir).start()
    assert server.pid is not None
    processes = [server.pid, *children_of(server.pid)]

    assert query(server.url, "SELECT 1") == 1
    assert query(server.url, "SELECT current_database()") == "nimbus"

    server.stop()
    assert server.pid is None
    assert wait_until_gone(processes) == []


def test_embedded_postgres_keeps_its_data_across_a_restart(state_dir: Path) -> None:
    with EmbeddedPostgres(state_dir) as server:
        execute(server.url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")

    with EmbeddedPostgres(state_dir) as server:
        assert query(server.url, "SELECT n FROM kept") == 42


def test_embedded_postgres_stops_when_the_code_using_it_raises(state_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), EmbeddedPostgres(state_dir) as server:
        pid = server.pid
        raise RuntimeError("boom")

    assert pid is not None
    assert not running(pid)


def test_embedded_postgres_starts_after_a_crash_whose_pid_was_reused(state_dir: Path) -> None:
    server = EmbeddedPostgres(state_dir).start()
    assert server.pid is not None
    crashed = [server.pid, *children_of(server.pid)]
    execute(server.url, "CREATE TABLE survived (n int); INSERT INTO survived VALUES (7)")
    os.kill(server.pid, signal.SIGKILL)
    server.stop()  # reaps the killed process
    assert wait_until_gone(crashed) == []

    lock = server.data_dir / "postmaster.pid"
    # as the server's own user: PostgreSQL itself ignores pids of other users
    unrelated = subprocess.Popen(["sleep", "60"], user="postgres" if os.geteuid() == 0 else None)
    try:
        lines = lock.read_text().split("\n")
        lock.write_text("\n".join([str(unrelated.pid), *lines[1:]]))
        with EmbeddedPostgres(state_dir) as restarted:
            assert query(restarted.url, "SELECT n FROM survived") == 7
    finally:
        unrelated.kill()
        unrelated.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs postgres as another user")
def test_embedded_postgres_under_root_refuses_a_state_dir_the_postgres_user_cannot_reach(
    state_dir: Path,
) -> None:
    private = state_dir / "private"
    private.mkdir(mode=0o700)

    with pytest.raises(EmbeddedServerError, match="NIMBUS_STATE_DIR"):
        EmbeddedPostgres(private / "state").start()

    assert private.stat().st_mode & 0o777 == 0o700
    assert private.stat().st_uid == 0


async def test_embedded_nats_answers_with_jetstream_and_leaves_no_process_when_stopped(
    state_dir: Path,
) -> None:
    server = EmbeddedNats(state_dir).start()
    assert server.pid is not None
    pid = server.pid

    client = await nats.connect(server.url)
    try:
        account = await client.jetstream().account_info()
    finally:
        await client.close()
    assert account.limits is not None

    server.stop()
    assert wait_until_gone([pid]) == []


async def test_embedded_nats_keeps_its_port_and_streams_across_a_restart(state_dir: Path) -> None:
    with EmbeddedNats(state_dir) as server:
        first_url = server.url
        client = await nats.connect(server.url)
        stream = client.jetstream()
        await stream.add_stream(name="KEPT", subjects=["kept.>"])
        await stream.publish("kept.one", b"hello")
        await client.close()

    with EmbeddedNats(state_dir) as server:
        assert server.url == first_url
        client = await nats.connect(server.url)
        info = await client.jetstream().stream_info("KEPT")
        await client.close()
    assert info.state.messages == 1


PARENT = """
import sys, time
from pathlib import Path
from typing import LiteralString
from runtime.embedded import EmbeddedNats, EmbeddedPostgres
postgres = EmbeddedPostgres(Path(sys.argv[1])).start()
nats = EmbeddedNats(Path(sys.argv[1])).start()
print(postgres.pid, nats.pid, flush=True)
time.sleep(120)
"""


def test_servers_stop_when_nimbus_is_killed_without_cleaning_up(state_dir: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", PARENT, str(state_dir)], cwd=REPO,
                          stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            postgres_pid, nats_pid = map(int, parent.stdout.readline().split())
            servers = [postgres_pid, *children_of(postgres_pid), nats_pid]
        finally:
            parent.kill()

    assert wait_until_gone(servers) == []
