"""``nimbus up`` with nothing configured, through the real command: it starts
its own PostgreSQL and NATS under the state directory, serves a usable cloud,
stops every process it started on Ctrl-C, and keeps its data for next time."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from messaging import nats as bus
from messaging.subjects import Subjects
from messaging.wire import EventMessage
from tests.support.nimbus_process import NIMBUS, NimbusUp, nimbus_env
from tests.support.polling import eventually_sync
from tests.support.processes import (
    alive,
    command_name,
    descendants,
    identity,
    kill,
    processes_using,
    state_folder,
    wait_until_gone,
)
from tests.support.stack import auth_body, free_port

IMAGE = "cirros-0.6.2-x86_64-disk"


@pytest.fixture(scope="module")
def state_dir() -> Iterator[Path]:
    """One fresh state directory for the module; nothing may be left running on it."""
    with state_folder("nimbus-up-") as folder:
        yield folder


# -- the nimbus command ------------------------------------------------------


def nimbus(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A ``nimbus`` client command; it finds the credentials in the state dir."""
    return subprocess.run([NIMBUS, *args], env=nimbus_env(state), capture_output=True,
                          text=True, timeout=60)


def table_rows(output: str) -> list[dict[str, str]]:
    """The rows of a table the CLI printed, by header, cut at the rule's columns."""
    header, rule, *rows = output.splitlines()
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    names = [header[a:b].strip() for a, b in spans]
    return [{n: row[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)}
            for row in rows]


def stream_url(state: Path) -> str:
    return f"nats://127.0.0.1:{(state / 'nats' / 'port').read_text().strip()}"


