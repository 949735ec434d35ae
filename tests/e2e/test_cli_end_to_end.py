"""The ``nimbus`` command against a running stack, as a user types it: server
commands, the one-line errors a user meets, ``replay`` and ``events tail``.

Each command runs as a real subprocess, started with asyncio so that the
stack, which runs on this test's event loop, keeps serving while it waits.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from messaging.wire import EventMessage
from projections.shown import HIDDEN
from tests.support.stack import ADMIN_PASSWORD, RunningStack, free_port

REPO = Path(__file__).resolve().parents[2]
NIMBUS = str(REPO / ".venv" / "bin" / "nimbus")
IMAGE = "cirros-0.6.2-x86_64-disk"
BOOT = {"server": {"name": "vm1", "imageRef": IMAGE, "flavorRef": "1"}}
COMMAND_SECONDS = 60.0


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli_home(tmp_path: Path) -> Iterator[Path]:
    """An empty state dir for the CLI, so no rc file of a real cloud is read."""
    folder = tmp_path / "cli"
    folder.mkdir()
    yield folder


def bare_env(cli_home: Path, **variables: str) -> dict[str, str]:
    """This environment without nimbus or OpenStack settings, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env["NIMBUS_STATE_DIR"] = str(cli_home)
    env.update(variables)
    return env


def user_env(stack: RunningStack, cli_home: Path, password: str = ADMIN_PASSWORD) -> dict[
        str, str]:
    return bare_env(
        cli_home, OS_AUTH_URL=f"{stack.settings.base_url}/identity/v3", OS_USERNAME="admin",
        OS_PASSWORD=password, OS_PROJECT_NAME="admin",
    )


async def nimbus(env: dict[str, str], *args: str) -> Ran:
    """Run ``nimbus ARGS`` to its end (killed if it outlives COMMAND_SECONDS)."""
    process = await asyncio.create_subprocess_exec(
        NIMBUS, *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), COMMAND_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def table_rows(output: str) -> list[dict[str, str]]:
    """The rows of a table the CLI printed, by header, cut at the rule's columns."""
    header, rule, *rows = output.splitlines()
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    names = [header[a:b].strip() for a, b in spans]
    return [{n: row[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)}
            for row in rows]


def fields(output: str) -> dict[str, str]:
    """The ``Field  Value`` table of ``server show`` (and of a finished ``--wait``)."""
    return {row["Field"]: row["Value"] for row in table_rows(output)}


def one_error_line(ran: Ran) -> str:
    """The failed command's single stderr line, checked to be a clean error."""
    assert ran.code == 1, ran
    assert ran.stdout == "" and "Traceback" not in ran.stderr, ran
    lines = ran.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nimbus: error: "), ran
    return lines[0].removeprefix("nimbus: error: ")


async def api_status(stack: RunningStack, server_id: str) -> str:
    r = await stack.http.get(f"/compute/v2.1/servers/{server_id}")
    assert r.status_code == 200, r.text
    status: str = r.json()["server"]["status"]
    return status


async def test_the_cli_boots_lists_shows_pauses_unpauses_and_deletes_a_server(
    running_stack: RunningStack, cli_home: Path,
) -> None:
    env = user_env(running_stack, cli_home)

    booted = await nimbus(env, "server", "boot", "vm1", "--flavor", "m1.tiny",
                          "--image", IMAGE, "--wait")
    assert booted.code == 0, booted
    shown = fields(booted.stdout)
    assert (shown["name"], shown["status"], shown["flavor"]) == ("vm1", "ACTIVE", "m1.tiny")
    server_id = shown["id"]
    assert await api_status(running_stack, server_id) == "ACTIVE"

    listed = await nimbus(env, "server", "list")
    assert listed.code == 0, listed
    (row,) = table_rows(listed.stdout)
    assert (row["ID"], row["Name"], row["Status"], row["Power State"], row["Flavor"]) == (
        server_id, "vm1", "ACTIVE", "Running", "m1.tiny")
    assert row["Host"] in ("compute1", "compute2")

    shown = fields((await nimbus(env, "server", "show", "vm1")).stdout)  # by name
    assert (shown["id"], shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == (
        server_id, "ACTIVE", row["Host"])
    as_json = await nimbus(env, "server", "show", server_id, "--json")  # by id
    assert as_json.code == 0 and json.loads(as_json.stdout)["id"] == server_id

    paused = await nimbus(env, "server", "pause", "vm1", "--wait")
    assert paused.code == 0, paused
    shown = fields(paused.stdout)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("PAUSED", "Paused")
    assert await api_status(running_stack, server_id) == "PAUSED"

    unpaused = await nimbus(env, "server", "unpause", "vm1", "--wait")
    assert unpaused.code == 0, unpaused
    assert fields(unpaused.stdout)["status"] == "ACTIVE"
    assert await api_status(running_stack, server_id) == "ACTIVE"

    deleted = await nimbus(env, "server", "delete", "vm1", "--wait")
    assert deleted.code == 0, deleted
    assert deleted.stdout == f"Server {server_id} has been deleted.\n"
    r = await running_stack.http.get(f"/compute/v2.1/servers/{server_id}")
    assert r.status_code == 404
    listed = await nimbus(env, "server", "list")
    assert listed.code == 0 and table_rows(listed.stdout) == []


async def test_showing_an_unknown_server_prints_one_error_line_and_exits_1(
    running_stack: RunningStack, cli_home: Path,
) -> None:
    env = user_env(running_stack, cli_home)
    by_name = await nimbus(env, "server", "show", "no-such-server")
    assert one_error_line(by_name) == "404 No server with a name or ID of 'no-such-server' exists."
    missing = "00000000-0000-0000-0000-000000000001"
    by_id = await nimbus(env, "server", "show", missing)
    message = one_error_line(by_id)
    assert message.startswith("404 ") and missing in message


async def test_pausing_a_paused_server_prints_the_409_message(
    running_stack: RunningStack, cli_home: Path,
) -> None:
    http = running_stack.http
    server_id = (await http.post("/compute/v2.1/servers", json=BOOT)).json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"pause": None})
    await running_stack.wait_for_status(server_id, "PAUSED")

    again = await nimbus(user_env(running_stack, cli_home), "server", "pause", "vm1")
    assert one_error_line(again) == (
        f"409 Cannot 'pause' instance {server_id} while it is in vm_state paused")
    assert await api_status(running_stack, server_id) == "PAUSED"