def stored_events(state: Path) -> int:
    """How many events the running embedded NATS keeps in the events stream."""

    async def count() -> int:
        nc = await bus.connect(stream_url(state))
        try:
            info = await nc.jetstream().stream_info(Subjects().events_stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def stream_until(state: Path, event_type: str, seconds: float = 10.0) -> list[EventMessage]:
    """The events stream from its start up to the first ``event_type`` (the
    relay publishes a moment after the commit)."""

    async def read() -> list[EventMessage]:
        nc = await bus.connect(stream_url(state))
        sub = await nc.jetstream().subscribe(Subjects().all_events(), ordered_consumer=True)
        messages: list[EventMessage] = []
        try:
            while not messages or messages[-1].type != event_type:
                msg = await sub.next_msg(timeout=seconds)
                messages.append(msgspec.json.decode(msg.data, type=EventMessage))
        finally:
            await nc.close()
        return messages

    return asyncio.run(read())


# -- the tests ---------------------------------------------------------------


def test_nimbus_up_with_nothing_configured_boots_a_server_stops_on_ctrl_c_and_keeps_it(
    state_dir: Path,
) -> None:
    port = free_port()
    up = NimbusUp(state_dir, port)
    try:
        banner = up.ready()
        password = (state_dir / "admin-password").read_text().strip()
        assert banner[0] == f"nimbus is up: API at http://127.0.0.1:{port}"
        assert banner[1].split() == ["admin", "user:", "admin", "project:", "admin",
                                     "password:", password]
        rc, clouds = state_dir / "nimbus-rc", state_dir / "clouds.yaml"
        assert f"source {rc}" in banner[2] and f"OS_CLIENT_CONFIG_FILE={clouds}" in banner[2]
        assert f"export OS_AUTH_URL=http://127.0.0.1:{port}/identity/v3\n" in rc.read_text()
        assert f"export OS_PASSWORD={password}\n" in rc.read_text()
        assert f"password: {password}\n" in clouds.read_text()
        assert (rc.stat().st_mode & 0o777, clouds.stat().st_mode & 0o777) == (0o600, 0o600)

        started = descendants(up.process.pid)
        assert "postgres" in started.values() and "nats-server" in started.values(), started

        booted = nimbus(state_dir, "server", "boot", "vm1", "--flavor", "m1.tiny",
                        "--image", IMAGE, "--wait")
        assert booted.returncode == 0, booted.stderr
        fields = {r["Field"]: r["Value"] for r in table_rows(booted.stdout)}
        assert fields["name"] == "vm1" and fields["status"] == "ACTIVE"
        server_id = fields["id"]

        listed = nimbus(state_dir, "server", "list")
        assert listed.returncode == 0, listed.stderr
        assert [(r["ID"], r["Name"], r["Status"]) for r in table_rows(listed.stdout)] == [
            (server_id, "vm1", "ACTIVE")]
        published = stream_until(state_dir, "InstanceSpawned")
        assert [(m.type, m.aggregate_id) for m in published
                if m.type.startswith("Instance")] == [
            ("InstanceCreateRequested", server_id), ("InstanceSpawned", server_id)]
        assert [m.position for m in published] == sorted({m.position for m in published})
        events = stored_events(state_dir)

        started = descendants(up.process.pid)  # with the backends the boot opened
        assert up.interrupt() == 0
        assert up.remaining_output()[-1] == "nimbus stopped."
        assert wait_until_gone(list(started)) == []
        assert processes_using(state_dir) == []
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/")
    finally:
        up.kill()

    second_port = free_port()
    again = NimbusUp(state_dir, second_port)
    try:
        banner = again.ready()
        assert banner[0] == f"nimbus is up: API at http://127.0.0.1:{second_port}"
        assert banner[1].endswith(f"password: {password}")  # the credentials were kept
        assert stored_events(state_dir) == events  # the JetStream store was reused

        listed = nimbus(state_dir, "server", "list")  # through the rewritten rc file
        assert listed.returncode == 0, listed.stderr
        assert [(r["ID"], r["Name"], r["Status"]) for r in table_rows(listed.stdout)] == [
            (server_id, "vm1", "ACTIVE")]

        started = descendants(again.process.pid)
        assert again.interrupt() == 0
        assert wait_until_gone(list(started)) == []
        assert processes_using(state_dir) == []
    finally:
        again.kill()


def test_nimbus_up_with_a_port_serves_the_api_on_that_port(state_dir: Path) -> None:
    port = free_port()
    up = NimbusUp(state_dir, port)
    try:
        assert up.ready()[0] == f"nimbus is up: API at http://127.0.0.1:{port}"
        password = (state_dir / "admin-password").read_text().strip()
        r = httpx.post(f"http://127.0.0.1:{port}/identity/v3/auth/tokens",
                       json=auth_body("admin", password, "admin"), timeout=10)
        assert r.status_code == 201, r.text
        r = httpx.get(f"http://127.0.0.1:{port}/compute/v2.1/flavors",
                      headers={"X-Auth-Token": r.headers["X-Subject-Token"]}, timeout=10)
        assert r.status_code == 200 and "m1.tiny" in {f["name"] for f in r.json()["flavors"]}

        started = descendants(up.process.pid)
        assert up.interrupt() == 0
        assert wait_until_gone(list(started)) == []
    finally:
        up.kill()


def api_listeners(port: int) -> set[int]:
    """The processes listening on ``port`` (from ``ss``)."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", out)}


def test_nimbus_up_with_api_processes_serves_the_port_from_each_and_fails_when_one_dies(
        state_dir: Path) -> None:
    port = free_port()
    up = NimbusUp(state_dir, port, {"NIMBUS_API_PROCESSES": "3"})
    try:
        up.ready()
        started = descendants(up.process.pid)
        children = {pid for pid, _ in started
                    if b"--reuse-port" in Path(f"/proc/{pid}/cmdline").read_bytes()}
        assert len(children) == 2
        eventually_sync(lambda: api_listeners(port) == {up.process.pid, *children})
        password = (state_dir / "admin-password").read_text().strip()
        for _ in range(12):  # new connections, spread over the three by the kernel
            r = httpx.post(f"http://127.0.0.1:{port}/identity/v3/auth/tokens",
                           json=auth_body("admin", password, "admin"), timeout=10)
            assert r.status_code == 201, r.text
        kill(min(children))
        assert up.process.wait(30) == 1
        assert any("an API process exited" in line for line in up.remaining_output())
        assert wait_until_gone(list(started)) == []
    finally:
        up.kill()


def tgtd_named_by_pid_file(state: Path) -> int | None:
    """The tgtd that nimbus recorded for storage1, if it still runs."""
    pid_file = state / "tgtd" / "storage1.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    known = identity(pid)
    return pid if known is not None and alive(known) and command_name(pid) == "tgtd" else None


def test_nimbus_up_killed_leaves_no_process_and_the_next_start_runs_one_tgtd(
    state_dir: Path,
) -> None:
    up = NimbusUp(state_dir, free_port())
    try:
        up.ready()
        started = descendants(up.process.pid)
        assert {"tgtd", "postgres", "nats-server"} <= set(started.values()), started
    finally:
        up.kill()  # SIGKILL: nimbus cleans nothing up itself
    assert wait_until_gone(list(started)) == []  # tgtd, postgres, nats-server

    again = NimbusUp(state_dir, free_port())
    try:
        again.ready()
        running = descendants(again.process.pid)
        assert list(running.values()).count("tgtd") == 1, running
        assert tgtd_named_by_pid_file(state_dir) in {pid for pid, _ in running}
        assert again.interrupt() == 0
        assert wait_until_gone(list(running)) == []
        assert tgtd_named_by_pid_file(state_dir) is None
    finally:
        again.kill()