async def test_a_wrong_password_prints_a_clear_error(
    running_stack: RunningStack, cli_home: Path,
) -> None:
    ran = await nimbus(user_env(running_stack, cli_home, password="wrong"), "server", "list")
    assert one_error_line(ran) == (  # Keystone's words
        "401 The request you have made requires authentication.")


async def test_a_cloud_that_is_not_running_is_named_in_one_error_line(cli_home: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = bare_env(cli_home, OS_AUTH_URL=f"{nowhere}/identity/v3", OS_USERNAME="admin",
                   OS_PASSWORD="x", OS_PROJECT_NAME="admin")
    assert one_error_line(await nimbus(env, "server", "list")) == (
        f"nimbus is not answering at {nowhere}")


async def test_replay_rebuilds_views_equal_to_the_old_ones_and_the_api_answers_the_same(
    running_stack: RunningStack, cli_home: Path,
) -> None:
    http = running_stack.http
    server_id = (await http.post("/compute/v2.1/servers", json=BOOT)).json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"pause": None})
    await running_stack.wait_for_status(server_id, "PAUSED")
    before = (await http.get("/compute/v2.1/servers/detail")).json()["servers"]

    ran = await nimbus(bare_env(cli_home, NIMBUS_DATABASE_URL=running_stack.database_url),
                       "replay")
    assert ran.code == 0, ran
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("rebuilt every view from the log up to position ")
    assert int(lines[0].rsplit(" ", 1)[1]) >= 3
    assert lines[1:-1] and all(line.endswith("  equal") for line in lines[1:-1]), ran.stdout
    assert lines[-1] == "the rebuilt views equal the old ones"

    after = (await http.get("/compute/v2.1/servers/detail")).json()["servers"]
    assert after == before
    assert [s["status"] for s in after] == ["PAUSED"]


async def test_events_tail_prints_the_event_messages_of_a_booted_server(
    running_stack: RunningStack, cli_home: Path,
) -> None:
    http = running_stack.http
    server_id = (await http.post("/compute/v2.1/servers", json=BOOT)).json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    env = bare_env(cli_home, NIMBUS_NATS_URL=running_stack.nats_url,
                   NIMBUS_SUBJECT_PREFIX=running_stack.settings.subject_prefix)

    tail = await asyncio.create_subprocess_exec(
        NIMBUS, "events", "tail", "--from-start", "--json", env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    decoder = msgspec.json.Decoder(EventMessage)
    seen: list[EventMessage] = []
    try:
        assert tail.stdout is not None and tail.stderr is not None
        async with asyncio.timeout(30):
            while not any(m.type == "InstanceSpawned" for m in seen):
                line = await tail.stdout.readline()
                assert line, f"events tail ended early: {(await tail.stderr.read())!r}"
                seen.append(decoder.decode(line))
        tail.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            code = await tail.wait()
        assert code == 0, await tail.stderr.read()
    finally:
        if tail.returncode is None:
            tail.kill()
            await tail.wait()

    positions = [m.position for m in seen]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    server_events = [(m.type, m.version) for m in seen if m.aggregate_id == server_id]
    assert server_events == [("InstanceCreateRequested", 1), ("InstanceSpawned", 2)]
    hashes = {msgspec.structs.asdict(m.event)["password_hash"] for m in seen
              if "password_hash" in m.event.__struct_fields__}
    assert hashes == {HIDDEN}  # the admin's, made at start: never printed
